"""Fixtures and helpers for the alerting integration tests.

- ``smtp_server`` and ``webhook``: the loopback receivers of :mod:`tests.support.servers`.
- ``running_notifier``: runs :class:`alerts.notifier.Notifier` in-process until the
  block ends; :func:`tests.support.processes.settings_env` builds the environment
  of a ``wirewatch notifier`` subprocess for the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.notifier import Notifier
from alerts.receivers import resolve_receivers
from alerts.routing import load_routes
from schemas import Alert, Settings
from schemas.kafka import encode, ensure_topics, make_producer, pipeline_topics
from tests.support.servers import (
    SmtpServer,
    Webhook,
    free_port,
    serve_smtp,
    serve_webhook,
)


async def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or predicate}")
        await asyncio.sleep(0.05)


# --- Receivers -------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on loopback, in its own thread."""
    with serve_smtp() as server:
        yield server


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """An aiohttp server on loopback taking POSTs on any path."""
    async with serve_webhook() as hook:
        yield hook


# --- Notifier --------------------------------------------------------------

FAST = {
    "notify_timeout_s": 1.0,
    "notify_backoff_s": 0.05,
    "notify_backoff_max_s": 0.4,
    "notify_rate_limited_wait_s": 0.3,
    "notify_max_attempts": 30,
    "notify_retry_budget_s": 60.0,
    "circuit_failures": 4,
    "circuit_reset_s": 0.5,
    "send_timeout_s": 10.0,
}


def write_routes(path: Path, receivers: dict[str, dict[str, Any]], route: dict[str, Any]) -> Path:
    """Write a routes file and return its path."""
    path.write_text(yaml.safe_dump({"receivers": receivers, "route": route}))
    return path


def notifier_settings(
    base: Settings, routes: Path, receivers: dict[str, list[str]], **overrides: Any
) -> Settings:
    """Settings for a notifier on the test's topics, with fast retry timings."""
    values = {
        **base.model_dump(),
        **FAST,
        "routes_path": routes,
        "receivers": receivers,
        "notifier_web_port": free_port(),
        # A group of the test's own: other test runs on the same broker would join
        # the default group and take its partitions mid-test.
        "notifier_group": f"{base.topic_prefix}notifier",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def produce(settings: Settings, alerts: list[Alert]) -> None:
    """Write alerts to the alerts topic, keyed by story, and wait for every acknowledgement."""
    await ensure_topics(settings, pipeline_topics(settings))
    producer = make_producer(settings, "test-alerts")
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.alerts, encode(a), key=a.story_id.encode())
            for a in alerts
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running_notifier(settings: Settings) -> AsyncIterator[Notifier]:
    """Run a notifier in this process until the block ends, then stop it cleanly."""
    routes = load_routes(settings.routes_path)
    notifier = Notifier(settings, routes, resolve_receivers(settings, routes.receivers))
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.run(stop))
    await wait_until(lambda: notifier.health()["ok"] or task.done(), 30, "the notifier to start")
    if task.done():
        task.result()
    try:
        yield notifier
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def counter(notifier: Notifier, name: str, **labels: str) -> float:
    """Read one sample of the notifier's metrics (0 when absent)."""
    value = notifier.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0
