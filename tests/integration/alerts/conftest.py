"""Loopback servers and helpers for the alerting integration tests.

- ``smtp_server``: an aiosmtpd SMTP server on 127.0.0.1 collecting messages.
- ``webhook``: an aiohttp server on 127.0.0.1 whose paths can be scripted to
  fail (500), rate-limit (429 + Retry-After) or hang before they accept.
- ``run_notifier``: runs :class:`alerts.notifier.Notifier` in-process until the
  test ends; ``notifier_env`` builds the environment of a ``wirewatch notifier``
  subprocess for the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller

from alerts.notifier import Notifier
from alerts.receivers import resolve_receivers
from alerts.routing import load_routes
from schemas import Alert, Settings
from schemas.kafka import encode, ensure_topics, make_producer, pipeline_topics


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or predicate}")
        await asyncio.sleep(0.05)


# --- SMTP ------------------------------------------------------------------


class _Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class SmtpServer:
    """A running SMTP server: its port and the messages it received."""

    port: int
    handler: _Collect

    @property
    def messages(self) -> list[email.message.Message]:
        return self.handler.messages

    def url(self) -> str:
        """The apprise URL reaching this server without TLS or AUTH."""
        return (
            f"mailto://127.0.0.1:{self.port}?from=wirewatch@example.org"
            "&to=desk@example.org&mode=insecure"
        )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on loopback, in its own thread."""
    handler = _Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, handler)
    finally:
        controller.stop()


# --- Webhook ---------------------------------------------------------------


@dataclass
class Behaviour:
    """How a webhook path answers one request: status, Retry-After, or hang for seconds."""

    status: int = 200
    retry_after: str | None = None
    hang_s: float = 0.0


@dataclass
class Webhook:
    """A running webhook server: accepted payloads per path, and scripts of behaviours."""

    port: int
    accepted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    scripts: dict[str, list[Behaviour]] = field(default_factory=dict)
    accepted_at: list[float] = field(default_factory=list)

    def url(self, path: str, user: str = "", slack: bool = False) -> str:
        """A ``json://`` URL to ``path``; ``slack`` remaps the payload to Slack's ``{"text": ...}``."""
        auth = f"{user}@" if user else ""
        query = "?:message=text&:title=&:version=&:attachments=&:type=" if slack else ""
        return f"json://{auth}127.0.0.1:{self.port}/{path}{query}"

    def script(self, path: str, *behaviours: Behaviour) -> None:
        """Answer the next requests to ``path`` with ``behaviours``, then 200."""
        self.scripts[path] = list(behaviours)

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        payload = await request.json()
        self.requests[path] = self.requests.get(path, 0) + 1
        script = self.scripts.get(path) or []
        behaviour = script.pop(0) if script else Behaviour()
        if behaviour.hang_s:
            await asyncio.sleep(behaviour.hang_s)
            return web.Response(status=504)
        if behaviour.status >= 300:
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            return web.Response(status=behaviour.status, headers=headers)
        self.accepted.setdefault(path, []).append(payload)
        self.accepted_at.append(time.time())
        return web.Response(text="ok")


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """An aiohttp server on loopback taking POSTs on any path."""
    hook = Webhook(free_port())
    app = web.Application()
    app.router.add_post("/{path}", hook.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    try:
        yield hook
    finally:
        await runner.cleanup()


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
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def notifier_env(settings: Settings) -> dict[str, str]:
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
