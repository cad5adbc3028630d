"""The local broker's life cycle, on its own port and home so the shared one is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _wirewatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WIREWATCH_LOCAL_BROKER_HOME": str(home),
        "WIREWATCH_LOCAL_BROKER_PORT": "19192",
        "WIREWATCH_LOCAL_CONTROLLER_PORT": "19193",
        "WIREWATCH_LOCAL_BROKER_HEAP": "384m",
    }
    env.pop("WIREWATCH_KAFKA_BOOTSTRAP", None)
    return subprocess.run(
        [sys.executable, "-m", "wirewatch.broker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _java_processes(home: Path) -> list[str]:
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if "kafka.Kafka" in line and str(home) in line]


def test_start_twice_stop_status(tmp_path: Path) -> None:
    """start twice runs one broker; status tells the truth; stop leaves no java behind."""
    home = tmp_path / "kafka"
    assert _wirewatch(home, "status").returncode == 3
    first = _wirewatch(home, "start")
    assert first.returncode == 0, first.stderr
    try:
        second = _wirewatch(home, "start")
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert len(_java_processes(home)) == 1
        status = _wirewatch(home, "status")
        assert status.returncode == 0
        assert "running" in status.stdout
    finally:
        stopped = _wirewatch(home, "stop")
    assert stopped.returncode == 0
    assert _java_processes(home) == []
    assert _wirewatch(home, "status").returncode == 3
    assert "was not running" in _wirewatch(home, "stop").stdout
