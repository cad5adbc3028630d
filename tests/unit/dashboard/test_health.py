"""Rule health: hits per rule per hour over a sliding window, and the dead-letter log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from schemas import DeadLetter, Detection, Severity
from schemas.rules import RuleSpec
from tests.unit.dashboard.conftest import NOW
from wirewatch.dashboard.health import DeadLetterLog, HourlyHits

RULES = {
    "rule-a": RuleSpec(id="rule-a", title="A", category="c", severity=Severity.HIGH, query="a"),
    "quiet": RuleSpec(id="quiet", title="Q", category="c", severity=Severity.LOW, query="q"),
}


def test_hits_are_bucketed_by_clock_hour(make_detection: Callable[..., Detection]) -> None:
    """Detections count in the hour they were made; the last bucket is the current hour."""
    hits = HourlyHits(hours=3)
    for minutes_ago in (0, 20, 65, 125):
        hits.add(make_detection(detected_at=NOW - timedelta(minutes=minutes_ago)), NOW)
    table = hits.table(NOW, RULES)
    assert len(table["hours"]) == 3
    assert table["hours"][-1] == "2026-11-10T12:00:00+00:00"
    row = next(r for r in table["rules"] if r["rule_id"] == "rule-a")
    assert row["counts"] == [1, 1, 2]
    assert row["total"] == 4
    assert row["last_hit"] == NOW.isoformat()
    assert table["totals"] == [1, 1, 2]


def test_a_detection_counts_once(make_detection: Callable[..., Detection]) -> None:
    """The same detection key (sent per alert group, or replayed) is one hit."""
    hits = HourlyHits(hours=24)
    detection = make_detection()
    assert hits.add(detection, NOW)
    assert not hits.add(detection, NOW)
    assert hits.table(NOW, RULES)["totals"][-1] == 1


def test_old_detections_leave_the_window(make_detection: Callable[..., Detection]) -> None:
    """A detection older than the window is not counted, and counted ones age out."""
    hits = HourlyHits(hours=2)
    assert not hits.add(make_detection(detected_at=NOW - timedelta(hours=3)), NOW)
    assert hits.add(make_detection(detected_at=NOW), NOW)
    later = NOW + timedelta(hours=2)
    row = next(r for r in hits.table(later, RULES)["rules"] if r["rule_id"] == "rule-a")
    assert row["total"] == 0
    assert row["last_hit"] is None


def test_silent_and_retired_rules_are_listed(make_detection: Callable[..., Detection]) -> None:
    """Every rule of the set is a row (zeros when silent); a rule gone from the set that fired too."""
    hits = HourlyHits(hours=24)
    hits.add(make_detection(rule_id="retired"), NOW)
    rows = {r["rule_id"]: r for r in hits.table(NOW, RULES)["rules"]}
    assert rows.keys() == {"rule-a", "quiet", "retired"}
    assert rows["quiet"]["total"] == 0
    assert rows["retired"]["in_rule_set"] is False
    assert rows["rule-a"]["severity"] == "high"


def test_hits_memory_is_bounded(make_detection: Callable[..., Detection]) -> None:
    """At most max_rules rule ids are tracked and max_keys detection keys remembered."""
    hits = HourlyHits(hours=24, max_rules=2, max_keys=3)
    for rule in ("r1", "r2", "r3"):
        hits.add(make_detection(rule_id=rule), NOW)
    assert {r["rule_id"] for r in hits.table(NOW, {})["rules"]} == {"r1", "r2"}
    for _ in range(5):
        hits.add(make_detection(rule_id="r1"), NOW)
    assert len(hits._seen) == 3


def test_dead_letter_log_counts_and_keeps_the_latest() -> None:
    """Counts by topic, stage and reason; the latest letters first, at most `keep`."""
    log = DeadLetterLog(keep=2, max_reasons=2)
    for n, reason in enumerate(["invalid_json", "invalid_json", "too_large", "odd"]):
        log.add(
            "articles.dlq",
            DeadLetter.wrap(b"{x", stage="detect", origin=f"o{n}", reason=reason, error="e"),
        )
    view = log.view()
    assert view["total"] == 4
    counts = {row["reason"]: row["count"] for row in view["counts"]}
    assert counts == {"invalid_json": 2, "too_large": 1, "other": 1}
    assert [r["origin"] for r in view["recent"]] == ["o3", "o2"]
    assert view["recent"][0]["payload"] == "{x"


def test_binary_dead_letter_is_described_not_shown() -> None:
    """A payload that is not UTF-8 is described by its size."""
    log = DeadLetterLog()
    log.add("a", DeadLetter.wrap(b"\xff\xfe", stage="detect", origin="o", reason="r", error="e"))
    assert log.view()["recent"][0]["payload"].startswith("(binary")
