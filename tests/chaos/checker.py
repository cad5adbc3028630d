"""The checker: what a run must show, counted from what the pipeline left behind.

Pure functions over plain data, so the criteria are tested without Kafka
(``tests/unit/chaos``). The harness gathers the :class:`Observed` facts from
the topics and the receivers; :func:`judge` turns them into a :class:`Verdict`.

Pass criteria (issue 8):

- no article lost: every valid article reached the detections topic (through
  the probe rule) and no valid article was dead-lettered; every poison record
  is on ``articles.dlq``, found by the topic, partition and offset it was
  written at;
- no expected alert undelivered: each one reached every receiver it is routed
  to, and none went to ``alerts.dlq``; nothing unexpected was delivered or
  emitted;
- no duplicate notification, except in the window the alerting design names:
  a notifier that died after a send and before that send's ledger record. A
  repeated (alert, receiver) delivery is counted as in that window only when a
  notifier death falls between the two copies (the first one noted at most
  :data:`ARRIVAL_LAG_S` after it) and the ledger held no record of the pair
  before that death; any other repeat fails the run;
- every notification carries the keys of exactly the alerts it lists, so a
  receiver can drop what it has already had: no repeated alert may be one a
  receiver keeping the keys it was sent could not recognise (issue 16);
- the pipeline recovered: consumer lag back to 0 and every expected alert
  delivered within :data:`RECOVERY_LIMIT_S` of the end of the last fault (or
  of production, if that ended later), with no manual action.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.chaos.corpus import Expectation
from tests.chaos.receivers import Pair, Received

RECOVERY_LIMIT_S = 60.0
ARRIVAL_LAG_S = 1.0
"""How late a receiver may note an arrival: the harness's own event loop runs the
webhook, so a request sent just before a kill can be noted just after it."""


@dataclass(frozen=True)
class DeadArticle:
    """A record of ``articles.dlq``: where its record was, its key, and why it was refused."""

    origin: str
    key: str | None
    reason: str


@dataclass(frozen=True)
class Observed:
    """Everything the checker looks at after a run.

    Attributes:
        detected: article ids on the detections topic.
        dead_articles: the records of ``articles.dlq``.
        emitted: alert keys on the alerts topic.
        dead_alerts: alert keys on ``alerts.dlq`` (deliveries that gave up).
        ledger: the earliest ledger record per (alert key, receiver), epoch seconds.
        received: every notification the receivers accepted.
        receivers: the receivers every alert is routed to.
        poison_origins: ``topic/partition@offset`` of each poison record produced.
        notifier_deaths: when a notifier process ended (killed or crashed), epoch seconds.
        recovered_s: seconds from the end of faults and production until lag was 0
            and every expected alert delivered; None if that never happened.
    """

    detected: frozenset[str]
    dead_articles: tuple[DeadArticle, ...]
    emitted: frozenset[str]
    dead_alerts: frozenset[str]
    ledger: Mapping[tuple[str, str], float]
    received: tuple[Received, ...]
    receivers: tuple[str, ...]
    poison_origins: frozenset[str]
    notifier_deaths: tuple[float, ...]
    recovered_s: float | None
    produced: int


@dataclass(frozen=True)
class Verdict:
    """The figures of one scenario and the criteria it failed (none when it passed)."""

    produced: int
    processed: int
    articles_lost: int
    poison: int
    poison_dead_lettered: int
    valid_dead_lettered: int
    alerts_expected: int
    alerts_delivered: int
    alerts_lost: int
    duplicates: int
    duplicates_in_window: int
    key_mismatches: int
    repeats_left_by_key: int
    unexpected_delivered: int
    emitted_unexpected: int
    emitted_missing: int
    dead_lettered: int
    alerts_dead_lettered: int
    recovered_s: float | None
    delivered_per_receiver: Mapping[str, int] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    examples: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every pass criterion held."""
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data."""
        data = asdict(self)
        data["passed"] = self.passed
        return data


def judge(expectation: Expectation, observed: Observed) -> Verdict:
    """Apply the pass criteria of the module docstring to ``observed``."""
    valid = expectation.articles
    dead_valid = {d.key for d in observed.dead_articles if d.key in valid}
    dead_origins = {d.origin for d in observed.dead_articles}
    poison_found = observed.poison_origins & dead_origins
    lost_articles = sorted(valid - observed.detected - dead_valid)
    processed = len(valid) - len(lost_articles) + len(poison_found)
    poison_missing = sorted(observed.poison_origins - dead_origins)

    expected_pairs = {(a.rule_id, a.article_id): key for key, a in expectation.alerts.items()}
    got: dict[str, set[Pair]] = {name: set() for name in observed.receivers}
    for item in observed.received:
        got.setdefault(item.receiver, set()).update(item.pairs)
    missing = {
        pair
        for pair in expected_pairs
        if any(pair not in got[receiver] for receiver in observed.receivers)
    }
    unexpected = sorted({pair for pairs in got.values() for pair in pairs} - set(expected_pairs))
    dead_alerts = observed.dead_alerts & set(expectation.alerts)

    duplicates, in_window, unexplained = _duplicates(
        observed.received, expected_pairs, observed.ledger, observed.notifier_deaths
    )
    mismatched, left = _key_checks(observed.received, expected_pairs)
    emitted_unexpected = sorted(observed.emitted - set(expectation.alerts))
    emitted_missing = sorted(set(expectation.alerts) - observed.emitted)

    failures: list[str] = []
    examples: dict[str, list[str]] = {}

    def fail(what: str, items: Sequence[Any]) -> None:
        if items:
            failures.append(f"{len(items)} {what}")
            examples[what] = [str(item) for item in list(items)[:5]]

    fail("articles lost", lost_articles)
    fail("valid articles dead-lettered", sorted(dead_valid))
    fail("poison records not on articles.dlq", poison_missing)
    fail("expected alerts undelivered", sorted(missing))
    fail("expected alerts dead-lettered by the notifier", sorted(dead_alerts))
    fail("unexpected alerts delivered", unexpected)
    fail("unexpected alert keys emitted", emitted_unexpected)
    fail("expected alert keys never emitted", emitted_missing)
    fail("duplicate notifications outside the send/ledger window", unexplained)
    fail("notifications whose alert keys differ from the alerts they list", mismatched)
    fail("repeated alerts a receiver cannot drop by key", left)
    if observed.recovered_s is None:
        failures.append("did not recover (lag 0 and every alert delivered)")
    elif observed.recovered_s > RECOVERY_LIMIT_S:
        failures.append(f"recovered in {observed.recovered_s:.0f} s, over {RECOVERY_LIMIT_S:.0f} s")
    return Verdict(
        produced=observed.produced,
        processed=processed,
        articles_lost=len(lost_articles) + len(poison_missing),
        poison=len(observed.poison_origins),
        poison_dead_lettered=len(poison_found),
        valid_dead_lettered=len(dead_valid),
        alerts_expected=len(expected_pairs),
        alerts_delivered=len(expected_pairs) - len(missing),
        alerts_lost=len(missing),
        duplicates=duplicates,
        duplicates_in_window=in_window,
        key_mismatches=len(mismatched),
        repeats_left_by_key=len(left),
        unexpected_delivered=len(unexpected),
        emitted_unexpected=len(emitted_unexpected),
        emitted_missing=len(emitted_missing),
        dead_lettered=len(dead_origins) + len(observed.dead_alerts),
        alerts_dead_lettered=len(observed.dead_alerts),
        recovered_s=observed.recovered_s,
        delivered_per_receiver={
            name: len(pairs & set(expected_pairs)) for name, pairs in sorted(got.items())
        },
        failures=tuple(failures),
        examples=examples,
    )


def _duplicates(
    received: Iterable[Received],
    expected: Mapping[Pair, str],
    ledger: Mapping[tuple[str, str], float],
    deaths: Sequence[float],
) -> tuple[int, int, list[str]]:
    """Count repeated (alert, receiver) deliveries: all of them, those in the window, the rest."""
    arrivals: dict[tuple[Pair, str], list[float]] = defaultdict(list)
    for item in received:
        for pair in item.pairs:
            arrivals[(pair, item.receiver)].append(item.at)
    total = in_window = 0
    unexplained: list[str] = []
    for (pair, receiver), times in arrivals.items():
        times.sort()
        key = expected.get(pair)
        recorded = ledger.get((key, receiver)) if key is not None else None
        for before, after in itertools.pairwise(times):
            total += 1
            window = [
                d
                for d in deaths
                if before - ARRIVAL_LAG_S <= d <= after and (recorded is None or recorded >= d)
            ]
            if window:
                in_window += 1
            else:
                unexplained.append(f"{pair[0]}/{pair[1]} to {receiver}")
    return total, in_window, unexplained


def _key_checks(
    received: Iterable[Received], expected: Mapping[Pair, str]
) -> tuple[list[str], list[str]]:
    """Notifications whose keys are not those of the alerts they list; repeated alerts that a
    receiver remembering every key it was sent could not recognise as repeats."""
    known = set(expected.values())
    mismatched: list[str] = []
    left: list[str] = []
    shown: dict[str, set[str]] = defaultdict(set)
    carried: dict[str, set[str]] = defaultdict(set)
    for item in sorted(received, key=lambda r: r.at):
        listed = {expected[pair] for pair in item.pairs if pair in expected}
        if listed != item.keys & known:
            mismatched.append(f"to {item.receiver} at {item.at:.3f}: {sorted(listed ^ item.keys)}")
        left += [
            f"{key} to {item.receiver}"
            for key in sorted(listed & shown[item.receiver])
            if key not in item.keys or key not in carried[item.receiver]
        ]
        shown[item.receiver] |= listed
        carried[item.receiver] |= item.keys
    return mismatched, left
