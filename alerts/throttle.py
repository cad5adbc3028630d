"""Per-receiver rate limits and scheduled digests: nothing is dropped, floods become digests.

A receiver with ``rate_limit: {count: 10, per: 10m}`` gets at most ``count``
notifications in any ``per`` window. Past that it is in a flood: further
notifications are collected and sent as one digest ("37 more alerts in the
last 10 minutes") when the window closes. A receiver with ``digest: hourly``
or ``daily`` gets everything as one digest at each UTC hour or day boundary.
Times are epoch seconds given by the caller.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from alerts.grouping import Notification, Pending
from alerts.routing import ReceiverSpec

_SCHEDULE_S = {"hourly": 3600.0, "daily": 86400.0}


@dataclass
class _ReceiverState:
    sent: deque[float] = field(default_factory=deque)
    buffer: list[Pending] = field(default_factory=list)
    buffer_since: float = 0.0
    flush_at: float | None = None


class Throttle:
    """Decides, per receiver, whether a notification goes now or into a digest."""

    def __init__(self, receivers: Mapping[str, ReceiverSpec]) -> None:
        self._specs = receivers
        self._state: dict[str, _ReceiverState] = {}

    def use(self, receivers: Mapping[str, ReceiverSpec]) -> None:
        """Apply new receiver options (from a reloaded routes file); buffers and windows stay."""
        self._specs = {**self._specs, **receivers}

    def admit(self, notification: Notification, now: float) -> Notification | None:
        """Return ``notification`` if it may go now, else buffer it for a digest and return None."""
        spec = self._specs.get(notification.receiver, ReceiverSpec())
        state = self._state.setdefault(notification.receiver, _ReceiverState())
        if spec.digest is not None:
            period = _SCHEDULE_S[spec.digest]
            self._buffer(state, notification, now, math.floor(now / period) * period + period)
            return None
        if spec.rate_limit is None:
            return notification
        window = spec.rate_limit.per.total_seconds()
        while state.sent and state.sent[0] <= now - window:
            state.sent.popleft()
        if state.flush_at is None and len(state.sent) < spec.rate_limit.count:
            state.sent.append(now)
            return notification
        self._buffer(state, notification, now, now + window)
        return None

    @staticmethod
    def _buffer(state: _ReceiverState, notification: Notification, now: float, due: float) -> None:
        if state.flush_at is None:
            state.flush_at = due
            state.buffer_since = now
        state.buffer.extend(notification.items)

    def due(self, now: float) -> list[Notification]:
        """Return the digests whose window or schedule has closed."""
        ready: list[Notification] = []
        for receiver, state in self._state.items():
            if state.flush_at is not None and state.flush_at <= now:
                if state.buffer:
                    ready.append(
                        Notification(
                            receiver=receiver,
                            items=tuple(state.buffer),
                            kind="digest",
                            window_s=now - state.buffer_since,
                        )
                    )
                state.buffer = []
                state.flush_at = None
                state.sent.clear()
        return ready

    def next_due(self) -> float | None:
        """Return the earliest time a digest becomes due, or None."""
        times = [s.flush_at for s in self._state.values() if s.flush_at is not None and s.buffer]
        return min(times) if times else None

    def discard(self, drop: Callable[[Pending], bool]) -> list[Pending]:
        """Remove and return the buffered items for which ``drop`` is true (partition revoked)."""
        removed: list[Pending] = []
        for state in self._state.values():
            removed.extend(item for item in state.buffer if drop(item))
            state.buffer = [item for item in state.buffer if not drop(item)]
        return removed
