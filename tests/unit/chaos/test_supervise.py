"""The harness's supervisor: crashes are restarted and counted, faults are not crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.chaos.supervise import RESTART_BACKOFF_S, Supervised
from tests.support.processes import Child

SLEEPER = ("-c", "import time; time.sleep(60)")
CRASHER = ("-c", "import sys; sys.exit(3)")


def supervised(tmp_path: Path, argv: tuple[str, ...]) -> Supervised:
    return Supervised(Child("child", dict(os.environ), tmp_path / "child.log", 0, argv))


def wait_exit(child: Supervised) -> None:
    process = child.child.process
    assert process is not None
    process.wait(10)


def test_a_crash_is_recorded_and_restarted_after_the_backoff(tmp_path: Path) -> None:
    """A child that exits by itself counts as a crash and is started again once its back-off is over."""
    child = supervised(tmp_path, CRASHER)
    child.start()
    first = child.child.process
    wait_exit(child)
    now = time.monotonic()
    child.check(now)
    assert child.crashes == 1
    assert child.deaths[0].cause == "exited 3"
    child.check(now + RESTART_BACKOFF_S[0] / 2)
    assert child.child.process is first
    child.check(now + RESTART_BACKOFF_S[0])
    assert child.child.process is not first
    child.finish()


def test_a_planned_kill_is_not_a_crash_and_restarts_at_once(tmp_path: Path) -> None:
    """SIGKILL sent as a fault is recorded as planned; a wanted child comes straight back."""
    child = supervised(tmp_path, SLEEPER)
    child.start()
    first = child.child.process
    child.send(signal.SIGKILL)
    wait_exit(child)
    child.check(time.monotonic())
    assert child.crashes == 0
    assert [(d.cause, d.planned) for d in child.deaths] == [("SIGKILL", True)]
    assert child.alive()
    assert child.child.process is not first
    child.finish()
    assert not child.alive()


def test_a_held_child_stays_down_until_started(tmp_path: Path) -> None:
    """hold() then SIGKILL keeps it down (the schedule restarts it later with start())."""
    child = supervised(tmp_path, SLEEPER)
    child.start()
    child.hold()
    child.send(signal.SIGKILL)
    wait_exit(child)
    child.check(time.monotonic() + 60)
    assert not child.alive()
    child.start()
    assert child.alive()
    assert len(child.deaths) == 1
    child.finish()
