"""The notifier process: reads alerts, and routes, silences, groups, throttles and delivers them.

Its own consumer group on the ``alerts`` topic. For each alert and each
receiver its routes lead to, exactly one ledger record is written:
``delivered``, ``failed`` (after the retry budget; the alert also goes to
``alerts.dlq``), ``silenced``, ``inhibited`` (on arrival, or when its group
is due; :mod:`alerts.inhibition`) or ``repeat``. An alert's offset is committed
only once every one of its records is acknowledged by Kafka, so a crash
replays it and the ledger drops what was already done. The only duplicates
possible are sends whose ledger record was not yet acknowledged at the crash.
A copy of an alert that arrives while the first one still waits in a group or
is being sent (the workers re-emit an alert when they replay its record) is
dropped too: each (alert key, receiver) is claimed from the moment it is
queued until its ledger record is written.

Alerts waiting in a group or a digest are not committed either: after a
restart they are read again and grouped anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from alerts.compacted import CompactedReader
from alerts.delivery import Deliverer, build_transports
from alerts.grouping import Grouper, Notification, Pending, RepeatGuard
from alerts.inhibition import Inhibitor, story_merges
from alerts.ledger import Ledger
from alerts.live_config import LiveConfig
from alerts.metrics import NotifierMetrics
from alerts.receivers import Receiver
from alerts.routing import ReceiverSpec, RoutingTable
from alerts.secrets import Redactor, url_secrets
from alerts.silences import SilenceSet
from alerts.templates import Templates
from alerts.throttle import Throttle
from alerts.web import WebServer
from schemas import Alert, ConfigError, DeadLetter, Settings
from schemas.common import utcnow
from schemas.deliveries import Delivery, DeliveryStatus
from schemas.kafka import (
    DeadLetterWriter,
    encode,
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    story_topics,
)
from schemas.silences import Silence

log = structlog.get_logger(__name__)

Origin = tuple[TopicPartition, int]
_MAX_POLL_WAIT_S = 0.2


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no stubs
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._notifier.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._notifier.partitions_assigned(set(assigned))


class Notifier:
    """Ties the pure parts to Kafka and apprise. Create, then ``await run(stop_event)``."""

    def __init__(
        self,
        settings: Settings,
        routes: RoutingTable,
        receivers: dict[str, Receiver] | None,
        *,
        redact: Redactor | None = None,
        clock: Callable[[], float] = time.time,
        templates: Templates | None = None,
    ) -> None:
        self._settings = settings
        self._routes = routes
        self._receivers = receivers or {}
        self._unconfigured = receivers is None
        self._retired: dict[str, ReceiverSpec] = {}
        self._live = LiveConfig(settings, routes)
        self._redact = redact or Redactor()
        self._clock = clock
        self._templates = templates or Templates()
        self.metrics = NotifierMetrics()
        self._pool = ThreadPoolExecutor(settings.notify_threads, thread_name_prefix="notify")
        self._deliverer = Deliverer(
            settings, build_transports(settings, self._receivers, self._pool), self.metrics
        )
        self._grouper = Grouper()
        self._throttle = Throttle(routes.receivers)
        self._repeats = RepeatGuard()
        self._silences = SilenceSet()
        self._inhibitor = Inhibitor(routes.inhibit_rules)
        self._merges_followed = False
        self._open: dict[TopicPartition, dict[int, int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._claimed: set[tuple[str, str]] = set()
        self._fatal: BaseException | None = None
        self._ready = False
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._ledger: Ledger | None = None
        self._dlq: DeadLetterWriter | None = None

    # --- lifecycle ---------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish in-flight sends, commit and close.

        Raises:
            DeliveryError: a ledger record or dead letter could not be written (fatal:
                the process must restart and replay from the last commit).
        """
        settings = self._settings
        topics = settings.topics
        wanted = {
            topics.alerts,
            topics.alerts_dlq,
            topics.silences,
            topics.deliveries,
            topics.routes,
            topics.receivers,
        }
        stories = story_topics(settings)[1]
        await ensure_topics(
            settings, [*(s for s in pipeline_topics(settings) if s.name in wanted), stories]
        )
        # Ledger records and dead letters are small: compressing them costs more than it saves.
        producer = make_producer(settings, "wirewatch-notifier", compression_type=None)
        await asyncio.wait_for(producer.start(), settings.send_timeout_s)
        self._producer = producer
        self._dlq = DeadLetterWriter(producer, topics.alerts_dlq, settings.send_timeout_s)
        ledger = Ledger(settings, producer, on_restore=self._restored)
        silences = CompactedReader(settings, topics.silences, self._apply_silence)
        readers = [
            silences,
            CompactedReader(settings, topics.routes, self._live.take_routes),
            CompactedReader(settings, topics.receivers, self._live.take_receiver),
        ]
        web = WebServer(self.metrics, self.health, settings.web_host, settings.notifier_web_port)
        consumer = make_consumer(
            settings,
            group_id=settings.notifier_group,
            client_id="wirewatch-notifier",
            group_instance_id=settings.notifier_instance_id,
            max_poll_records=500,
        )
        self._consumer = consumer
        follower: asyncio.Task[None] | None = None
        try:
            await web.start()
            await ledger.start()
            self._ledger = ledger
            for reader in readers:
                await reader.start()
                await reader.catch_up()
            if self._live.published or self._unconfigured:
                self._reconfigure(required=self._unconfigured)
            await self._recall_sources()
            await self._follow_merges(readers, stories.name)
            follower = asyncio.create_task(self._follow(readers, stop))
            consumer.subscribe([topics.alerts], listener=_Rebalance(self))
            await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
            self._ready = True
            log.info(
                "notifier_started", receivers=sorted(self._receivers), group=settings.notifier_group
            )
            await self._loop(consumer, stop)
        finally:
            self._ready = False
            if follower is not None:
                follower.cancel()
            await self._drain(settings.send_timeout_s)
            if self._fatal is None:
                await self._commit()
            await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)
            for reader in readers:
                await reader.stop()
            await ledger.stop()
            await asyncio.wait_for(producer.stop(), settings.send_timeout_s)
            await web.stop()
            self._pool.shutdown(wait=False, cancel_futures=True)
            log.info("notifier_stopped")
        if self._fatal is not None:
            raise self._fatal

    def recorded(self, alert_key: str, receiver: str) -> Delivery | None:
        """The ledger's outcome for (alert key, receiver), or None (not yet decided)."""
        return self._ledger.get(alert_key, receiver) if self._ledger else None

    def health(self) -> dict[str, Any]:
        """The state ``/healthz`` reports."""
        return {
            "ok": self._ready and self._fatal is None,
            "pending": len(self._grouper),
            "in_flight": len(self._inflight),
            "ledger_records": len(self._ledger) if self._ledger else 0,
            "config": {"receivers": sorted(self._receivers), "error": self._live.error},
        }

    async def _loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set() and self._fatal is None:
            batches = await consumer.getmany(timeout_ms=int(self._poll_wait() * 1000))
            for tp, records in batches.items():
                for record in records:
                    await self._handle(tp, record)
            self._flush_due()
            await self._commit()

    def _poll_wait(self) -> float:
        times = [t for t in (self._grouper.next_due(), self._throttle.next_due()) if t is not None]
        if not times:
            return _MAX_POLL_WAIT_S
        return min(_MAX_POLL_WAIT_S, max(0.0, min(times) - self._clock()))

    async def _recall_sources(self) -> None:
        """Read back the alerts of the longest inhibition, so a restart forgets no firing source."""
        if not self._inhibitor.longest:
            return

        def observe(key: bytes | None, value: bytes | None) -> None:
            # An unreadable record is dead-lettered when the consumer reaches it.
            with contextlib.suppress(ValidationError):
                self._inhibitor.observe(Alert.model_validate_json(value or b""), utcnow())

        reader = CompactedReader(self._settings, self._settings.topics.alerts, observe)
        try:
            await reader.start(since_ms=int(self._since_longest_inhibition() * 1000))
            recalled = await reader.catch_up()
        finally:
            await reader.stop()
        log.info("inhibition_sources_recalled", alerts=recalled, sources=len(self._inhibitor))

    def _since_longest_inhibition(self) -> float:
        """The Unix time the longest inhibit rule's ``for`` reaches back to."""
        return self._clock() - self._inhibitor.longest.total_seconds()

    def _apply_merges(self, key: bytes | None, value: bytes | None) -> None:
        """Move the inhibition sources of the stories a record of the stories topic merged."""
        for absorbed, into in story_merges(value):
            self._inhibitor.merge(absorbed, into)

    async def _follow_merges(self, readers: list[CompactedReader], topic: str) -> None:
        """Start reading story merges once an inhibit rule compares ``story_id`` (not before: it costs a restart)."""
        if self._merges_followed or not self._inhibitor.compares_stories:
            return
        reader = CompactedReader(self._settings, topic, self._apply_merges)
        readers.append(reader)
        self._merges_followed = True
        await reader.start(since_ms=int(self._since_longest_inhibition() * 1000))
        await reader.catch_up()

    async def _follow(self, readers: list[CompactedReader], stop: asyncio.Event) -> None:
        stories = story_topics(self._settings)[1].name
        while not stop.is_set():
            await asyncio.gather(*(reader.poll(timeout_ms=500) for reader in readers))
            if self._live.changed:
                self._reconfigure()
                await self._follow_merges(readers, stories)

    def _reconfigure(self, *, required: bool = False) -> None:
        """Swap to the routes and receivers of the topics, if they make a whole configuration.

        Pending groups keep their receivers: a receiver taken out keeps its
        options and URLs until what was grouped for it has gone out.

        Raises:
            ConfigError: only when ``required`` (the settings gave no usable
                receivers at start, and the topics do not either).
        """
        try:
            config = self._live.build()
            for receiver in config.receivers.values():
                for url in receiver.urls:
                    self._redact.add(url_secrets(url.get_secret_value()))
            transports = build_transports(self._settings, config.receivers, self._pool)
        except ConfigError as exc:
            if required:
                raise
            error = self._redact(str(exc))
            if error != self._live.error:
                log.error("notifier_config_rejected", error=error)
            self._live.error = error
            self.metrics.config_failing.set(1)
            return
        self._retired.update(
            (name, spec)
            for name, spec in self._routes.receivers.items()
            if name not in config.routes.receivers
        )
        if config.routes.inhibit_rules != self._routes.inhibit_rules:
            self._inhibitor = self._inhibitor.reconfigured(config.routes.inhibit_rules)
        self._routes = config.routes
        self._receivers = config.receivers
        self._deliverer.use(transports)
        self._throttle.use(config.routes.receivers)
        self._live.error = None
        self._unconfigured = False
        self.metrics.config_failing.set(0)
        log.info(
            "notifier_reconfigured", routes=config.routes_origin, receivers=sorted(config.receivers)
        )

    def _receiver_spec(self, receiver: str) -> ReceiverSpec:
        """The options of ``receiver``: configured now, or when its alerts were grouped."""
        return self._routes.receivers.get(receiver) or self._retired[receiver]

    # --- per record --------------------------------------------------------

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        self.metrics.consumed.inc()
        self._next[tp] = record.offset + 1
        origin: Origin = (tp, record.offset)
        try:
            alert = Alert.model_validate_json(record.value)
        except ValidationError as exc:
            self.metrics.invalid.inc()
            await self._dead_letter(record.value, origin, "invalid_alert", str(exc), None)
            return
        outstanding = 0
        now, now_dt = self._clock(), utcnow()
        self._inhibitor.observe(alert, now_dt)
        muting = self._inhibitor.muting(alert, now_dt)
        for route in self._routes.route(alert):
            receiver = route.receiver
            claim = (alert.key, receiver)
            if claim in self._claimed or self._require_ledger().get(*claim) is not None:
                self.metrics.duplicates.labels(receiver=receiver).inc()
                continue
            if muting is not None:
                await self._record(alert, receiver, "inhibited", detail=str(muting))
                self.metrics.inhibited.labels(receiver=receiver).inc()
                continue
            silence = self._silences.silencing(alert, receiver, now_dt)
            if silence is not None:
                await self._record(alert, receiver, "silenced", detail=f"silence {silence.id}")
                self.metrics.silenced.labels(receiver=receiver).inc()
                continue
            if self._repeats.is_repeat(alert, receiver, route.repeat_interval, now):
                await self._record(alert, receiver, "repeat", detail=f"route {route.id}")
                self.metrics.repeats.labels(receiver=receiver).inc()
                continue
            if self._grouper.add(Pending(alert, receiver, route, origin, now), now):
                self.metrics.grouped.labels(receiver=receiver).inc()
            self._claimed.add(claim)
            outstanding += 1
        if outstanding:
            self._open.setdefault(tp, {})[record.offset] = outstanding

    def _flush_due(self) -> None:
        now = self._clock()
        for notification in self._grouper.due(now):
            admitted = self._throttle.admit(notification, now)
            if admitted is not None:
                self._spawn(admitted)
        for digest in self._throttle.due(now):
            self._spawn(digest)
        self.metrics.pending.set(len(self._grouper))

    def _spawn(self, notification: Notification) -> None:
        task = asyncio.create_task(self._send(notification))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _send(self, notification: Notification) -> None:
        receiver = notification.receiver
        try:
            remaining = await self._drop_muted(notification)
            if not remaining:
                return
            known = frozenset(
                item.alert.story_id
                for item in remaining
                if self._repeats.knows(receiver, item.alert.story_id)
            )
            notification = replace(notification, items=remaining, known_stories=known)
            kind = self._receiver_spec(receiver).template
            rendered = self._templates.render(kind, notification)
            keys = [item.alert.key for item in notification.items]
            await self._require_ledger().writable()
            outcome = await self._deliverer.deliver(receiver, rendered, keys)
            self.metrics.circuit_open.labels(receiver=receiver).set(
                int(self._deliverer.breaker(receiver).is_open)
            )
            status: DeliveryStatus = "delivered" if outcome.ok else "failed"
            detail = self._redact(outcome.detail)
            if not outcome.ok:
                for item in notification.items:
                    await self._dead_letter(
                        encode(item.alert),
                        item.origin,
                        "delivery_failed",
                        f"receiver {receiver}: {detail}",
                        item.alert.key,
                    )
            await asyncio.gather(
                *(
                    self._record(
                        item.alert,
                        receiver,
                        status,
                        attempts=outcome.attempts,
                        detail=detail,
                        notification_id=notification.id,
                    )
                    for item in notification.items
                )
            )
            now = self._clock()
            for item in notification.items:
                if outcome.ok:
                    self._repeats.note(receiver, item.alert.story_id, item.alert.rule_id, now)
                self._claimed.discard((item.alert.key, receiver))
                self._settle(item.origin)
            # Counted once recorded, so a metric never runs ahead of the ledger.
            if outcome.ok:
                self.metrics.sent.labels(receiver=receiver).inc()
                self.metrics.alerts_delivered.labels(receiver=receiver).inc(len(keys))
                self.metrics.latency.labels(receiver=receiver).observe(
                    now - min(item.received_at for item in notification.items)
                )
                log.debug(
                    "notification_sent", receiver=receiver, alerts=len(keys), kind=notification.kind
                )
            else:
                self.metrics.failed.labels(receiver=receiver).inc()
        except Exception as exc:
            # Without its ledger record an outcome is unknown to the next owner: stop and replay.
            log.error("notifier_fatal", error=self._redact(str(exc)), receiver=receiver)
            self._fatal = exc

    async def _drop_muted(self, notification: Notification) -> tuple[Pending, ...]:
        """Record the items a source muted while they waited; return the others."""
        now = utcnow()
        remaining = []
        for item in notification.items:
            muting = self._inhibitor.muting(item.alert, now)
            if muting is None:
                remaining.append(item)
                continue
            await self._record(item.alert, notification.receiver, "inhibited", detail=str(muting))
            self.metrics.inhibited.labels(receiver=notification.receiver).inc()
            self._claimed.discard((item.alert.key, notification.receiver))
            self._settle(item.origin)
        return tuple(remaining)

    async def _record(
        self,
        alert: Alert,
        receiver: str,
        status: DeliveryStatus,
        *,
        attempts: int = 0,
        detail: str = "",
        notification_id: str = "",
    ) -> None:
        await self._require_ledger().record(
            Delivery(
                alert_key=alert.key,
                receiver=receiver,
                status=status,
                story_id=alert.story_id,
                is_update=alert.is_update,
                attempts=attempts,
                detail=detail,
                notification_id=notification_id,
            )
        )

    async def _dead_letter(
        self, payload: bytes | None, origin: Origin, reason: str, error: str, key: str | None
    ) -> None:
        tp, offset = origin
        assert self._dlq is not None
        await self._dlq.write(
            DeadLetter.wrap(
                payload,
                stage="notify",
                origin=f"{tp.topic}/{tp.partition}@{offset}",
                reason=reason,
                error=self._redact(error),
                key=key,
            )
        )
        self.metrics.dead_lettered.inc()

    def _settle(self, origin: Origin) -> None:
        tp, offset = origin
        waiting = self._open.get(tp)
        if waiting is None or offset not in waiting:
            return
        waiting[offset] -= 1
        if waiting[offset] <= 0:
            del waiting[offset]

    def _require_ledger(self) -> Ledger:
        assert self._ledger is not None, "the ledger is read before the consumer starts"
        return self._ledger

    # --- offsets and rebalances -------------------------------------------

    def _committable(self) -> dict[TopicPartition, int]:
        offsets: dict[TopicPartition, int] = {}
        for tp, next_offset in self._next.items():
            waiting = self._open.get(tp)
            offset = min(waiting) if waiting else next_offset
            if offset > self._committed.get(tp, -1):
                offsets[tp] = offset
        return offsets

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        offsets = self._committable()
        if only is not None:
            offsets = {tp: o for tp, o in offsets.items() if tp in only}
        if not offsets or self._consumer is None:
            return
        await self._consumer.commit(offsets)
        self._committed.update(offsets)

    async def _drain(self, timeout_s: float) -> None:
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout_s)

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Finish in-flight sends, commit what is settled, forget pending alerts of ``revoked``."""
        if not revoked:
            return
        await self._drain(self._settings.notify_retry_budget_s)
        if self._fatal is None:
            await self._commit(revoked)

        def lost(item: Pending) -> bool:
            return item.origin[0] in revoked

        dropped = [*self._grouper.discard(lost), *self._throttle.discard(lost)]
        self._claimed.difference_update((item.alert.key, item.receiver) for item in dropped)
        for tp in revoked:
            self._open.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)
        log.info("partitions_revoked", partitions=len(revoked), pending_dropped=len(dropped))

    async def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Read the ledger records the previous owners wrote before taking over."""
        await self._require_ledger().catch_up()
        log.info("partitions_assigned", partitions=sorted(tp.partition for tp in assigned))

    # --- restore callbacks ---------------------------------------------------

    def _restored(self, delivery: Delivery) -> None:
        if delivery.status == "delivered":
            rule_id = delivery.alert_key.partition("@")[0]  # keys are rule@version/...
            self._repeats.note(
                delivery.receiver, delivery.story_id, rule_id, delivery.recorded_at.timestamp()
            )

    def _apply_silence(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                self._silences.remove(key.decode("utf-8"))
            return
        try:
            self._silences.put(Silence.model_validate_json(value))
        except ValidationError:
            log.warning("silence_unreadable", key=(key or b"").decode("utf-8", "replace"))
