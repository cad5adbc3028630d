"""The chaos corpus: generated articles, the rules they meet, and the oracle.

The oracle runs the pipeline's own pure logic offline, in one process: the
worker's :class:`~streams.detect.Detector` and the aggregate agent's
:func:`~streams.aggregate.decide`, over the rule pack the workers load. What it
returns is the set of alert keys the pipeline must deliver, whatever the
partitioning, the number of workers or the faults.

That holds because the corpus is built so nothing in the expectation depends
on timing, and the oracle checks it rather than trusting it:

- every article is a story of its own (random words, no near-duplicates, no
  entities, no numbers in common), so clustering cannot group them
  differently whatever the order the cluster agent sees them in;
- every alerting rule has the immediate policy and an article meets at most
  one of them, so each alert is one (rule, article) pair, its window starts
  at the article's record timestamp (set by the producer, so a replay after
  a crash yields the same key), and the notifier's repeat guard never applies;
- every valid article meets a probe rule whose threshold can never be
  reached: its detection is the trace that the article went through
  detection, even when no alert is due.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas import InvalidRecordError, Settings
from streams.offline import Aggregation, Offline
from streams.rulebook import compile_packs
from streams.rules import load_gazetteer, load_packs

ALERT_RULES = 8
"""Alerting rules ``chaos-w0`` ... ``chaos-w7``; an article meets at most one."""
ALERTING_SHARE = 0.2
"""Share of the valid articles that meet an alerting rule."""
PROBE_RULE = "chaos-probe"
PROBE_TOKEN = "chaosprobe"
NEVER = 1_000_000_000
"""The probe rule's threshold: no story ever gets this many articles."""
POISON_KINDS = ("invalid_json", "invalid_utf8", "wrong_schema", "empty")
RULE_TITLE = "Chaos watch {rule_id}"
ARTICLE_ID = "ca-{n:06d}"


class CorpusError(Exception):
    """The generated corpus breaks an assumption the oracle relies on (a harness bug)."""


def alert_rule_id(n: int) -> str:
    """The id of the ``n``-th alerting rule."""
    return f"chaos-w{n}"


def marker(rule_id: str) -> str:
    """The word that makes an article meet alerting rule ``rule_id``."""
    return f"chaosmark{rule_id.rsplit('w', 1)[1]}"


def rule_pack() -> dict[str, Any]:
    """The harness's rule pack: the probe rule and the alerting rules."""
    rules: list[dict[str, Any]] = [
        {
            "id": PROBE_RULE,
            "title": "Chaos probe: every article of the corpus",
            "category": "chaosprobe",
            "severity": "info",
            "query": PROBE_TOKEN,
            "min_score": 0,  # a marker anywhere in the body: no aboutness to judge
            "alert": {"policy": "threshold", "count": NEVER, "within": "1h"},
        }
    ]
    for n in range(ALERT_RULES):
        rule_id = alert_rule_id(n)
        rules.append(
            {
                "id": rule_id,
                "title": RULE_TITLE.format(rule_id=rule_id),
                "category": "chaos",
                "severity": "high",
                "query": marker(rule_id),
                "min_score": 0,
                "alert": {"policy": "immediate"},
            }
        )
    return {"name": "chaos", "rules": rules}


def write_rules(directory: Path) -> Path:
    """Write the rule pack into ``directory`` (created) and return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chaos.yaml").write_text(json.dumps(rule_pack(), indent=1))
    return directory


@dataclass(frozen=True)
class Record:
    """One record of the corpus, as the harness produces it.

    Attributes:
        timestamp_ms: the record's Kafka timestamp, set by the producer: the
            detections' time, hence the alert windows and keys.
        article_id: the article's id; None for a poison record.
        poison: the kind of poison (one of :data:`POISON_KINDS`), or None.
    """

    key: bytes
    value: bytes
    timestamp_ms: int
    article_id: str | None
    poison: str | None = None


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def _poison(kind: str, n: int) -> bytes:
    if kind == "invalid_json":
        return b'{"id": "poison-%d", "title": ' % n
    if kind == "invalid_utf8":
        return b"\xff\xfe poison %d" % n
    if kind == "wrong_schema":
        return json.dumps({"id": f"poison-{n}", "source": "chaos", "title": 5}).encode()
    return b""


def generate(
    count: int, *, seed: int, start_ms: int, rate: float, poison_share: float = 0.0
) -> list[Record]:
    """Return ``count`` records: articles, and ``poison_share`` of them poison.

    Args:
        seed: the same seed gives the same articles (only timestamps move with ``start_ms``).
        start_ms: the timestamp of the first record, in Unix milliseconds.
        rate: records per second; record ``n`` is stamped ``start_ms + n / rate``.
    """
    rng = random.Random(seed)
    words = _vocabulary(rng)
    poison_at = set(rng.sample(range(count), round(count * poison_share)))
    records: list[Record] = []
    for n in range(count):
        timestamp_ms = start_ms + round(n * 1000 / rate)
        if n in poison_at:
            kind = POISON_KINDS[len(records) % len(POISON_KINDS)]
            records.append(
                Record(f"poison-{n}".encode(), _poison(kind, n), timestamp_ms, None, kind)
            )
            continue
        article_id = ARTICLE_ID.format(n=n)
        body = [rng.choice(words) for _ in range(rng.randint(40, 80))]
        body.insert(rng.randrange(len(body)), PROBE_TOKEN)
        if rng.random() < ALERTING_SHARE:
            body.insert(rng.randrange(len(body)), marker(alert_rule_id(rng.randrange(ALERT_RULES))))
        title = " ".join([article_id, *(rng.choice(words) for _ in range(rng.randint(3, 7)))])
        value = {
            "id": article_id,
            "source": f"outlet-{n % 17}",
            "url": f"https://chaos.example/{article_id}",
            "title": title,
            "body": ". ".join(" ".join(body[i : i + 12]) for i in range(0, len(body), 12)) + ".",
        }
        records.append(
            Record(article_id.encode(), json.dumps(value).encode(), timestamp_ms, article_id)
        )
    return records


@dataclass(frozen=True)
class ExpectedAlert:
    """An alert the pipeline must deliver: its idempotency key and what it is about."""

    key: str
    rule_id: str
    article_id: str


@dataclass(frozen=True)
class Expectation:
    """What the pipeline must do with a corpus.

    Attributes:
        articles: ids of the valid articles (each must reach the detections topic).
        poison: how many poison records there are (each must reach articles.dlq).
        alerts: the expected alerts by key.
    """

    articles: frozenset[str]
    poison: int
    alerts: Mapping[str, ExpectedAlert]

    def key_of(self, rule_id: str, article_id: str) -> str | None:
        """The expected alert key of (rule, article), or None when no alert is expected."""
        return self._by_pair.get((rule_id, article_id))

    @functools.cached_property
    def _by_pair(self) -> dict[tuple[str, str], str]:
        return {(a.rule_id, a.article_id): a.key for a in self.alerts.values()}


def record_time(timestamp_ms: int) -> datetime:
    """The record time a worker reads from a Kafka timestamp (faust gives seconds as a float)."""
    return datetime.fromtimestamp(timestamp_ms / 1000.0, UTC)


def expect(records: Sequence[Record], rules_dir: Path, settings: Settings) -> Expectation:
    """Run detection and aggregation offline over ``records``: the oracle.

    Raises:
        CorpusError: the corpus breaks one of the assumptions in the module docstring.
    """
    rules = compile_packs(load_packs(rules_dir), load_gazetteer(settings.gazetteer_path))
    pipeline = Offline(settings, lambda: rules)
    aggregation = Aggregation(lambda: rules)
    alerts: dict[str, ExpectedAlert] = {}
    articles: set[str] = set()
    poison = 0
    for n, record in enumerate(records):
        try:
            processed = pipeline.process(
                record.value, origin=f"corpus@{n}", record_time=record_time(record.timestamp_ms)
            )
        except InvalidRecordError:
            if record.poison is None:
                raise CorpusError(f"record {n} is not a valid article") from None
            poison += 1
            continue
        article_id = processed.outcome.article.id
        if record.poison is not None or processed.outcome.repeat:
            raise CorpusError(f"record {n} ({article_id}) was accepted as a new article")
        assignment = processed.page.assignment if processed.page else None
        if assignment is None or assignment.decision.story_id != article_id:
            raise CorpusError(f"{article_id} joined another story: the corpus has near-duplicates")
        articles.add(article_id)
        fired = {detection.rule_id for _, detection in processed.detections}
        if PROBE_RULE not in fired:
            raise CorpusError(f"{article_id} does not meet the probe rule")
        for alert in aggregation.fold(processed.records):
            alerts[alert.key] = ExpectedAlert(alert.key, alert.rule_id, article_id)
    _check_one_alert_per_article(alerts.values())
    return Expectation(frozenset(articles), poison, alerts)


def _check_one_alert_per_article(alerts: Iterable[ExpectedAlert]) -> None:
    seen: set[str] = set()
    for alert in alerts:
        if alert.article_id in seen:
            raise CorpusError(f"{alert.article_id} has more than one expected alert")
        seen.add(alert.article_id)
