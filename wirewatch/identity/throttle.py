"""Sign-in rate limits: per account (failures) and per client address (attempts).

A password guesser is slowed per account, whatever address it comes from,
and per address, whatever accounts it tries. Both are sliding windows kept in
memory per dashboard instance; the number of keys is capped so that a flood
of made-up names or addresses cannot grow memory.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final

ACCOUNT_FAILURES: Final = 5
"""Wrong passwords for one account within the window before it is paused."""
ADDRESS_ATTEMPTS: Final = 20
"""Sign-in attempts from one address within the window before it is paused."""
WINDOW_S: Final = 900.0
MAX_KEYS: Final = 10_000


class _Window:
    """At most ``limit`` event times per key within ``window_s``."""

    def __init__(self, limit: int, window_s: float, max_keys: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if events is not None and not events:
            del self._events[key]
            return None
        return events

    def wait_s(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        events = self._recent(key, now)
        if events is None or len(events) < self.limit:
            return 0.0
        return events[0] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        """Record one event of ``key``."""
        events = self._recent(key, now)
        if events is None:
            if len(self._events) >= self.max_keys:
                self._evict(now)
            events = self._events[key] = deque(maxlen=self.limit)
        events.append(now)

    def clear(self, key: str) -> None:
        """Forget ``key``'s events."""
        self._events.pop(key, None)

    def _evict(self, now: float) -> None:
        for key in list(self._events):
            self._recent(key, now)
        # Still full: the keys seen longest ago go first (dicts keep insertion order).
        while len(self._events) >= self.max_keys:
            del self._events[next(iter(self._events))]

    def __len__(self) -> int:
        return len(self._events)


class SignInThrottle:
    """Decides whether a sign-in may be attempted now, and records the outcome."""

    def __init__(
        self,
        *,
        account_failures: int = ACCOUNT_FAILURES,
        address_attempts: int = ADDRESS_ATTEMPTS,
        window_s: float = WINDOW_S,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = _Window(account_failures, window_s, max_keys)
        self._addresses = _Window(address_attempts, window_s, max_keys)
        self._clock = clock

    def wait_s(self, account: str, address: str) -> float:
        """Seconds before this account may be tried from this address (0: try now)."""
        now = self._clock()
        return max(self._accounts.wait_s(account, now), self._addresses.wait_s(address, now))

    def attempted(self, account: str, address: str, *, succeeded: bool) -> None:
        """Record one attempt; a success clears the account's failures."""
        now = self._clock()
        self._addresses.add(address, now)
        if succeeded:
            self._accounts.clear(account)
        else:
            self._accounts.add(account, now)

    @property
    def keys(self) -> int:
        """Accounts and addresses remembered (bounded by ``max_keys`` each)."""
        return len(self._accounts) + len(self._addresses)
