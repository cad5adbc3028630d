"""Child processes that never outlive their parent: the demo's worker and notifier.

Each child runs in its own session (so a terminal's Ctrl-C reaches the parent
first, and the parent stops children in order) and gets ``PR_SET_PDEATHSIG``
so that even a SIGKILL of the parent takes the children with it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A named child process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes] = field(repr=False)

    @property
    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None


def start_child(name: str, argv: Sequence[str], *, env: Mapping[str, str], log_dir: Path) -> Child:
    """Start ``python -m wirewatch <argv>`` with ``env`` added, output to ``log_dir/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "wirewatch", *argv],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    return Child(name, process, log_path, log)


def stop_children(children: Sequence[Child], timeout_s: float = 20.0) -> list[str]:
    """SIGTERM every child, wait up to ``timeout_s``, SIGKILL what is left.

    Returns:
        The names of the children that had to be killed.
    """
    for child in children:
        if child.alive:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    killed: list[str] = []
    for child in children:
        try:
            child.process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
            killed.append(child.name)
        child.log.close()
    return killed
