"""A real single-node Apache Kafka broker (KRaft) on 127.0.0.1, without Docker.

The official broker jars are resolved from Maven Central with Maven (the pom
beside this file), cached under ``local_broker_home/lib-<version>`` outside
the repository, and run with the machine's Java 17+. Start, stop and status
are idempotent. When ``WIREWATCH_KAFKA_BOOTSTRAP`` names a cluster, nothing is
started: that cluster is used.

Run directly as ``python -m wirewatch.broker start|stop|status`` or through
``wirewatch broker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import structlog

from schemas import BrokerError, Settings

log = structlog.get_logger(__name__)

POM = "broker_pom.xml"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
# The official Kafka class names; the same on 3.9 and 4.x.
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


@dataclass(frozen=True)
class BrokerStatus:
    """What is true about the local broker right now."""

    running: bool
    answering: bool
    pid: int | None
    bootstrap: str
    version: str
    home: Path

    def describe(self) -> str:
        """One line for a person."""
        if self.running and self.answering:
            return f"Kafka {self.version} running (pid {self.pid}) on {self.bootstrap}; home {self.home}"
        if self.running:
            return f"Kafka {self.version} process {self.pid} is up but not answering on {self.bootstrap}"
        return f"local Kafka broker stopped (would listen on {self.bootstrap}; home {self.home})"


def kafka_version() -> str:
    """Return the Kafka version pinned in the pom."""
    text = resources.files("wirewatch").joinpath(POM).read_text(encoding="utf-8")
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", text)
    if not match:
        raise BrokerError(f"no <kafka.version> in wirewatch/{POM}")
    return match.group(1)


class LocalBroker:
    """Controls the local development broker described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = kafka_version()
        self.home = settings.local_broker_home.expanduser()
        self.lib = self.home / f"lib-{self.version}"
        self.data = self.home / "data"
        self.pid_file = self.home / "broker.pid"
        self.log_file = self.home / "broker.log"
        self.bootstrap = f"127.0.0.1:{settings.local_broker_port}"

    # -- jars ------------------------------------------------------------------
    def ensure_jars(self) -> float:
        """Resolve the broker jars with Maven unless cached; return seconds spent."""
        if (self.lib / ".complete").exists():
            return 0.0
        for tool in ("mvn", "java"):
            if shutil.which(tool) is None:
                raise BrokerError(
                    f"`{tool}` is not on PATH. The local broker needs Java 17+ and Maven; "
                    "install them, or point WIREWATCH_KAFKA_BOOTSTRAP at a running cluster."
                )
        began = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="lib-", dir=self.home))
        with tempfile.TemporaryDirectory() as pom_dir:
            pom = Path(pom_dir) / "pom.xml"
            pom.write_text(resources.files("wirewatch").joinpath(POM).read_text(encoding="utf-8"))
            print(
                f"Resolving Apache Kafka {self.version} jars from Maven Central...", file=sys.stderr
            )
            result = subprocess.run(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-f",
                    str(pom),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staging}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BrokerError(f"Maven could not resolve the Kafka jars:\n{tail}")
        (staging / ".complete").write_text(self.version)
        shutil.rmtree(self.lib, ignore_errors=True)
        staging.rename(self.lib)  # atomic: a half-filled lib/ is never used
        return time.monotonic() - began

    # -- process ---------------------------------------------------------------
    def pid(self) -> int | None:
        """Return the pid of our running broker, or None.

        The pid file alone is not trusted (pids are reused): the process must
        be a java running this home's server.properties.
        """
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if (
            str(self.home / "server.properties").encode() in cmdline
            and BROKER_MAIN.encode() in cmdline
        ):
            return pid
        return None

    def status(self) -> BrokerStatus:
        """Return whether the broker runs and answers metadata requests."""
        pid = self.pid()
        answering = pid is not None and _answers(self.bootstrap, timeout_s=5.0)
        return BrokerStatus(
            pid is not None, answering, pid, self.bootstrap, self.version, self.home
        )

    def start(self, *, fresh: bool = False) -> float:
        """Start the broker unless it runs; wait until it answers. Return seconds taken.

        Args:
            fresh: wipe the data directory first (topics and offsets are lost).

        Raises:
            BrokerError: Java or Maven missing, the port taken, or no answer in time.
        """
        began = time.monotonic()
        if self.pid() is not None:
            if fresh:
                self.stop()
            else:
                self._wait_ready(began)
                return time.monotonic() - began
        if _port_open(self.settings.local_broker_port):
            raise BrokerError(
                f"port {self.settings.local_broker_port} on 127.0.0.1 is taken by another process. "
                "Stop it, or set WIREWATCH_LOCAL_BROKER_PORT, or WIREWATCH_KAFKA_BOOTSTRAP to use it."
            )
        self.ensure_jars()
        if fresh:
            shutil.rmtree(self.data, ignore_errors=True)
        self._write_config()
        if not (self.data / "meta.properties").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._java(
                STORAGE_TOOL,
                "format",
                # One argument: a url-safe id may start with '-' (1 in 64), which
                # the tool's parser would take for an option after a bare -t.
                f"--cluster-id={_cluster_id()}",
                "-c",
                str(self.home / "server.properties"),
            )
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                self._java_argv(BROKER_MAIN, str(self.home / "server.properties")),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the CLI; stopped by pid, never orphaned silently
            )
        self.pid_file.write_text(str(process.pid))
        try:
            self._wait_ready(began, process)
        except BrokerError:
            self.stop()
            raise
        return time.monotonic() - began

    def stop(self) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after 30 s). Return True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            log.warning(
                "broker_kill", pid=pid, reason=f"still running {STOP_TIMEOUT_S:g} s after SIGTERM"
            )
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    # -- internals -------------------------------------------------------------
    def _wait_ready(self, began: float, process: subprocess.Popen[bytes] | None = None) -> None:
        while time.monotonic() - began < START_TIMEOUT_S:
            if process is not None and process.poll() is not None:
                raise BrokerError(
                    f"the Kafka broker exited with code {process.returncode} while starting.\n"
                    f"{_tail(self.log_file)}\nFull log: {self.log_file}"
                )
            if _answers(self.bootstrap, timeout_s=2.0):
                return
            time.sleep(0.25)
        raise BrokerError(
            f"the Kafka broker did not answer on {self.bootstrap} within {START_TIMEOUT_S:g} s.\n"
            f"{_tail(self.log_file)}\nFull log: {self.log_file}"
        )

    def _java_argv(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.settings.local_broker_heap}",
            f"-Xms{self.settings.local_broker_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.lib}/*",  # java expands the *, not the shell
            main,
            *args,
        ]

    def _java(self, main: str, *args: str) -> None:
        result = subprocess.run(
            self._java_argv(main, *args), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BrokerError(
                f"{main} {' '.join(args[:1])} failed:\n{(result.stdout + result.stderr)[-2000:]}"
            )

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        port = self.settings.local_broker_port
        controller = self.settings.local_controller_port
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Tests and the demo create consumer groups all the time; waiting 3 s for
            # more members to join each time would dominate their run time.
            "group.initial.rebalance.delay.ms": "0",
            # The default 128 MiB is allocated at start; 8 MiB is plenty for a dev node.
            "log.cleaner.dedupe.buffer.size": "8388608",
            "log.cleaner.enable": "true",
            "auto.create.topics.enable": "false",
            "log.segment.bytes": "67108864",
            "log.retention.hours": "168",
        }
        (self.home / "server.properties").write_text(
            "".join(f"{key}={value}\n" for key, value in properties.items())
        )
        # Kafka's own logs go to stderr, which is redirected to broker.log.
        (self.home / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.console.type = Console\n"
            "appender.console.name = STDERR\n"
            "appender.console.target = SYSTEM_ERR\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.console.ref = STDERR\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = WARN\n"
            "logger.apache.name = org.apache.kafka\nlogger.apache.level = WARN\n"
            "logger.started.name = kafka.server.KafkaRaftServer\nlogger.started.level = INFO\n"
        )


def _cluster_id() -> str:
    # What `kafka-storage.sh random-uuid` prints: a url-safe base64 UUID without padding.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (our own exited child) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(bootstrap: str, timeout_s: float) -> bool:
    """True when the broker answers a metadata request (not just an open port)."""
    import logging

    from aiokafka import AIOKafkaClient

    async def probe() -> bool:
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
        )
        try:
            await asyncio.wait_for(client.bootstrap(), timeout_s)
            return bool(client.cluster.brokers())
        except Exception:  # any failure means "not ready yet"
            return False
        finally:
            await client.close()

    # aiokafka logs every refused connection at ERROR; while waiting for a
    # broker to come up those are expected, not errors.
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(probe())
    finally:
        aiokafka_log.setLevel(level)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no broker log)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m wirewatch.broker``: the same as ``wirewatch broker``."""
    from wirewatch.cli import main as cli_main

    return cli_main(["broker", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
