"""Subprocesses of Wirewatch's own commands, and the environment that configures them.

Each child runs with this interpreter, is configured only by ``WIREWATCH_*``
environment variables, writes its output to a log file, and serves its web
pages on a port of its own, which is how readiness is read.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas import Settings

ROOT = Path(__file__).resolve().parents[2]


def wirewatch_argv(command: str) -> tuple[str, ...]:
    """``wirewatch <command>`` through the CLI's entry point, run with ``python``."""
    return ("-c", "import sys; from wirewatch.cli import main; sys.exit(main())", command)


def settings_env(settings: Settings) -> dict[str, str]:
    """The WIREWATCH_* environment that rebuilds ``settings`` in a subprocess."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if name == "receivers":
            raw = {k: [u.get_secret_value() for u in v] for k, v in settings.receivers.items()}
            env["WIREWATCH_RECEIVERS"] = json.dumps(raw)
            continue
        env[f"WIREWATCH_{name.upper()}"] = (
            json.dumps(value) if isinstance(value, dict | list) else str(value)
        )
    return env


class ChildError(AssertionError):
    """A child exited or did not get ready in time; the message ends with its log."""


@dataclass
class Child:
    """One subprocess (a worker, a notifier) and how to reach its web server.

    Attributes:
        ready_path: the page that answers 200 once the process is ready
            (``/readyz`` for a worker, ``/healthz`` for a notifier).
    """

    name: str
    env: dict[str, str]
    log_path: Path
    port: int
    argv: tuple[str, ...] = ()
    ready_path: str = "/readyz"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Child:
        """Start the process (its output goes to ``log_path``)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *self.argv],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        """GET a page of the child's web server; (0, b"") when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def wait_ready(self, timeout: float = 60) -> None:
        """Poll :attr:`ready_path` until it answers 200.

        Raises:
            ChildError: the process exited, or was not ready within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ChildError(f"{self.name} exited {self.process.returncode}:\n{self.log()}")
            status, _ = self.get(self.ready_path)
            if status == 200:
                return
            time.sleep(0.2)
        raise ChildError(f"{self.name} not ready in {timeout} s:\n{self.log()}")

    def readiness(self) -> dict[str, Any]:
        """The document at :attr:`ready_path` ({} when the child does not answer)."""
        _, body = self.get(self.ready_path)
        found: dict[str, Any] = json.loads(body) if body else {}
        return found

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """The tail of the child's output."""
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Send ``sig`` and wait for the exit; SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)
