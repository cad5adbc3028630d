"""Prometheus metrics of a stream worker, served on ``/metrics``.

Each app gets its own registry (no global state), so several apps in one
test process do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LagReader = Callable[[], Mapping[tuple[str, int], int]]


class _LagCollector(Collector):
    """Reads per-partition consumer lag at scrape time."""

    def __init__(self, read: LagReader) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "wirewatch_consumer_lag",
            "Records not yet consumed, per assigned topic partition.",
            labels=["topic", "partition"],
        )
        for (topic, partition), lag in sorted(self._read().items()):
            family.add_metric([topic, str(partition)], lag)
        yield family


class PipelineMetrics:
    """The worker's counters, histogram and gauges, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.articles = Counter(
            "wirewatch_articles_consumed", "Articles records consumed.", registry=r
        )
        self.repeats = Counter(
            "wirewatch_articles_repeated", "Articles dropped as exact repeats.", registry=r
        )
        self.detections = Counter(
            "wirewatch_detections", "Detections emitted.", ["category"], registry=r
        )
        self.alerts = Counter(
            "wirewatch_alerts", "Alerts emitted.", ["policy", "update"], registry=r
        )
        self.dead_letters = Counter(
            "wirewatch_dead_letters", "Records dead-lettered.", ["stage", "reason"], registry=r
        )
        self.processing = Histogram(
            "wirewatch_processing_seconds",
            "Time to process one record, per stage.",
            ["stage"],
            buckets=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
            registry=r,
        )
        self.story_decisions = Counter(
            "wirewatch_story_decisions",
            "Articles clustered, by decision (opened, joined, copy).",
            ["kind"],
            registry=r,
        )
        self.story_merges = Counter(
            "wirewatch_story_merges", "Stories absorbed by another story.", registry=r
        )
        self.stories_full = Counter(
            "wirewatch_stories_full",
            "Stories that reached the size bound and stopped absorbing.",
            registry=r,
        )
        self.stories_open = Gauge(
            "wirewatch_stories_open", "Open stories in the cluster agent's state.", registry=r
        )
        self.ruleset = Gauge(
            "wirewatch_ruleset_info", "The rule set in use (value 1).", ["version"], registry=r
        )
        self.rules = Gauge("wirewatch_rules", "Rules in the rule set in use.", registry=r)
        self.rule_packs = Gauge(
            "wirewatch_rule_packs", "Packs of the rules topic in the rule set in use.", registry=r
        )
        self.rule_packs_failing = Gauge(
            "wirewatch_rule_packs_failing",
            "Packs whose latest version is not in force (it did not compile or clashes), per pack.",
            ["pack"],
            registry=r,
        )

    def watch_lag(self, read: LagReader) -> None:
        """Report ``read()`` (``{(topic, partition): lag}``) as the lag gauge at each scrape."""
        self.registry.register(_LagCollector(read))

    def set_ruleset(self, version: str, rules: int) -> None:
        """Record the rule set now in use."""
        self.ruleset.clear()
        self.ruleset.labels(version=version).set(1)
        self.rules.set(rules)

    def set_rule_packs(self, in_force: int, failing: list[str]) -> None:
        """Record how many packs are in force and which ones fail."""
        self.rule_packs.set(in_force)
        self.rule_packs_failing.clear()
        for pack in failing:
            self.rule_packs_failing.labels(pack=pack).set(1)

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        return generate_latest(self.registry)
