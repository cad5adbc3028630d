"""The fault schedules of issue 8, one :class:`Scenario` each.

A schedule is a coroutine given the running :class:`~tests.chaos.harness.Run`:
it injects faults while the corpus is being produced, records each fault
with :meth:`Run.fault`, and returns once the last fault has ended. Times
scale with the production window, so the full form (more articles, a longer
window) sees more faults of the same kind.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.support.servers import Behaviour

if TYPE_CHECKING:
    from tests.chaos.harness import Run

WORKER_KILL_EVERY_S = 10.0
WORKER_DOWN_S = 2.0
NOTIFIER_KILLS = 20
BROKER_OUTAGES = 3
BROKER_DOWN_S = 30.0
BROKER_UP_BETWEEN_S = 20.0
EXTRA_WORKER_EVERY_S = 15.0
PAUSE_BEYOND_SESSION_S = 4.0
WEBHOOK_PHASE_S = 20.0
WEBHOOK_HANG_S = 15.0


@dataclass(frozen=True)
class Scenario:
    """One scenario: its number and name, what it does, and its schedule.

    Attributes:
        min_window_s: the shortest production window that fits the schedule.
        poison_share: share of the corpus that is poison.
        needs_local_broker: the schedule stops and starts the local broker.
    """

    number: int
    name: str
    summary: str
    inject: Callable[[Run], Awaitable[None]]
    min_window_s: float
    poison_share: float = 0.0
    needs_local_broker: bool = False


async def no_faults(run: Run) -> None:
    """Scenario 1: nothing is injected."""


async def kill_workers(run: Run) -> None:
    """Scenario 2: SIGKILL one of the two workers every 10 s (alternately), restart it 2 s later."""
    n = 0
    while not await run.sleep_unless_produced(WORKER_KILL_EVERY_S):
        victim = run.workers[n % 2]
        n += 1
        with run.fault(f"SIGKILL {victim.name}"):
            victim.hold()
            victim.send(signal.SIGKILL)
            await asyncio.sleep(WORKER_DOWN_S)
            victim.start()


async def kill_notifier(run: Run) -> None:
    """Scenario 3: SIGKILL the notifier up to 20 times, each time soon after it has sent something.

    Kills are spread over the production window; after each one the notifier
    is restarted at once (its static group membership lets it take its
    partitions back without waiting for the session timeout).
    """
    rng = random.Random(run.seed)
    spacing = run.window_s / NOTIFIER_KILLS
    for n in range(NOTIFIER_KILLS):
        ended = run.produced.is_set()
        if not await run.wait_notifier_sent_since_start(timeout_s=10 if ended else 60) and ended:
            # Delivery is over: a kill now tests nothing, and each would wait out
            # its timeout (a fast machine ran past the scenario's 300 s this way).
            run.say(f"nothing left to deliver after {n} kills: no more kills")
            break
        await asyncio.sleep(rng.uniform(0.1, max(0.2, spacing - 1.5)))
        with run.fault(f"SIGKILL notifier ({n + 1}/{NOTIFIER_KILLS})"):
            run.notifier.send(signal.SIGKILL)
            await run.wait_notifier_restarted()


async def stop_broker(run: Run) -> None:
    """Scenario 4: the broker down for 30 s, three times: SIGTERM first, SIGKILL after that."""
    for n in range(BROKER_OUTAGES):
        await asyncio.sleep(BROKER_UP_BETWEEN_S)
        sig = signal.SIGTERM if n == 0 else signal.SIGKILL
        with run.fault(f"broker {sig.name} for {BROKER_DOWN_S:g} s ({n + 1}/{BROKER_OUTAGES})"):
            await run.broker_down(sig, BROKER_DOWN_S)


async def pause_worker(run: Run) -> None:
    """Scenario 5: SIGSTOP a worker for longer than the session timeout, then SIGCONT; twice."""
    pause = run.settings.pipeline_session_timeout_s + PAUSE_BEYOND_SESSION_S
    gap = max(5.0, (run.window_s - 2 * pause) / 3)
    for n in range(2):
        await asyncio.sleep(gap)
        victim = run.workers[n % 2]
        with run.fault(f"SIGSTOP {victim.name} for {pause:g} s"):
            victim.send(signal.SIGSTOP)
            await asyncio.sleep(pause)
            victim.send(signal.SIGCONT)


async def churn_workers(run: Run) -> None:
    """Scenario 6: add a third worker, remove it 15 s later (SIGTERM), and so on."""
    third = run.add_worker("worker-3")
    while not await run.sleep_unless_produced(EXTRA_WORKER_EVERY_S):
        if third.wanted:
            with run.fault("remove worker-3"):
                third.stop()
        else:
            with run.fault("add worker-3"):
                third.start()
    if third.wanted:
        with run.fault("remove worker-3"):
            third.stop()


async def misbehaving_webhook(run: Run) -> None:
    """Scenario 7: the webhook answers 500, then 429 with Retry-After, then hangs; 20 s each."""
    phases = (
        ("webhook 500", Behaviour(status=500)),
        ("webhook 429 Retry-After: 5", Behaviour(status=429, retry_after="5")),
        (f"webhook hangs {WEBHOOK_HANG_S:g} s, then 504", Behaviour(hang_s=WEBHOOK_HANG_S)),
    )
    gap = max(5.0, (run.window_s - len(phases) * WEBHOOK_PHASE_S) / (len(phases) + 1))
    for what, behaviour in phases:
        await asyncio.sleep(gap)
        with run.fault(what):
            run.misbehave(behaviour)
            await asyncio.sleep(WEBHOOK_PHASE_S)
            run.misbehave(None)


SCENARIOS: dict[int, Scenario] = {
    s.number: s
    for s in (
        Scenario(1, "baseline", "no faults", no_faults, min_window_s=15),
        Scenario(
            2,
            "worker-kill",
            "SIGKILL one of two workers every 10 s, restart it 2 s later",
            kill_workers,
            min_window_s=32,
        ),
        Scenario(
            3,
            "notifier-kill",
            "SIGKILL the notifier 20 times",
            kill_notifier,
            min_window_s=50,
        ),
        Scenario(
            4,
            "broker-down",
            "stop the broker for 30 s three times (SIGTERM, then SIGKILL)",
            stop_broker,
            min_window_s=BROKER_OUTAGES * (BROKER_DOWN_S + BROKER_UP_BETWEEN_S),
            needs_local_broker=True,
        ),
        Scenario(
            5,
            "worker-pause",
            "SIGSTOP a worker past the session timeout, then SIGCONT; twice",
            pause_worker,
            min_window_s=40,
        ),
        Scenario(
            6,
            "worker-churn",
            "add and remove a third worker every 15 s",
            churn_workers,
            min_window_s=62,
        ),
        Scenario(
            7,
            "webhook-faults",
            "the webhook fails (500), rate-limits (429) and hangs, 20 s each",
            misbehaving_webhook,
            min_window_s=80,
        ),
        Scenario(
            8,
            "poison",
            "1% poison records mixed in",
            no_faults,
            min_window_s=15,
            poison_share=0.01,
        ),
    )
}
