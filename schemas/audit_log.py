"""Writing audited changes, and reading the audit trail back.

The one way a person's write reaches Kafka: :func:`write_audited` sends the
changed records, waits until Kafka has them, then appends the
:class:`~schemas.audit.AuditEvent` describing them. Every process that writes
(the command line, the dashboard, later the rule publisher) calls it, so no
write can skip its event by accident. The records go first so that the trail
never shows a change that did not happen; if the event then fails, the error
says the change was made without it, so the person can see and repeat it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas.audit import AuditEvent, AuditQuery
from schemas.errors import BrokerError, DeliveryError
from schemas.kafka import (
    encode,
    ensure_topics,
    make_consumer,
    make_producer,
    pipeline_topics,
    send_with_deadline,
)
from schemas.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Change:
    """One record to write: its topic, key and value (None: a tombstone, which deletes the key)."""

    topic: str
    key: bytes
    value: bytes | None


async def write_audited(settings: Settings, changes: Sequence[Change], event: AuditEvent) -> None:
    """Write ``changes`` in order, then ``event`` to the audit topic, each acknowledged.

    Raises:
        DeliveryError: a change was not acknowledged (nothing after it was
            sent), or the event was not (the message says the change stands).
    """
    await write_audited_many(settings, [(changes, event)])


async def write_audited_many(
    settings: Settings, writes: Sequence[tuple[Sequence[Change], AuditEvent]]
) -> None:
    """Make several audited writes in order over one connection: each one's changes, then its event.

    Raises:
        DeliveryError: as :func:`write_audited`; the writes before the failing
            one stand, and none after it was sent.
    """
    wanted = {c.topic for changes, _ in writes for c in changes} | {settings.topics.audit}
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name in wanted])
    producer = make_producer(settings, "wirewatch-audited-writer")
    timeout = settings.send_timeout_s
    await asyncio.wait_for(producer.start(), timeout)
    try:
        for changes, event in writes:
            await _write(producer, settings, changes, event)
    finally:
        await asyncio.wait_for(producer.stop(), timeout)


async def _write(
    producer: AIOKafkaProducer, settings: Settings, changes: Sequence[Change], event: AuditEvent
) -> None:
    timeout = settings.send_timeout_s
    for change in changes:
        await send_with_deadline(
            producer, change.topic, change.value, key=change.key, timeout_s=timeout
        )
    try:
        await send_with_deadline(
            producer,
            settings.topics.audit,
            encode(event),
            key=event.target.encode("utf-8"),
            timeout_s=timeout,
        )
    except DeliveryError as exc:
        log.error("audit_not_written", action=event.action, target=event.target, error=str(exc))
        raise DeliveryError(
            f"{event.action} on {event.target} was made, but its audit event was not written: {exc}"
        ) from exc
    log.info("audited", action=event.action, target=event.target, actor=event.actor)


@dataclass(frozen=True)
class AuditPage:
    """The newest events that passed a query, oldest first, and what could not be read."""

    events: list[AuditEvent]
    matched: int
    unreadable: int


async def read_audit(settings: Settings, query: AuditQuery, limit: int) -> AuditPage:
    """Read the audit topic from ``query.since`` (else its beginning) to its current end.

    Raises:
        BrokerError: Kafka cannot be reached or did not return the records in time.
    """
    topic = settings.topics.audit
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
    consumer = make_consumer(settings, group_id=None, client_id="wirewatch-audit")
    timeout = settings.send_timeout_s
    await asyncio.wait_for(consumer.start(), timeout)
    kept: deque[AuditEvent] = deque(maxlen=limit)
    matched = unreadable = 0
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        start = None
        if query.since is not None:
            found = await consumer.offsets_for_times({tp: int(query.since.timestamp() * 1000)})
            start = found.get(tp)
        if start is not None:
            consumer.seek(tp, start.offset)
        else:
            await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await consumer.position(tp) < end:
            if loop.time() > deadline:
                raise BrokerError(f"could not read {topic!r} to its end within {timeout:g} s")
            for records in (await consumer.getmany(tp, timeout_ms=200)).values():
                for record in records:
                    try:
                        event = AuditEvent.model_validate_json(record.value or b"")
                    except ValidationError:
                        unreadable += 1
                        continue
                    if query.matches(event):
                        matched += 1
                        kept.append(event)
    finally:
        await asyncio.wait_for(consumer.stop(), timeout)
    return AuditPage(list(kept), matched, unreadable)
