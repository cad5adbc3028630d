"""Loopback receivers: an aiosmtpd SMTP server and a scriptable aiohttp webhook.

- :func:`serve_smtp`: an SMTP server on 127.0.0.1 collecting messages, in its own thread.
- :func:`serve_webhook`: an aiohttp server on 127.0.0.1, on the running event loop,
  whose paths can be scripted to fail (500), rate-limit (429 + Retry-After) or
  hang before they accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

_PORTS = range(20_000, 32_000)
"""Below Linux's ephemeral range (32768 and up), where outgoing connections take their ports."""
_handed_out: set[int] = set()


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now, and never returned before by this process.

    A port is bound by its user some time after this call. Asking the kernel
    for any free port (binding port 0) could give the same one to two callers
    in that time, or to an outgoing connection: a notifier and a worker of the
    chaos harness were given the same port that way. So ports come from below
    the ephemeral range, from a random starting point (other processes on the
    machine run these tests too), and each is handed out once.
    """
    start = random.randrange(len(_PORTS))
    for step in range(len(_PORTS)):
        port = _PORTS[(start + step) % len(_PORTS)]
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {_PORTS}")


# --- SMTP ------------------------------------------------------------------


class Collector:
    """The aiosmtpd handler: keeps every message and its arrival time."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.received_at: list[float] = []

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        self.received_at.append(time.time())
        return "250 OK"


@dataclass
class SmtpServer:
    """A running SMTP server: its port, the messages it received and when (epoch seconds)."""

    port: int
    handler: Collector

    @property
    def messages(self) -> list[email.message.Message]:
        return self.handler.messages

    @property
    def received_at(self) -> list[float]:
        """Arrival time of each message, in the order of :attr:`messages`."""
        return self.handler.received_at

    def url(self) -> str:
        """The apprise URL reaching this server without TLS or AUTH."""
        return (
            f"mailto://127.0.0.1:{self.port}?from=wirewatch@example.org"
            "&to=desk@example.org&mode=insecure"
        )


@contextlib.contextmanager
def serve_smtp() -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on loopback, in its own thread, until the block ends."""
    handler = Collector()
    port = free_port()
    # aiosmtpd logs every connection at INFO from its own thread, also while
    # stopping, when pytest may have closed the captured stream: noise in CI logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, handler)
    finally:
        controller.stop()


# --- Webhook ---------------------------------------------------------------


@dataclass
class Behaviour:
    """How a webhook path answers one request: status, Retry-After, or hang for seconds.

    With ``hang_s`` and ``kept``, the payload is accepted before the hang: the
    receiver got the notification, the sender never hears so.
    """

    status: int = 200
    retry_after: str | None = None
    hang_s: float = 0.0
    kept: bool = False


@dataclass
class Webhook:
    """A running webhook server: accepted payloads (and their headers) per path, and scripts of
    behaviours. A path may have several segments (`slack/T1/B1/C1`)."""

    port: int
    accepted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    accepted_headers: dict[str, list[dict[str, str]]] = field(default_factory=dict)
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
            if behaviour.kept:
                self._accept(path, payload, request)
            await asyncio.sleep(behaviour.hang_s)
            return web.Response(status=504)
        if behaviour.status >= 300:
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            return web.Response(status=behaviour.status, headers=headers)
        self._accept(path, payload, request)
        return web.Response(text="ok")

    def _accept(self, path: str, payload: dict[str, Any], request: web.Request) -> None:
        self.accepted.setdefault(path, []).append(payload)
        self.accepted_headers.setdefault(path, []).append(dict(request.headers))
        self.accepted_at.append(time.time())


@contextlib.asynccontextmanager
async def serve_webhook() -> AsyncIterator[Webhook]:
    """Run an aiohttp server on loopback, taking POSTs on any path, until the block ends."""
    hook = Webhook(free_port())
    app = web.Application()
    app.router.add_post("/{path:.+}", hook.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    try:
        yield hook
    finally:
        await runner.cleanup()
