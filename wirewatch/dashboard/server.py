"""Running the dashboard: follow the topics into the view model and serve the page.

Every topic is followed outside any consumer group (like a worker's rules
follower), so the dashboard takes nothing from the workers or the notifier:

- ``alerts``, ``detections``, ``articles.dlq``, ``alerts.dlq``: from
  ``dashboard_window_s`` ago, then live;
- ``silences``, ``users``: from the beginning (compacted: every record's latest version);
- ``fetch.state``: from the beginning (compacted: every source's latest state);
- ``audit``: from the beginning, the newest events kept;
- the workers' stories topic: from ``dashboard_window_s`` ago, for why each
  article is in its story;
- ``rules`` and ``gazetteers``: through the workers' own :class:`~streams.rulebook.RuleBook`, so
  the playground uses the set they use (the rules topic, else
  ``WIREWATCH_RULES_PATH``), compiled the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, Final

import structlog
from aiohttp import web
from aiokafka import ConsumerRecord

from alerts.silence_admin import write_silence
from schemas import ConfigError, Settings
from schemas.kafka import ensure_topics, pipeline_topics, story_topics
from streams.follower import follow_topic
from streams.rulebook import RuleBook
from wirewatch.dashboard.admin_api import install_admin
from wirewatch.dashboard.auth import Gate
from wirewatch.dashboard.hub import Hub
from wirewatch.dashboard.state import DashboardState
from wirewatch.dashboard.watch_api import install_watches
from wirewatch.dashboard.web import create_app
from wirewatch.identity.directory import UserDirectory

log = structlog.get_logger(__name__)

STATUS_EVERY_S: Final = 1.0
"""A changed status is sent at most this often (a burst of detections makes one event)."""
STATUS_AT_LEAST_S: Final = 30.0
"""An unchanged status is sent again this often: hours roll over, silences expire."""

RecordHandler = Callable[[bytes | None, bytes | None], None]


async def _follow(
    settings: Settings,
    state: DashboardState,
    topic: str,
    handle: RecordHandler,
    since_ms: int | None,
    then: Callable[[], None] | None = None,
) -> None:
    """Follow ``topic`` into ``handle``, and mark it caught up in ``state`` (and call ``then``) once read."""
    caught_up = asyncio.Event()

    def on_record(record: ConsumerRecord[bytes, bytes]) -> None:
        handle(record.key, record.value)

    async def mark() -> None:
        await caught_up.wait()
        state.set_caught_up(topic, True)
        if then is not None:
            then()

    state.set_caught_up(topic, False)
    await asyncio.gather(
        follow_topic(settings, topic, on_record, caught_up=caught_up, since_ms=since_ms), mark()
    )


async def _publish_status(state: DashboardState, hub: Hub) -> None:
    sent_version = -1
    sent_at = 0.0
    while True:
        await asyncio.sleep(STATUS_EVERY_S)
        now = time.monotonic()
        if not len(hub):
            continue
        if state.version != sent_version or now - sent_at >= STATUS_AT_LEAST_S:
            sent_version, sent_at = state.version, now
            hub.publish_status(state.status())


def _background(
    settings: Settings, state: DashboardState, hub: Hub, gate: Gate, users_read: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    names = settings.topics
    since_ms = int((time.time() - settings.dashboard_window_s) * 1000)
    rulebook = RuleBook(settings, on_install=state.install_rules, on_report=state.report_rules)
    return [
        _follow(settings, state, names.alerts, state.on_alert, since_ms),
        _follow(settings, state, names.detections, state.on_detection, since_ms),
        _follow(
            settings,
            state,
            names.articles_dlq,
            state.dead_letter_handler(names.articles_dlq),
            since_ms,
        ),
        _follow(
            settings, state, names.alerts_dlq, state.dead_letter_handler(names.alerts_dlq), since_ms
        ),
        _follow(settings, state, names.silences, state.on_silence, None),
        _follow(settings, state, names.fetch_state, state.on_fetch_state, None),
        _follow(settings, state, names.users, gate.users.on_record, None, then=users_read.set),
        _follow(settings, state, names.audit, state.on_audit, None),
        _follow(settings, state, story_topics(settings)[1].name, state.on_story, since_ms),
        rulebook.follow(),
        _publish_status(state, hub),
    ]


async def _bind(runner: web.AppRunner, settings: Settings) -> None:
    try:
        await web.TCPSite(runner, settings.web_host, settings.dashboard_port).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the dashboard on {settings.web_host}:{settings.dashboard_port}: "
            f"{exc.strerror or exc}. Stop what uses the port, or set "
            "WIREWATCH_DASHBOARD_PORT (or --port)."
        ) from None
    log.info(
        "dashboard_started",
        url=f"http://{settings.web_host}:{settings.dashboard_port}/",
        bootstrap=settings.bootstrap_servers,
    )


def _refuse_open_wide_bind(settings: Settings, gate: Gate) -> None:
    if not gate.proxy.enabled and not gate.users.has_accounts:
        raise ConfigError(
            f"refusing to serve the dashboard on {settings.web_host}: it has no account, so "
            "anyone who reaches it could silence alerts. Add one with `wirewatch users add NAME "
            "--role admin`, set up single sign-on (WIREWATCH_DASHBOARD_PROXY_HEADER), or serve "
            "this machine only (WIREWATCH_WEB_HOST=127.0.0.1)."
        )


async def _first(*waits: asyncio.Future[Any]) -> None:
    """Wait until one of ``waits`` is done; raise its error if it failed."""
    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Serve the dashboard until ``stop`` is set, or until following a topic fails.

    On loopback the port is bound first, so a taken port is reported before
    Kafka is contacted; the page says it is reading history until the
    followers catch up. On a wider address the users topic is read first, and
    with no account (and no single sign-on) the dashboard refuses to start.

    Raises:
        ConfigError: the port is taken (or the address cannot be bound), a wide
            address is asked for without accounts, or the proxy settings are wrong.
        BrokerError: Kafka cannot be reached or a topic cannot be read.
    """
    hub = Hub()
    state = DashboardState(settings, on_new_alert=hub.publish_story)
    gate = Gate(settings, UserDirectory())
    users_read = asyncio.Event()
    app = create_app(
        settings, state, hub, gate=gate, write_silence=partial(write_silence, settings)
    )
    install_watches(app, settings, state)
    install_admin(app, settings, gate)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    tasks: list[asyncio.Task[Any]] = []
    stopped = asyncio.create_task(stop.wait())
    try:
        if gate.loopback_only:
            await _bind(runner, settings)
        await ensure_topics(settings, [*pipeline_topics(settings), *story_topics(settings)])
        tasks = [
            asyncio.create_task(job) for job in _background(settings, state, hub, gate, users_read)
        ]
        read = asyncio.create_task(users_read.wait())
        await _first(read, *tasks, stopped)
        read.cancel()
        if not users_read.is_set():
            return  # stopped before the accounts were read
        gate.users_read = True
        if not gate.loopback_only:
            _refuse_open_wide_bind(settings, gate)
            await _bind(runner, settings)
        await _first(*tasks, stopped)
        if not stop.is_set():
            raise RuntimeError("a dashboard task ended unexpectedly")
    finally:
        for task in [*tasks, stopped]:
            task.cancel()
        for task in [*tasks, stopped]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await runner.cleanup()
        log.info("dashboard_stopped")
