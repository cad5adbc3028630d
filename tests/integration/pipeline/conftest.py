"""Helpers for the pipeline's integration tests: worker subprocesses, topic I/O, a rule book.

Workers run as real processes (``python -m wirewatch worker``), configured by
environment variables, each with its own web port; tests poll with deadlines
and every worker is killed in teardown.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from schemas import Alert, DeadLetter, Settings
from schemas.kafka import ensure_topics, make_consumer, make_producer, pipeline_topics
from streams.rulebook import RuleBook, RuleReport
from streams.rules import RuleSet
from tests.support.processes import ROOT, Child, wirewatch_argv
from tests.support.servers import free_port

WORKER_ARGV = wirewatch_argv("worker")
"""``wirewatch worker`` through the CLI's entry point, with this interpreter."""


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


def by_article(alerts: list[Alert]) -> dict[str, set[str]]:
    """Alert keys per article id of the alert's first evidence."""
    found: dict[str, set[str]] = {}
    for alert in alerts:
        found.setdefault(alert.evidence[0].article_id, set()).add(alert.key)
    return found


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> bool:
    """Poll ``condition()`` until it is true (True) or the deadline passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


class Pipeline:
    """Starts workers on one set of test topics and talks to those topics."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.rules_dir = tmp_path / "rules"
        self.rules_dir.mkdir()
        self.workers: list[Child] = []

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

    def worker(self, name: str, argv: tuple[str, ...] = WORKER_ARGV) -> Child:
        """Start a worker subprocess (``python <argv>``) with a web port of its own."""
        port = free_port()
        worker = Child(
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


class Following:
    """A rule book on the test's rules topic, and every rule set it installed."""

    def __init__(self, settings: Settings) -> None:
        self.installed: list[RuleSet] = []
        self.reports: list[RuleReport] = []
        self.changed = asyncio.Event()
        self.book = RuleBook(settings, on_install=self._installed, on_report=self._reported)

    def _installed(self, rules: RuleSet) -> None:
        self.installed.append(rules)

    def _reported(self, report: RuleReport) -> None:
        self.reports.append(report)
        self.changed.set()

    async def until(self, source: str, *packs: str) -> RuleReport:
        """Wait (under the caller's deadline) for a report from ``source`` of exactly ``packs``."""
        while True:
            last = self.reports[-1] if self.reports else {"source": None}
            if last["source"] == source and sorted(p["pack"] for p in last["packs"]) == sorted(
                packs
            ):
                return last
            self.changed.clear()
            await self.changed.wait()


@asynccontextmanager
async def following(settings: Settings) -> AsyncIterator[Following]:
    """Run a rule book following the rules topic until the block ends."""
    await ensure_topics(settings, pipeline_topics(settings))
    state = Following(settings)
    book = state.book
    task = asyncio.create_task(book.follow())
    try:
        yield state
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
