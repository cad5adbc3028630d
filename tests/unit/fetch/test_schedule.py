"""The schedule: adaptive intervals, backoff with jitter, Retry-After and WebSub."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ingest.schedule import Bounds, after_poll, backoff, max_age, usual_gap
from schemas.fetch_state import FetchState

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
BOUNDS = Bounds(60, 300, 3600)


def state(**fields: object) -> FetchState:
    return FetchState.model_validate(
        {"source_id": "s", "url": "https://x.example/", "interval_s": 300, **fields}
    )


def poll(s: FetchState, status: str = "unchanged", **kw: object) -> FetchState:
    return after_poll(
        s, status=status, bounds=BOUNDS, now=NOW, rng=random.Random(1), backoff_max_s=3600, **kw
    )  # type: ignore[arg-type]


def test_interval_follows_the_publishing_rate() -> None:
    """A source publishing every 10 minutes is polled every 5; one every 4 hours at the upper bound."""
    busy = state(new_item_times=[NOW - timedelta(minutes=10 * n) for n in range(5, 0, -1)])
    assert poll(busy, "new", new_items=1).interval_s == 300
    slow = state(new_item_times=[NOW - timedelta(hours=4 * n) for n in range(5, 0, -1)])
    assert poll(slow, "new", new_items=1).interval_s == 3600


def test_a_quiet_source_slows_down_gradually() -> None:
    """Nothing new for longer than usual: the interval grows by half per poll, up to the bound."""
    quiet = state(interval_s=300, last_new_item_at=NOW - timedelta(hours=5))
    intervals = []
    for _ in range(8):
        quiet = poll(quiet)
        intervals.append(quiet.interval_s)
    assert intervals[:3] == [450, 675, 1012.5]
    assert intervals[-1] == 3600


def test_failures_back_off_with_jitter_and_retry_after_wins() -> None:
    """Each failure doubles the wait (jittered in its upper half); a Retry-After is a floor."""
    s = state(failures=2)
    failed = poll(s, "failed", error="HTTP 500")
    wait = (failed.next_due_at - NOW).total_seconds()
    assert 600 <= wait <= 1200
    assert failed.failures == 3
    assert failed.failing_since == NOW
    limited = poll(state(), "rate_limited", retry_after=2000)
    assert (limited.next_due_at - NOW).total_seconds() >= 2000
    assert limited.blocked_until == NOW + timedelta(seconds=2000)


def test_success_clears_failures_and_honours_max_age() -> None:
    """A success resets the failure count; a Cache-Control max-age longer than the interval is kept."""
    ok = poll(state(failures=4, failing_since=NOW), cache_max_age=900)
    assert ok.failures == 0
    assert ok.failing_since is None
    assert ok.interval_s == 900
    assert max_age("public, max-age=120") == 120


def test_push_polls_at_the_longest_interval() -> None:
    """With an active WebSub subscription the source is polled at its upper bound."""
    assert poll(state(), push_active=True).interval_s == 3600


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=1, max_value=1e5), st.integers())
def test_backoff_stays_within_its_bounds(failures: int, interval: float, seed: int) -> None:
    """Backoff is positive, at most the ceiling, and at least half the unjittered delay."""
    wait = backoff(failures, interval, 3600, random.Random(seed))
    delay = min(3600, interval * 2 ** (failures - 1))
    assert delay / 2 <= wait <= delay


def test_usual_gap_needs_two_gaps() -> None:
    """One gap is not a rate."""
    assert usual_gap([NOW, NOW + timedelta(minutes=5)]) is None
    assert usual_gap([NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=15)]) == 450
