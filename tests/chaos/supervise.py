"""Children kept running as a process supervisor would, and the faults done to them.

A deployment runs workers and the notifier under something that restarts a
process that exits (systemd ``Restart=always``, a Kubernetes pod, compose's
``restart:``). The harness plays that part: a :class:`Supervised` child that
exits without being told to is restarted after a short back-off, and the
restart is counted, never hidden. Faults (a signal, a pause, a planned stop)
go through the same object, so every death has a recorded cause and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.processes import Child

RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
"""Waits before restarting a child that exited by itself, the last one repeated."""


@dataclass(frozen=True)
class Death:
    """A child process that ended: when (epoch seconds), how, and whether the harness did it."""

    name: str
    at: float
    cause: str
    planned: bool


@dataclass
class Supervised:
    """A child the harness keeps running unless it was stopped on purpose.

    Attributes:
        deaths: every end of the child's process, planned or not.
        crashes: ends the harness did not cause (each one was followed by a restart).
    """

    child: Child
    on_event: Callable[[str], None] = lambda line: None
    wanted: bool = False
    paused: bool = False
    deaths: list[Death] = field(default_factory=list)
    _planned: tuple[str, float] | None = None
    _crash_streak: int = 0
    _restart_at: float | None = None

    @property
    def name(self) -> str:
        """The child's name."""
        return self.child.name

    @property
    def crashes(self) -> int:
        """How many times the child ended without the harness causing it."""
        return sum(1 for death in self.deaths if not death.planned)

    def start(self) -> None:
        """Start the child (unless it runs) and keep it running from now on."""
        self.check(time.monotonic())  # record the end of the previous process first
        self.wanted = True
        self.paused = False
        self._restart_at = None
        if not self.alive():
            self.child.start()

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` (SIGKILL, SIGTERM) as a fault: the end it causes is planned."""
        process = self.child.process
        if process is None or process.poll() is not None:
            return
        if sig in (signal.SIGSTOP, signal.SIGCONT):
            self.paused = sig == signal.SIGSTOP
        else:
            self._planned = (sig.name, time.time())
        process.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """End the child and leave it down (a planned removal)."""
        self.wanted = False
        self._restart_at = None
        if self.paused:
            self.send(signal.SIGCONT)
        self.send(sig)

    def check(self, now: float) -> None:
        """Record an exit, and restart the child when it is wanted and its back-off is over.

        A child killed by the harness is restarted by the caller (the fault
        schedule decides when), unless it is :attr:`wanted` with no planned
        restart: then the supervisor restarts it at once.
        """
        process = self.child.process
        if process is not None and process.poll() is not None and self._restart_at is None:
            planned = self._planned is not None
            cause, at = self._planned or (f"exited {process.returncode}", time.time())
            self.deaths.append(Death(self.name, at, cause, planned))
            self._planned = None
            self.paused = False
            if not self.wanted:
                self.child.process = None
                return
            if planned:
                self._crash_streak = 0
                self._restart_at = now
            else:
                backoff = RESTART_BACKOFF_S[min(self._crash_streak, len(RESTART_BACKOFF_S) - 1)]
                self._crash_streak += 1
                self._restart_at = now + backoff
                self.on_event(f"{self.name} {cause}; restarting in {backoff:g} s")
        if self.wanted and self._restart_at is not None and now >= self._restart_at:
            self._restart_at = None
            self.child.start()

    def hold(self) -> None:
        """Keep the child down after its next planned death, until :meth:`start`."""
        self.wanted = False

    def alive(self) -> bool:
        """True while the process runs (paused counts as running)."""
        return self.child.running()

    def ready(self) -> bool:
        """True when the child answers 200 on its readiness page."""
        if not self.alive() or self.paused:
            return False
        status, _ = self.child.get(self.child.ready_path)
        return status == 200

    def finish(self) -> None:
        """Stop for good at the end of a run: SIGCONT if paused, SIGTERM, SIGKILL after 20 s."""
        self.wanted = False
        process = self.child.process
        if process is None:
            return
        if self.paused:
            process.send_signal(signal.SIGCONT)
        self.child.stop(signal.SIGTERM, timeout=20)


async def watch(children: list[Supervised], stop: asyncio.Event, every_s: float = 0.2) -> None:
    """Check every child each ``every_s`` until ``stop`` is set."""
    while not stop.is_set():
        now = time.monotonic()
        for child in list(children):
            child.check(now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
