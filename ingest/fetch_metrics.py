"""Prometheus metrics of a fetcher, in a registry of its own, served on ``/metrics``.

Labels are statuses and kinds, never source ids or URLs (a fetcher may hold
tens of thousands of sources).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class FetcherMetrics:
    """Polls by outcome, articles, dead letters, WebSub events, health alerts; sources owned."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "wirewatch_fetch_polls", "Polls of sources, by outcome.", ["status"], registry=r
        )
        self.articles = Counter(
            "wirewatch_fetch_articles",
            "Articles produced: new, or updated (an edited item, same id).",
            ["kind"],
            registry=r,
        )
        self.dead_letters = Counter(
            "wirewatch_fetch_dead_letters", "Records written to articles.dlq.", registry=r
        )
        self.skipped = Counter(
            "wirewatch_fetch_pages_skipped",
            "Linked pages that were not articles (listings, consent walls).",
            registry=r,
        )
        self.websub = Counter(
            "wirewatch_fetch_websub_events",
            "WebSub events handled, by kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.health_alerts = Counter(
            "wirewatch_fetch_health_alerts", "source_health alerts raised or cleared.", registry=r
        )
        self.delivery_errors = Counter(
            "wirewatch_fetch_delivery_errors", "Polls whose output Kafka did not take.", registry=r
        )
        self.sources = Gauge(
            "wirewatch_fetch_sources_owned", "Sources this fetcher polls now.", registry=r
        )
        self.in_flight = Gauge("wirewatch_fetch_polls_in_flight", "Polls running now.", registry=r)
        self.poll_seconds = Histogram(
            "wirewatch_fetch_poll_seconds",
            "Time of one poll, produce included.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.push_latency = Histogram(
            "wirewatch_fetch_push_seconds",
            "Time from a WebSub push received to its articles acknowledged by Kafka.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
