"""Delivering a rendered notification to a receiver's URLs: timeouts, retries, a circuit breaker.

apprise 2.x is relied on for one thing beyond sending: ``notify``
returns an ``AppriseResult`` whose ``results`` hold one ``NotifyResult`` per
URL, with the URL's secrets masked and the log lines of each attempt. One
:class:`apprise.Apprise` object is built per URL, so each URL is retried on
its own and a URL that succeeded is never sent to again for that
notification.

apprise does not expose HTTP responses: :mod:`alerts.apprise_hooks` records
the ones its plugin received during an attempt, so an HTTP 429 is known by its
status and a ``Retry-After`` (seconds or a date; Slack and webhooks send it) is
waited out, within the retry budget. A 429 without one waits at least
``notify_rate_limited_wait_s``. The same module puts the alert keys into each
notification (see :mod:`alerts.idempotency`).

``jsonl:///path/file.jsonl`` is a native receiver, not an apprise plugin: it
appends one JSON line per notification with the alert keys, which apprise's
notify() has no way to carry.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import apprise
import structlog

from alerts import apprise_hooks
from alerts.apprise_hooks import Reply
from alerts.metrics import NotifierMetrics
from alerts.receivers import Receiver
from alerts.templates import Rendered
from schemas import ConfigError, Settings

log = structlog.get_logger(__name__)

JSONL_SCHEME = "jsonl://"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one attempt to one URL."""

    ok: bool
    detail: str = ""
    rate_limited: bool = False
    retry_after: float | None = None


class Transport(Protocol):
    """Sends to one URL; ``label`` names it with its secrets masked."""

    label: str

    async def send(self, rendered: Rendered, receiver: str, keys: Sequence[str]) -> Attempt:
        """Make one attempt."""
        ...


class AppriseTransport:
    """One apprise URL, sent to with ``notify`` and read back from its ``AppriseResult``.

    apprise's own thread pools are sized by the CPU count (6 threads on 2
    cores) and its call deadline includes time queued there, so a hung
    webhook would starve the email. Instead apprise runs synchronously
    (``async_mode=False``, no service deadline) on the notifier's own pool,
    and each attempt is bounded by the URL's socket timeouts.
    """

    def __init__(self, url: str, timeout_s: float, executor: Executor) -> None:
        self._apprise = apprise.Apprise(
            asset=apprise.AppriseAsset(async_mode=False, service_timeout=0)
        )
        if not self._apprise.add(url):
            raise ConfigError(
                "a receiver URL is not a valid apprise URL (its scheme or required parts are "
                "wrong; see https://github.com/caronc/apprise/wiki)"
            )
        for server in self._apprise:
            server.socket_connect_timeout = timeout_s
            server.socket_read_timeout = timeout_s
            # apprise sleeps between two sends of one plugin object (5.5 s for
            # email, 1.2 s for Slack) inside notify(), holding a pool thread:
            # under load those sleeps filled the pool and stalled every other
            # receiver. Pacing is the receiver's `rate_limit` (floods become
            # digests) and 429s are waited out by Deliverer, so it is off.
            server.request_rate_per_sec = 0
            apprise_hooks.key_service(server)
        self.label = str(self._apprise[0].url(privacy=True))  # type: ignore[no-untyped-call]  # apprise is untyped here
        self._executor = executor

    async def send(self, rendered: Rendered, receiver: str, keys: Sequence[str]) -> Attempt:
        """Make one attempt on the notifier's thread pool."""
        notify = functools.partial(self._notify, rendered, keys)
        return await asyncio.get_running_loop().run_in_executor(self._executor, notify)

    def _notify(self, rendered: Rendered, keys: Sequence[str]) -> Attempt:
        with apprise_hooks.sending(keys) as current:
            result = self._apprise.notify(
                body=rendered.body, title=rendered.title, body_format=rendered.body_format
            )
        with result:
            return _attempt_from(result, current.replies)


def _attempt_from(result: Any, replies: Sequence[Reply]) -> Attempt:
    """Read one URL's outcome from an apprise 2.x ``AppriseResult`` and the HTTP replies."""
    if not result.results:
        return Attempt(ok=False, detail=f"apprise status {result.status.name}")
    service = result.results[0]
    if bool(service):
        return Attempt(ok=True)
    lines = [str(entry) for entry in service.logs()]
    text = " | ".join(line.split(" - ", 2)[-1] for line in lines[-3:])
    waits = [reply.retry_after_s for reply in replies if reply.retry_after_s is not None]
    return Attempt(
        ok=False,
        detail=f"{service.status.name.lower()}: {text}" if text else service.status.name.lower(),
        rate_limited=any(reply.status == 429 for reply in replies),
        retry_after=max(waits, default=None),
    )


class JsonlTransport:
    """Appends each notification as one JSON line to a local file (demo and tests)."""

    def __init__(self, url: str) -> None:
        self._path = Path(url[len(JSONL_SCHEME) :])
        if not self._path.is_absolute():
            raise ConfigError(
                f"{url!r}: write an absolute path, e.g. jsonl:///var/tmp/alerts.jsonl"
            )
        self.label = url

    async def send(self, rendered: Rendered, receiver: str, keys: Sequence[str]) -> Attempt:
        """Append the line; a file system error is a failed attempt."""
        line = json.dumps(
            {
                "alert_keys": list(keys),
                "receiver": receiver,
                "title": rendered.title,
                "body": rendered.body,
                "sent_at": time.time(),
            },
            ensure_ascii=False,
        )
        try:
            await asyncio.to_thread(_append, self._path, line)
        except OSError as exc:
            return Attempt(ok=False, detail=f"cannot append to {self._path}: {exc.strerror}")
        return Attempt(ok=True)


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()


def make_transport(url: str, timeout_s: float, executor: Executor) -> Transport:
    """Return the transport for ``url``: native for ``jsonl://``, apprise for the rest."""
    if url.startswith(JSONL_SCHEME):
        return JsonlTransport(url)
    return AppriseTransport(url, timeout_s, executor)


def build_transports(
    settings: Settings, receivers: Mapping[str, Receiver], executor: Executor
) -> dict[str, list[Transport]]:
    """Return the transports of every receiver, one per URL, sending on ``executor``.

    Raises:
        ConfigError: a URL is not usable (the message never contains the URL).
    """
    transports: dict[str, list[Transport]] = {}
    for name, receiver in receivers.items():
        transports[name] = []
        for number, url in enumerate(receiver.urls, start=1):
            try:
                transport = make_transport(
                    url.get_secret_value(), settings.notify_timeout_s, executor
                )
            except ConfigError as exc:
                raise ConfigError(f"receiver {name!r}, URL {number}: {exc}") from None
            transports[name].append(transport)
    return transports


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one trial through after ``reset_s``."""

    def __init__(self, threshold: int, reset_s: float) -> None:
        self._threshold = threshold
        self._reset_s = reset_s
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        """True while the circuit refuses attempts (until its reset time)."""
        return self._opened_at is not None

    def wait_s(self, now: float) -> float:
        """Seconds until an attempt is allowed (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._reset_s - now)

    def success(self) -> None:
        """Close the circuit."""
        self._failures = 0
        self._opened_at = None

    def failure(self, now: float) -> None:
        """Count a failure; open (or re-open after a failed trial) at the threshold."""
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = now


@dataclass(frozen=True)
class Outcome:
    """The result of delivering one notification to one receiver after all retries."""

    ok: bool
    attempts: int
    detail: str = ""


class Deliverer:
    """Sends rendered notifications to receivers, retrying within the budget."""

    def __init__(
        self,
        settings: Settings,
        transports: Mapping[str, Sequence[Transport]],
        metrics: NotifierMetrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._transports = transports
        self._breakers = {
            name: CircuitBreaker(settings.circuit_failures, settings.circuit_reset_s)
            for name in transports
        }

    def use(self, transports: Mapping[str, Sequence[Transport]]) -> None:
        """Send through ``transports`` from now on (reloaded receivers).

        A receiver no longer configured keeps its transports, so a notification
        already grouped for it still goes out.
        """
        self._transports = {**self._transports, **transports}
        for name in transports:
            self._breakers.setdefault(
                name,
                CircuitBreaker(self._settings.circuit_failures, self._settings.circuit_reset_s),
            )

    def breaker(self, receiver: str) -> CircuitBreaker:
        """The circuit breaker of ``receiver``."""
        return self._breakers[receiver]

    async def deliver(self, receiver: str, rendered: Rendered, keys: Sequence[str]) -> Outcome:
        """Send to every URL of ``receiver``; succeed when all URLs have accepted it."""
        outcomes = await asyncio.gather(
            *(self._deliver_one(receiver, t, rendered, keys) for t in self._transports[receiver])
        )
        failed = [outcome.detail for outcome in outcomes if not outcome.ok]
        return Outcome(
            ok=not failed,
            attempts=max(outcome.attempts for outcome in outcomes),
            detail="; ".join(failed),
        )

    def backoff_s(self, attempt: int, result: Attempt) -> float:
        """Delay before the next attempt: exponential with jitter, and at least the
        receiver's ``Retry-After`` (or, after a 429 without one, the rate-limited wait)."""
        settings = self._settings
        base: float = min(
            settings.notify_backoff_max_s, settings.notify_backoff_s * 2.0 ** (attempt - 1)
        )
        delay = base * (0.5 + self._jitter())
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        elif result.rate_limited:
            delay = max(delay, settings.notify_rate_limited_wait_s)
        return delay

    async def _deliver_one(
        self, receiver: str, transport: Transport, rendered: Rendered, keys: Sequence[str]
    ) -> Outcome:
        settings = self._settings
        breaker = self._breakers[receiver]
        started = self._clock()
        attempts = 0
        detail = ""
        while attempts < settings.notify_max_attempts:
            wait = breaker.wait_s(self._clock())
            if wait > 0:
                if self._clock() + wait - started > settings.notify_retry_budget_s:
                    detail = f"{transport.label}: circuit open; {detail}"
                    break
                await self._sleep(wait)
            attempts += 1
            try:
                result = await transport.send(rendered, receiver, keys)
            except Exception as exc:  # a plugin bug must not kill the notifier
                result = Attempt(ok=False, detail=f"{type(exc).__name__}: {exc}")
            if result.ok:
                breaker.success()
                return Outcome(ok=True, attempts=attempts)
            breaker.failure(self._clock())
            detail = f"{transport.label}: {result.detail}"
            log.warning(
                "delivery_attempt_failed",
                receiver=receiver,
                url=transport.label,
                attempt=attempts,
                detail=result.detail,
                rate_limited=result.rate_limited,
                retry_after=result.retry_after,
            )
            if attempts >= settings.notify_max_attempts:
                break
            delay = self.backoff_s(attempts, result)
            if self._clock() + delay - started > settings.notify_retry_budget_s:
                # Retrying sooner than the receiver asked would only be refused again.
                if result.retry_after is not None:
                    detail += (
                        f" (it asked to retry after {result.retry_after:g} s, beyond the retry "
                        f"budget of {settings.notify_retry_budget_s:g} s)"
                    )
                break
            self._metrics.retried.labels(receiver=receiver).inc()
            await self._sleep(delay)
        return Outcome(ok=False, attempts=attempts, detail=f"after {attempts} attempts: {detail}")
