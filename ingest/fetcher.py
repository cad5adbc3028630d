"""``wirewatch fetcher``: polls the sources it owns, takes WebSub pushes, serves health and metrics.

Ownership is Kafka's: fetchers of one ``fetch_group`` subscribe to the
WebSub events topic, and a source belongs to the partition of its id (the
same partition on the fetch state and events topics). When the group hands
this fetcher partitions, it reads their states from the compacted state
topic (settling any ``pending`` items, see :mod:`ingest.fetch_store`) and
schedules their sources; when partitions are taken away, their polls finish
and their states are written before the fetcher lets go. A killed fetcher's
partitions go to the others after the session timeout, with the state it
last wrote.

One poll of a source runs at a time (a per-source lock also orders pushes
and polls), at most ``fetch_concurrency`` polls run at once, and hosts are
spared by :class:`~ingest.politeness.HostGates`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gc
import heapq
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from ingest.fetch_metrics import FetcherMetrics
from ingest.fetch_store import FetchStore, initial_state
from ingest.http_client import HttpClient
from ingest.page_text import Extractor
from ingest.poll import Poller, PollResult
from ingest.sender import start_producer, stop_producer
from ingest.source_list import SourceSpec
from ingest.websub import callback_url, signature_ok, subscribe, verified, wants_subscription
from schemas import DeadLetter, Settings, WirewatchError
from schemas.fetch_state import FetchState, WebSubEvent
from schemas.kafka import (
    encode,
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    send_with_deadline,
)

log = structlog.get_logger(__name__)

GC_THRESHOLDS = (20_000, 50, 1_000)
"""The cyclic collector's thresholds while a fetcher runs.

Each poll allocates thousands of short-lived objects, and tens of thousands of
sources keep their states alive: at the default thresholds (700, 10, 10) full
collections walk every state so often that they cost a third of a 304 poll's
CPU (measured with benchmarks/fetch.py at 10,000 sources: 380-460 µs per poll
against 275-285 µs at these thresholds). Almost everything is freed by
reference counting anyway; collecting cycles less often costs little memory.
"""
MAX_WAIT_S = 1.0
"""The scheduler looks at the clock at least this often."""
RETRY_AFTER_DELIVERY_ERROR_S = 30.0


def group_id(settings: Settings) -> str:
    """The fetchers' consumer group: ``fetch_group`` under the topic prefix (one per pipeline)."""
    return f"{settings.topic_prefix}{settings.fetch_group}"


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no stubs
    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._fetcher.release({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._fetcher.take({tp.partition for tp in assigned})


class Fetcher:
    """The fetcher service. Create, then ``await run(stop_event)``."""

    def __init__(self, settings: Settings, sources: Sequence[SourceSpec]) -> None:
        self._settings = settings
        self._sources = {source.id: source for source in sources if source.enabled}
        self.metrics = FetcherMetrics()
        self._partition_of: dict[str, int] = {}
        self._owned: dict[str, FetchState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(settings.fetch_concurrency)
        self._ready = False
        self._store: FetchStore | None = None
        self._poller: Poller | None = None
        self._client: HttpClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: Any = None

    # --- lifecycle -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish the polls running, commit and leave the group.

        Raises:
            BrokerError: Kafka cannot be reached.
        """
        settings = self._settings
        names = settings.topics
        wanted = {
            names.articles,
            names.articles_dlq,
            names.alerts,
            names.fetch_state,
            names.fetch_pushes,
        }
        await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name in wanted])
        producer = make_producer(settings, client_id="wirewatch-fetcher")
        await start_producer(producer, settings)
        self._producer = producer
        store = self._store = FetchStore(settings, producer)
        for source_id in self._sources:
            self._partition_of[source_id] = await store.partition_of(source_id)
        runner = await self._serve()
        consumer = make_consumer(
            settings,
            group_id=group_id(settings),
            client_id="wirewatch-fetcher",
            group_instance_id=settings.fetch_instance_id,
            session_timeout_ms=int(settings.fetch_session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.fetch_session_timeout_s * 1000 / 3),
            max_poll_records=100,
        )
        self._consumer = consumer
        scheduler: asyncio.Task[None] | None = None
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            async with (
                HttpClient(settings) as client,
                Extractor(settings.fetch_extract_workers) as extractor,
            ):
                self._client = client
                self._poller = Poller(settings, client, extractor)
                consumer.subscribe([names.fetch_pushes], listener=_Rebalance(self))
                await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
                scheduler = asyncio.create_task(self._schedule(stop))
                log.info("fetcher_started", sources=len(self._sources), group=group_id(settings))
                await self._events(consumer, stop)
                await self._finish(scheduler)
                scheduler = None
        finally:
            gc.set_threshold(*thresholds)
            self._ready = False
            if scheduler is not None:
                scheduler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduler
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)
            await stop_producer(producer, settings)
            await runner.cleanup()
            log.info("fetcher_stopped")

    async def _finish(self, scheduler: asyncio.Task[None]) -> None:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await self._wait_polls(set(self._running))

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` says."""
        return {
            "ok": True,
            "ready": self._ready,
            "sources": len(self._sources),
            "owned": len(self._owned),
            "polling": len(self._running),
        }

    # --- ownership -------------------------------------------------------------

    async def take(self, partitions: set[int]) -> None:
        """Read the states of the sources in ``partitions`` and schedule them."""
        store = self._require_store()
        mine = [s for s in self._sources.values() if self._partition_of[s.id] in partitions]
        states = await store.load(partitions)
        for source in mine:
            state = states.get(source.id) or initial_state(source, self._settings)
            if state.url != source.url:  # the source was pointed elsewhere: start afresh
                state = initial_state(source, self._settings)
            self._owned[source.id] = await store.confirm_pending(state)
            self._plan(source.id, self._owned[source.id].next_due_at)
        self.metrics.sources.set(len(self._owned))
        self._ready = True
        log.info("sources_taken", partitions=sorted(partitions), sources=len(mine))

    async def release(self, partitions: set[int]) -> None:
        """Stop polling the sources of ``partitions``; their running polls write their states first."""
        gone = {sid for sid in self._owned if self._partition_of[sid] in partitions}
        await self._wait_polls(gone)
        if self._producer is not None:
            # States written without waiting must be on the topic before the next owner reads it.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.flush(), self._settings.send_timeout_s)
        for source_id in gone:
            self._owned.pop(source_id, None)
            self._due.pop(source_id, None)
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.commit()
        self.metrics.sources.set(len(self._owned))
        log.info("sources_released", partitions=sorted(partitions), sources=len(gone))

    async def _wait_polls(self, source_ids: set[str]) -> None:
        tasks = [task for sid, task in self._running.items() if sid in source_ids]
        if tasks:
            await asyncio.wait(
                tasks, timeout=self._settings.fetch_total_timeout_s + self._settings.send_timeout_s
            )

    # --- polling ---------------------------------------------------------------

    def _plan(self, source_id: str, due: datetime | None) -> None:
        at = due.timestamp() if due is not None else time.time()
        self._due[source_id] = at
        sooner = not self._heap or at < self._heap[0][0]
        heapq.heappush(self._heap, (at, source_id))
        if (
            sooner
        ):  # the scheduler sleeps until the earliest due time: wake it only for an earlier one
            self._wake.set()

    async def _schedule(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                at, source_id = heapq.heappop(self._heap)
                if self._due.get(source_id) != at or source_id in self._running:
                    continue  # re-planned, released, or polling now
                del self._due[source_id]
                await self._slots.acquire()
                task = asyncio.create_task(self._poll(source_id))
                self._running[source_id] = task
                task.add_done_callback(functools.partial(self._done, source_id))
            wait = (
                MAX_WAIT_S if not self._heap else min(MAX_WAIT_S, max(0.0, self._heap[0][0] - now))
            )
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _done(self, source_id: str, _: asyncio.Task[None]) -> None:
        self._running.pop(source_id, None)
        self._slots.release()
        self.metrics.in_flight.set(len(self._running))

    async def _poll(self, source_id: str) -> None:
        source = self._sources[source_id]
        self.metrics.in_flight.set(len(self._running))
        began = time.monotonic()
        async with self._lock(source_id):
            state = self._owned.get(source_id)
            if state is None:
                return
            try:
                state = await self._require_store().confirm_pending(state)
                result = await self._require_poller().poll(source, state)
                state = await self._maybe_subscribe(source, state, result)
                await self._record(source, state, result)
            except WirewatchError as exc:
                log.error("poll_failed", source_id=source_id, error=str(exc))
                self.metrics.delivery_errors.inc()
                self._plan(
                    source_id,
                    datetime.fromtimestamp(time.time() + RETRY_AFTER_DELIVERY_ERROR_S, UTC),
                )
                return
            except Exception as exc:  # a bug must not stop the other sources
                log.exception("poll_crashed", source_id=source_id, error=repr(exc))
                self._plan(
                    source_id,
                    datetime.fromtimestamp(time.time() + RETRY_AFTER_DELIVERY_ERROR_S, UTC),
                )
                return
        self.metrics.poll_seconds.observe(time.monotonic() - began)

    async def _record(
        self, source: SourceSpec, state: FetchState, result: PollResult
    ) -> FetchState:
        """Produce a poll's (or push's) articles and keep the state after it."""
        store = self._require_store()
        try:
            after = await store.record(source, state, result)
        except WirewatchError:
            if (
                result.articles
            ):  # keep what the topic may say: the pending ids are settled next time
                pending = result.pending_state(state, datetime.now(UTC))
                if source.id in self._owned:
                    self._owned[source.id] = pending
            raise
        self.metrics.polls.labels(status=result.status).inc()
        if result.articles or result.rejected or result.skipped:
            self.metrics.articles.labels(kind="new").inc(result.new)
            self.metrics.articles.labels(kind="updated").inc(result.updated)
            self.metrics.dead_letters.inc(len(result.rejected))
            self.metrics.skipped.inc(result.skipped)
        if after.health_alert != state.health_alert:
            self.metrics.health_alerts.inc()
        if source.id in self._owned:
            self._owned[source.id] = after
            self._plan(source.id, after.next_due_at)
        (log.info if result.articles or result.error else log.debug)(
            "polled",
            source_id=source.id,
            status=result.status,
            new=result.new,
            updated=result.updated,
            error=result.error,
        )
        return after

    def _lock(self, source_id: str) -> asyncio.Lock:
        lock = self._locks.get(source_id)
        if lock is None:
            lock = self._locks[source_id] = asyncio.Lock()
        return lock

    # --- WebSub ----------------------------------------------------------------

    async def _maybe_subscribe(
        self, source: SourceSpec, state: FetchState, result: PollResult
    ) -> FetchState:
        base = self._settings.fetch_callback_url
        now = datetime.now(UTC)
        lease_s = self._settings.fetch_websub_lease_s
        if not base or not wants_subscription(state, result.hub, lease_s, now):
            return state
        assert result.hub is not None
        assert self._client is not None
        lease = await subscribe(
            self._client,
            hub=result.hub,
            topic=result.topic or source.url,
            callback=callback_url(base, source.id),
            lease_s=lease_s,
            now=now,
        )
        self.metrics.websub.labels(kind="subscribe", outcome=lease.state).inc()
        log.info(
            "websub_subscribe",
            source_id=source.id,
            hub=result.hub,
            state=lease.state,
            error=lease.error,
        )
        state = state.model_copy(update={"websub": lease})
        self._owned[source.id] = state
        return state

    async def _events(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Handle WebSub events of the owned partitions until ``stop``; commit after each batch."""
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    await self._event(
                        record.value, f"{record.topic}/{record.partition}@{record.offset}"
                    )
            if batches:
                await consumer.commit()

    async def _event(self, value: bytes | None, origin: str) -> None:
        store = self._require_store()
        try:
            event = WebSubEvent.model_validate_json(value or b"")
        except ValidationError as exc:
            await store.dead_letter(
                DeadLetter.wrap(
                    value,
                    stage="fetch",
                    origin=origin,
                    reason="invalid_event",
                    error=str(exc)[:2000],
                )
            )
            return
        source = self._sources.get(event.source_id)
        async with self._lock(event.source_id):
            state = self._owned.get(event.source_id)
            if source is None or state is None:
                self.metrics.websub.labels(kind=event.kind, outcome="not_owned").inc()
                return
            lease = state.websub
            if event.kind in ("verified", "denied"):
                if lease is not None and event.topic == lease.topic:
                    lease = (
                        verified(
                            lease,
                            event.lease_s,
                            self._settings.fetch_websub_lease_s,
                            datetime.now(UTC),
                        )
                        if event.kind == "verified"
                        else lease.model_copy(
                            update={"state": "failed", "error": "the hub denied the subscription"}
                        )
                    )
                    self._owned[source.id] = state.model_copy(update={"websub": lease})
                    await store.save(self._owned[source.id], wait=False)
                self.metrics.websub.labels(kind=event.kind, outcome="applied").inc()
                return
            body = base64.b64decode(event.body_b64)
            if lease is None or not signature_ok(body, event.signature, lease.secret):
                self.metrics.websub.labels(kind="push", outcome="bad_signature").inc()
                await store.dead_letter(
                    DeadLetter.wrap(
                        body,
                        stage="fetch",
                        origin=f"websub {source.id}",
                        reason="bad_signature",
                        error=f"a WebSub push for {source.id} whose X-Hub-Signature does not match its subscription: ignored",
                        key=source.id,
                    )
                )
                return
            result = await self._require_poller().read(
                source, body, event.content_type, source.url, state
            )
            result.etag, result.last_modified = state.etag, state.last_modified
            if result.status in ("failed", "refused"):
                result.status = "unchanged"  # a bad push says nothing about the feed itself
            try:
                await self._record(source, state, result)
            except WirewatchError as exc:
                log.error("push_failed", source_id=source.id, error=str(exc))
                return
            self.metrics.websub.labels(kind="push", outcome="used").inc()
            self.metrics.push_latency.observe(max(0.0, time.time() - event.received_at.timestamp()))

    # --- web -------------------------------------------------------------------

    async def _serve(self) -> web.AppRunner:
        settings = self._settings
        app = web.Application(client_max_size=settings.max_message_bytes // 2)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/websub/{source_id}", self._verify)
        app.router.add_post("/websub/{source_id}", self._push)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.web_host, settings.fetch_web_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise WirewatchError(
                f"cannot serve on {settings.web_host}:{settings.fetch_web_port}: {exc.strerror or exc}; "
                "set WIREWATCH_FETCH_WEB_PORT"
            ) from None
        return runner

    async def _healthz(self, _: web.Request) -> web.Response:
        state = self.health()
        return web.json_response(state, status=200 if state["ok"] else 503)

    async def _readyz(self, _: web.Request) -> web.Response:
        state = self.health()
        return web.json_response(state, status=200 if state["ok"] and state["ready"] else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def _verify(self, request: web.Request) -> web.Response:
        """A hub's verification of intent: echo the challenge for a known source."""
        source = self._sources.get(request.match_info["source_id"])
        query = request.query
        mode = query.get("hub.mode", "")
        if source is None or mode not in ("subscribe", "unsubscribe", "denied"):
            return web.Response(status=404, text="unknown subscription")
        kind = "denied" if mode == "denied" else "verified"
        lease = query.get("hub.lease_seconds", "")
        event = WebSubEvent(
            source_id=source.id,
            kind=kind,
            topic=query.get("hub.topic"),
            lease_s=float(lease) if lease.isdigit() else None,
        )
        if mode != "unsubscribe" and not await self._forward(event):
            return web.Response(status=503, text="try again")
        return web.Response(text=query.get("hub.challenge", ""), content_type="text/plain")

    async def _push(self, request: web.Request) -> web.Response:
        """A hub's push: forwarded to the owner of the source through the events topic."""
        source_id = request.match_info["source_id"]
        if source_id not in self._sources:
            return web.Response(status=404, text="unknown subscription")
        body = await request.read()
        event = WebSubEvent(
            source_id=source_id,
            kind="push",
            body_b64=base64.b64encode(body).decode("ascii"),
            signature=(
                request.headers.get("X-Hub-Signature") or request.headers.get("X-Hub-Signature-256")
            ),
            content_type=request.content_type,
        )
        if not await self._forward(event):
            return web.Response(status=503, text="try again")
        return web.Response(status=202, text="accepted")

    async def _forward(self, event: WebSubEvent) -> bool:
        try:
            await send_with_deadline(
                self._producer,
                self._settings.topics.fetch_pushes,
                encode(event),
                key=event.source_id.encode("utf-8"),
                timeout_s=self._settings.send_timeout_s,
            )
        except WirewatchError as exc:
            log.error("websub_forward_failed", source_id=event.source_id, error=str(exc))
            return False
        return True

    # --- helpers ---------------------------------------------------------------

    def _require_store(self) -> FetchStore:
        assert self._store is not None, "the fetcher is not running"
        return self._store

    def _require_poller(self) -> Poller:
        assert self._poller is not None, "the fetcher is not running"
        return self._poller
