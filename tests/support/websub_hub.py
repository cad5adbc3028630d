"""A WebSub hub on loopback, in a thread: it takes subscriptions, verifies intent, and pushes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.support.servers import free_port


@dataclass
class Subscription:
    """One subscription the hub accepted, and whether the subscriber confirmed it."""

    topic: str
    callback: str
    secret: str
    lease_s: int
    verified: bool = False


@dataclass
class Hub:
    """The running hub: its subscriptions, and :meth:`push` to send content to them."""

    port: int
    loop: asyncio.AbstractEventLoop
    subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def subscribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("hub.mode") != "subscribe":
            return web.Response(status=400)
        sub = Subscription(
            topic=str(form["hub.topic"]),
            callback=str(form["hub.callback"]),
            secret=str(form.get("hub.secret", "")),
            lease_s=int(str(form.get("hub.lease_seconds", "3600"))),
        )
        self.subscriptions.append(sub)
        asyncio.get_running_loop().create_task(self._verify(sub))
        return web.Response(status=202)

    async def _verify(self, sub: Subscription) -> None:
        challenge = secrets.token_hex(8)
        query = urllib.parse.urlencode(
            {
                "hub.mode": "subscribe",
                "hub.topic": sub.topic,
                "hub.challenge": challenge,
                "hub.lease_seconds": str(sub.lease_s),
            }
        )
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sub.callback}?{query}") as answer,
        ):
            sub.verified = answer.status == 200 and await answer.text() == challenge

    def push(self, body: bytes, *, forge: bool = False, topic: str | None = None) -> int:
        """POST ``body`` to every verified subscriber (of ``topic``), signed or ``forge``d; the last status."""

        async def send() -> int:
            status = 0
            async with aiohttp.ClientSession() as session:
                for sub in self.subscriptions:
                    if not sub.verified or (topic is not None and sub.topic != topic):
                        continue
                    key = b"not-the-secret" if forge else sub.secret.encode()
                    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
                    headers = {
                        "Content-Type": "application/rss+xml",
                        "X-Hub-Signature": f"sha256={signature}",
                    }
                    async with session.post(sub.callback, data=body, headers=headers) as answer:
                        status = answer.status
            return status

        return asyncio.run_coroutine_threadsafe(send(), self.loop).result(30)


@contextlib.contextmanager
def hub_in_thread() -> Iterator[Hub]:
    """Run a hub on 127.0.0.1 in its own thread until the block ends."""
    loop = asyncio.new_event_loop()
    hub = Hub(free_port(), loop)
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/", hub.subscribe)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", hub.port).start()
        started.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the hub did not start within 10 s")
    try:
        yield hub
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
