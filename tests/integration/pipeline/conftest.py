"""Helpers for the pipeline's integration tests: worker subprocesses and topic I/O.

Workers run as real processes (``python -m wirewatch worker``), configured by
environment variables, each with its own web port; tests poll with deadlines
and every worker is killed in teardown.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from schemas import Alert, DeadLetter, Settings
from schemas.kafka import make_consumer, make_producer

ROOT = Path(__file__).resolve().parents[3]
WORKER_ARGV = ("-c", "import sys; from wirewatch.cli import main; sys.exit(main())", "worker")
"""``wirewatch worker`` through the CLI's entry point, with this interpreter."""


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pack_text(*rules: dict[str, Any]) -> str:
    """Return a rule pack as YAML-compatible JSON text."""
    return json.dumps({"rules": list(rules)})


def keyword_rule(rule_id: str, query: str, **alert: Any) -> dict[str, Any]:
    """Return a small rule matching ``query``, with an optional alert policy."""
    rule: dict[str, Any] = {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "category": "test",
        "severity": "high",
        "query": query,
    }
    if alert:
        rule["alert"] = alert
    return rule


def article(article_id: str, title: str, body: str, source: str = "example.org") -> dict[str, Any]:
    """Return a raw article record, as a producer in any language would write it."""
    return {"id": article_id, "source": source, "title": title, "body": body}


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> bool:
    """Poll ``condition()`` until it is true (True) or the deadline passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@dataclass
class Worker:
    """One worker subprocess and how to reach it."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int
    argv: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Worker:
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
        """GET a page of the worker's web server; (0, b"") when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def wait_ready(self, timeout: float = 60) -> None:
        """Poll /readyz until it says ready; fail with the worker's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.name} exited {self.process.returncode}:\n{self.log()}")
            status, _ = self.get("/readyz")
            if status == 200:
                return
            time.sleep(0.2)
        pytest.fail(f"worker {self.name} not ready in {timeout} s:\n{self.log()}")

    def readiness(self) -> dict[str, Any]:
        """The /readyz document ({} when the worker does not answer)."""
        _, body = self.get("/readyz")
        found: dict[str, Any] = json.loads(body) if body else {}
        return found

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """The tail of the worker's output."""
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


class Pipeline:
    """Starts workers on one set of test topics and talks to those topics."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.rules_dir = tmp_path / "rules"
        self.rules_dir.mkdir()
        self.workers: list[Worker] = []

    def write_pack(self, text: str, name: str = "test") -> Path:
        """Write a rule pack into the rules directory the workers start from."""
        path = self.rules_dir / f"{name}.yaml"
        path.write_text(text)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a worker or CLI on these topics."""
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        env.update(
            WIREWATCH_KAFKA_BOOTSTRAP=s.bootstrap_servers,
            WIREWATCH_TOPIC_PREFIX=s.topic_prefix,
            WIREWATCH_PARTITIONS=str(s.partitions),
            WIREWATCH_RULES_PATH=str(self.rules_dir),
            WIREWATCH_GAZETTEER_PATH=str(ROOT / "seeds" / "entities"),
            WIREWATCH_PIPELINE_COMMIT_INTERVAL_S="0.2",
            WIREWATCH_PIPELINE_SESSION_TIMEOUT_S="6",
            WIREWATCH_LOG_FORMAT="json",
            WIREWATCH_LOG_LEVEL="INFO",
        )
        env.update(extra)
        return env

    def worker(self, name: str, argv: tuple[str, ...] = WORKER_ARGV) -> Worker:
        """Start a worker subprocess (``python <argv>``) with a web port of its own."""
        port = free_port()
        worker = Worker(
            name,
            self.env(WIREWATCH_WORKER_WEB_PORT=str(port)),
            self.tmp_path / f"{name}.log",
            port,
            argv,
        ).start()
        self.workers.append(worker)
        return worker

    def produce(
        self,
        records: Sequence[bytes | Mapping[str, Any]],
        key: Callable[[int], bytes | None] | None = None,
    ) -> None:
        """Send raw records (dicts are JSON-encoded) to the articles topic, keyed by id."""

        async def run() -> None:
            producer = make_producer(self.settings)
            await producer.start()
            try:
                for n, record in enumerate(records):
                    if isinstance(record, Mapping):
                        value = json.dumps(record).encode()
                        record_key = str(record.get("id", n)).encode()
                    else:
                        value, record_key = record, f"raw-{n}".encode()
                    if key is not None:
                        record_key = key(n) or record_key
                    await producer.send_and_wait(
                        self.settings.topics.articles, value, key=record_key
                    )
            finally:
                await producer.stop()

        asyncio.run(run())

    def read(
        self, topic: str, until: Callable[[list[bytes]], bool], timeout: float = 30
    ) -> list[bytes]:
        """Read ``topic`` from the start until ``until(values)`` holds; fail at the deadline."""

        async def run() -> list[bytes]:
            consumer = make_consumer(self.settings, group_id=None)
            await consumer.start()
            values: list[bytes] = []
            try:
                cluster = await consumer._client.fetch_all_metadata()
                partitions = cluster.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in partitions]
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    batches = await consumer.getmany(timeout_ms=200)
                    values.extend(r.value for rs in batches.values() for r in rs)
                    if until(values):
                        return values
            finally:
                await consumer.stop()
            logs = "\n".join(f"--- {w.name}\n{w.log()}" for w in self.workers)
            pytest.fail(
                f"{topic}: condition not met in {timeout} s; got {len(values)} records\n{logs}"
            )

        return asyncio.run(run())

    def alerts(self, until: Callable[[list[Alert]], bool], timeout: float = 30) -> list[Alert]:
        """Read alerts until ``until(alerts)`` holds."""
        values = self.read(
            self.settings.topics.alerts,
            lambda raw: until([Alert.model_validate_json(v) for v in raw]),
            timeout,
        )
        return [Alert.model_validate_json(v) for v in values]

    def dead_letters(
        self, until: Callable[[list[DeadLetter]], bool], timeout: float = 30
    ) -> list[DeadLetter]:
        """Read dead letters until ``until(letters)`` holds."""
        values = self.read(
            self.settings.topics.articles_dlq,
            lambda raw: until([DeadLetter.model_validate_json(v) for v in raw]),
            timeout,
        )
        return [DeadLetter.model_validate_json(v) for v in values]

    def close(self) -> None:
        """Kill every worker still running."""
        for worker in self.workers:
            worker.stop(signal.SIGKILL)


@pytest.fixture
def pipeline(kafka_settings: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline on this test's own topics; its workers are killed afterwards."""
    pipe = Pipeline(kafka_settings, tmp_path)
    yield pipe
    pipe.close()
