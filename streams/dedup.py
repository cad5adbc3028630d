"""Dropping exact repeats: the same article id seen again within a time window.

Producers retry, feeds re-list items and operators replay files, so the same
article id arrives more than once. The memory is per worker and bounded: a
repeat that slips through after a restart or a rebalance is still harmless,
because aggregation counts each article id once per group.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]


class RecentIds:
    """Remembers article ids for ``window_s`` seconds, at most ``max_ids`` of them.

    Args:
        window_s: how long an id counts as recent.
        max_ids: the oldest ids are forgotten first beyond this many.
        clock: seconds as a float (``time.monotonic`` in production); injectable for tests.
    """

    def __init__(self, window_s: float, max_ids: int, clock: Clock) -> None:
        self._window_s = window_s
        self._max_ids = max_ids
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, article_id: str) -> bool:
        """Return True when ``article_id`` was seen within the window; remember it either way.

        A repeat does not extend the window: the first sighting starts it.
        """
        now = self._clock()
        self._expire(now)
        if article_id in self._seen:
            return True
        self._seen[article_id] = now
        if len(self._seen) > self._max_ids:
            self._seen.popitem(last=False)
        return False

    def _expire(self, now: float) -> None:
        horizon = now - self._window_s
        seen = self._seen
        while seen:
            oldest_id, at = next(iter(seen.items()))
            if at > horizon:
                return
            del seen[oldest_id]
