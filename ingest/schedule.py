"""When a source is polled next: adaptive intervals, backoff with jitter, the server's own waits.

Pure functions of a source's :class:`~schemas.fetch_state.FetchState`, the
outcome of a poll and the time, so the whole policy is tested without a
network:

* the interval follows the source's publishing rate: half the median gap
  between its recent new items, within the source's bounds, and it
  lengthens by half after each poll that finds nothing new once the source is
  quieter than usual; a ``Cache-Control: max-age`` longer than that is honoured
  (within the bounds);
* a failure waits ``interval * 2^(failures-1)`` (at most ``fetch_backoff_max_s``),
  with full jitter on the upper half so that many sources failing together
  do not come back together;
* a 429 or 503 waits at least its ``Retry-After``;
* a source whose WebSub subscription is active is polled at its longest
  interval: the hub pushes its items.
"""

from __future__ import annotations

import itertools
import random
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from schemas.fetch_state import FetchState, FetchStatus

RECENT_ITEMS: Final = 20
"""New-item times kept per source to estimate its publishing rate."""
MIN_GAPS: Final = 2
_MAX_AGE: Final = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.I)


@dataclass(frozen=True)
class Bounds:
    """The shortest, usual and longest interval of a source, in seconds."""

    low: float
    default: float
    high: float

    def clamp(self, seconds: float) -> float:
        """``seconds`` within the bounds."""
        return min(self.high, max(self.low, seconds))


def max_age(cache_control: str | None) -> float | None:
    """The ``max-age`` of a Cache-Control header, in seconds; None when absent."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def usual_gap(times: Sequence[datetime]) -> float | None:
    """The median gap between successive new items, in seconds; None with too few items."""
    ordered = sorted(times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    gaps = [gap for gap in gaps if gap > 0]
    return statistics.median(gaps) if len(gaps) >= MIN_GAPS else None


def adapted_interval(state: FetchState, bounds: Bounds, found_new: bool, now: datetime) -> float:
    """The interval after a successful poll (``found_new``: it produced items)."""
    gap = usual_gap(state.new_item_times)
    target = bounds.clamp(gap / 2 if gap is not None else bounds.default)
    if found_new or state.last_new_item_at is None:
        return target
    quiet_for = (now - state.last_new_item_at).total_seconds()
    if quiet_for > 2 * (gap if gap is not None else bounds.default):
        return bounds.clamp(max(state.interval_s, target) * 1.5)
    return target


def backoff(failures: int, interval_s: float, ceiling_s: float, rng: random.Random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row, with jitter."""
    delay = min(ceiling_s, interval_s * 2 ** max(0, failures - 1))
    return rng.uniform(delay / 2, delay)


def after_poll(
    state: FetchState,
    *,
    status: FetchStatus,
    bounds: Bounds,
    now: datetime,
    rng: random.Random,
    backoff_max_s: float,
    new_items: int = 0,
    retry_after: float | None = None,
    cache_max_age: float | None = None,
    push_active: bool = False,
    error: str | None = None,
    also: Mapping[str, object] | None = None,
) -> FetchState:
    """The state after a poll that ended in ``status``: times, counters, interval, next due time.

    Items seen, validators and health are the caller's; this decides time only.
    ``also`` holds the caller's other changes, applied in the same copy.
    """
    update: dict[str, object] = {
        **(also or {}),
        "first_fetch_at": state.first_fetch_at or now,
        "last_fetch_at": now,
        "last_status": status,
        "updated_at": now,
    }
    if status in ("failed", "refused", "rate_limited"):
        failures = state.failures + 1
        wait = backoff(failures, state.interval_s, backoff_max_s, rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, backoff_max_s))
            update["blocked_until"] = now + timedelta(seconds=min(retry_after, backoff_max_s))
        update.update(
            failures=failures,
            failing_since=state.failing_since or now,
            last_error=error,
            next_due_at=now + timedelta(seconds=wait),
        )
        return state.model_copy(update=update)
    times = state.new_item_times
    if new_items:
        times = (*times, now)[-RECENT_ITEMS:]
        update.update(
            last_new_item_at=now, new_item_times=times, items_total=state.items_total + new_items
        )
    adapted = state.model_copy(update={"new_item_times": times}) if new_items else state
    interval = adapted_interval(adapted, bounds, new_items > 0, now)
    if cache_max_age is not None:
        interval = max(interval, bounds.clamp(cache_max_age))
    if push_active:
        interval = bounds.high
    update.update(
        interval_s=interval,
        failures=0,
        failing_since=None,
        last_error=None,
        last_success_at=now,
        next_due_at=now + timedelta(seconds=interval),
    )
    return state.model_copy(update=update)
