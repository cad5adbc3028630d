"""Exact repeats of an article id within a window are recognised, and memory is bounded."""

from __future__ import annotations

from streams.dedup import RecentIds


class FakeClock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeat_within_window_is_recognised() -> None:
    """The second sighting of an id inside the window is a repeat; another id is not."""
    clock = FakeClock()
    recent = RecentIds(60, 100, clock)
    assert recent.check_and_add("a") is False
    clock.now += 59
    assert recent.check_and_add("a") is True
    assert recent.check_and_add("b") is False


def test_window_runs_from_first_sighting() -> None:
    """A repeat does not extend the window: after it, the id is new again."""
    clock = FakeClock()
    recent = RecentIds(60, 100, clock)
    recent.check_and_add("a")
    clock.now += 30
    assert recent.check_and_add("a") is True
    clock.now += 31
    assert recent.check_and_add("a") is False


def test_oldest_ids_are_forgotten_beyond_the_cap() -> None:
    """Memory holds at most max_ids; the oldest go first."""
    clock = FakeClock()
    recent = RecentIds(3600, 3, clock)
    for name in "abcd":
        recent.check_and_add(name)
    assert len(recent) == 3
    assert recent.check_and_add("a") is False
    assert recent.check_and_add("d") is True
