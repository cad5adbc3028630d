"""Helpers for the accounts and audit tests: the CLI as a subprocess, raw topic reads, dashboards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiokafka import TopicPartition

from schemas import Settings
from schemas.kafka import make_consumer
from tests.support.processes import ROOT, wirewatch_argv
from tests.support.servers import free_port
from wirewatch.dashboard.server import serve

PASSWORD = "marigold-quay-5521"


def cli(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``wirewatch ARGS`` on the test's topics; stdout and stderr are captured as text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        WIREWATCH_KAFKA_BOOTSTRAP=settings.bootstrap_servers,
        WIREWATCH_TOPIC_PREFIX=settings.topic_prefix,
        WIREWATCH_PARTITIONS=str(settings.partitions),
        WIREWATCH_LOG_FORMAT="json",
    )
    command, *rest = args
    return subprocess.run(
        [sys.executable, *wirewatch_argv(command), *rest],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


async def raw_values(settings: Settings, topic: str) -> bytes:
    """Every value on ``topic`` (one partition) from its beginning, concatenated."""
    consumer = make_consumer(settings, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(r.value or b"" for r in records)
        return b"\n".join(values)
    finally:
        await consumer.stop()


@dataclass
class Dashboard:
    """A dashboard served in this process, and its address."""

    port: int
    task: asyncio.Task[None]

    def url(self, path: str) -> str:
        """An address on this dashboard."""
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def dashboards(settings: Settings, count: int) -> AsyncIterator[list[Dashboard]]:
    """``count`` dashboards on the same topics and session key, each ready; stopped afterwards."""
    stop = asyncio.Event()
    started = []
    for _ in range(count):
        port = free_port()
        task = asyncio.create_task(
            serve(settings.model_copy(update={"dashboard_port": port}), stop)
        )
        started.append(Dashboard(port, task))
    try:
        async with aiohttp.ClientSession() as http:
            for dashboard in started:
                await until(lambda d=dashboard: _ready(http, d), what=f"dashboard {dashboard.port}")
        yield started
    finally:
        stop.set()
        await asyncio.gather(*(d.task for d in started))


async def _ready(http: aiohttp.ClientSession, dashboard: Dashboard) -> bool:
    if dashboard.task.done():
        dashboard.task.result()
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(dashboard.url("/readyz")) as response:
            return response.status == 200
    return False


async def until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = ""
) -> None:
    """Await ``check()`` until it is true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.1)


class Browser:
    """An HTTP client with a cookie jar that signs in as the page does (CSRF token included)."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def csrf(self) -> dict[str, str]:
        """The CSRF header from the readable cookie (cookies ignore ports: one jar for all)."""
        for cookie in self.http.cookie_jar:
            if cookie.key == "wirewatch_csrf":
                return {"X-CSRF-Token": cookie.value}
        return {}

    async def sign_in(self, dashboard: Dashboard, user: str, password: str = PASSWORD) -> int:
        """Open the sign-in page and post the form; return the status."""
        async with self.http.get(dashboard.url("/signin")):
            pass
        async with self.http.post(
            dashboard.url("/api/signin"),
            json={"user": user, "password": password},
            headers=self.csrf(),
        ) as response:
            return response.status

    async def status(self, dashboard: Dashboard, path: str = "/api/status") -> int:
        """GET ``path`` with this browser's cookies; return the status."""
        async with self.http.get(dashboard.url(path)) as response:
            return response.status

    async def close(self) -> None:
        """Close the client."""
        await self.http.close()
