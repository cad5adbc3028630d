"""Politeness per host: a few requests at a time, a pause between them, waits a server asked for.

Every request the fetcher makes to a host (feeds, pages, robots.txt) goes
through :meth:`HostGates.slot`, so a site with fifty sources still sees at
most ``fetch_host_concurrency`` requests at once and one every
``fetch_host_delay_s`` (or its robots.txt ``Crawl-delay``, if longer). A 429
or 503 with ``Retry-After`` closes the host's gate until then, for every source on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

MAX_CRAWL_DELAY_S: Final = 60.0
"""A robots.txt Crawl-delay above this is taken as this (a feed must still be read)."""
_IDLE_S: Final = 3600.0


@dataclass
class _Gate:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    delay_s: float = 0.0
    blocked_until: float = 0.0
    used_at: float = field(default_factory=time.monotonic)


class HostGates:
    """One gate per host: a semaphore, the earliest next start, and a block for Retry-After.

    Args:
        concurrency: requests in flight at once to one host.
        delay_s: least time between the starts of two requests to one host.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self, concurrency: int, delay_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._concurrency = concurrency
        self._delay_s = delay_s
        self._clock = clock
        self._gates: dict[str, _Gate] = {}

    def __len__(self) -> int:
        return len(self._gates)

    def _gate(self, host: str) -> _Gate:
        gate = self._gates.get(host)
        if gate is None:
            if len(self._gates) > 1000:
                self._forget_idle()
            gate = self._gates[host] = _Gate(
                asyncio.Semaphore(self._concurrency), 0.0, self._delay_s
            )
        gate.used_at = self._clock()
        return gate

    def _forget_idle(self) -> None:
        horizon = self._clock() - _IDLE_S
        for host, gate in list(self._gates.items()):
            if gate.used_at < horizon and not gate.slots.locked() and gate.blocked_until < horizon:
                del self._gates[host]

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        """Use robots.txt's Crawl-delay for ``host`` when it is longer than the settings' delay."""
        gate = self._gate(host)
        gate.delay_s = max(self._delay_s, min(seconds or 0.0, MAX_CRAWL_DELAY_S))

    def block(self, host: str, seconds: float) -> None:
        """Let no request start to ``host`` for ``seconds`` (a Retry-After)."""
        gate = self._gate(host)
        gate.blocked_until = max(gate.blocked_until, self._clock() + seconds)

    def blocked_for(self, host: str) -> float:
        """Seconds until ``host`` may be asked again (0 when it may now)."""
        gate = self._gates.get(host)
        return max(0.0, gate.blocked_until - self._clock()) if gate else 0.0

    def slot(self, host: str) -> _Slot:
        """``async with gates.slot(host):`` waits for a free slot on ``host`` and its pause."""
        return _Slot(self._gate(host), self._clock)


class _Slot:
    """Holds one of a host's slots for one request (a class: cheaper than a generator per request)."""

    __slots__ = ("_clock", "_gate")

    def __init__(self, gate: _Gate, clock: Callable[[], float]) -> None:
        self._gate = gate
        self._clock = clock

    async def __aenter__(self) -> None:
        gate = self._gate
        await gate.slots.acquire()
        try:
            now = self._clock()
            start = max(now, gate.next_start, gate.blocked_until)
            gate.next_start = start + gate.delay_s
            if start > now:
                await asyncio.sleep(start - now)
        except BaseException:
            gate.slots.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._gate.slots.release()
