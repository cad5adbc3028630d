"""The wire side of the contract: Kafka clients built from settings, topics, dead letters.

Both the stream workers and the notifier need these, and neither may import
the other, so they live beside the message models. This module imports
aiokafka; ``schemas/__init__`` does not import it, so the pure rule engine
stays free of Kafka.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import BaseModel

from schemas.dead_letters import DeadLetter
from schemas.errors import BrokerError, ConfigError, DeliveryError
from schemas.settings import Settings

log = structlog.get_logger(__name__)


def client_options(settings: Settings, client_id: str = "wirewatch") -> dict[str, Any]:
    """Return the connection options every aiokafka client of Wirewatch shares."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def make_producer(
    settings: Settings, client_id: str = "wirewatch", **overrides: Any
) -> AIOKafkaProducer:
    """Return an unstarted producer: idempotent, ``acks=all``, zstd, batching a few ms.

    zstd because aiokafka's lz4 and gzip codecs are slow in pure Python here;
    ``linger_ms`` lets batches fill without adding noticeable latency.
    """
    options: dict[str, Any] = {
        **client_options(settings, client_id),
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": "zstd",
        "linger_ms": 5,
        "max_batch_size": 1_048_576,
        "max_request_size": settings.max_message_bytes + 65_536,
        "request_timeout_ms": int(settings.send_timeout_s * 1000),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: Settings,
    *topics: str,
    group_id: str | None,
    client_id: str = "wirewatch",
    **overrides: Any,
) -> AIOKafkaConsumer:
    """Return an unstarted consumer reading from the earliest offset, committing by hand."""
    options: dict[str, Any] = {
        **client_options(settings, client_id),
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def seek_from(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since_ms: int | None
) -> None:
    """Position ``consumer`` on ``tps``: at the beginning, or at the first record at or after
    ``since_ms`` (Unix milliseconds; the end of a partition that has none)."""
    if since_ms is None:
        await consumer.seek_to_beginning(*tps)
        return
    found = await consumer.offsets_for_times(dict.fromkeys(tps, max(0, since_ms)))
    for tp in tps:
        point = found.get(tp)
        if point is None:
            await consumer.seek_to_end(tp)
        else:
            consumer.seek(tp, point.offset)


async def send_with_deadline(
    producer: AIOKafkaProducer,
    topic: str,
    value: bytes | None,
    *,
    key: bytes | None,
    timeout_s: float,
    headers: list[tuple[str, bytes]] | None = None,
) -> Any:
    """Send one record and wait for its acknowledgement, at most ``timeout_s`` seconds.

    aiokafka's ``send_and_wait`` can hang while the broker is down (aiokafka
    issue 1101), so every send is bounded.

    Raises:
        DeliveryError: the record was not acknowledged in time or was refused.
    """
    try:
        future = await asyncio.wait_for(
            producer.send(topic, value, key=key, headers=headers), timeout_s
        )
        return await asyncio.wait_for(future, timeout_s)
    except TimeoutError as exc:
        raise DeliveryError(
            f"Kafka did not acknowledge a record on {topic!r} within {timeout_s:g} s"
        ) from exc
    except KafkaError as exc:
        raise DeliveryError(f"Kafka refused a record on {topic!r}: {exc}") from exc


async def read_to_end(
    settings: Settings,
    topic: str,
    apply: Callable[[ConsumerRecord[bytes, bytes]], None],
    *,
    client_id: str = "wirewatch-reader",
) -> int:
    """Give every record of ``topic``, from its beginning to the end seen at the start, to ``apply``.

    Outside any consumer group; partitions in turn, each in order. Returns
    how many records were read.

    Raises:
        BrokerError: Kafka cannot be reached, the topic does not exist, or it
            was not read to its end within ``settings.send_timeout_s``.
    """
    timeout = settings.send_timeout_s
    consumer = make_consumer(settings, group_id=None, client_id=client_id)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
    except (TimeoutError, KafkaError) as exc:
        await consumer.stop()
        raise BrokerError(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc
    count = 0
    try:
        # consumer.partitions_for_topic() knows only topics the client has asked about.
        cluster = await asyncio.wait_for(consumer._client.fetch_all_metadata(), timeout)
        partitions: set[int] = cluster.partitions_for_topic(topic) or set()
        if not partitions:
            raise BrokerError(f"topic {topic!r} does not exist; run `wirewatch topics create`")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout)
        deadline = time.monotonic() + timeout
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                if time.monotonic() > deadline:
                    raise BrokerError(f"could not read {topic!r} to its end within {timeout:g} s")
                for records in (await consumer.getmany(tp, timeout_ms=200)).values():
                    for record in records:
                        if record.offset < ends[tp]:
                            apply(record)
                            count += 1
    finally:
        await asyncio.wait_for(consumer.stop(), timeout)
    return count


def encode(message: BaseModel) -> bytes:
    """Serialise a message model to the JSON bytes carried on its topic."""
    return message.model_dump_json().encode("utf-8")


@dataclass(frozen=True)
class TopicSpec:
    """How one topic is created: partitions and topic-level configs."""

    name: str
    partitions: int
    config: Mapping[str, str]


COMPACTED = {"cleanup.policy": "compact"}
DAY_MS = 86_400_000


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    """Return every topic the pipeline needs, with partition counts from settings.

    Dead-letter topics get one partition: they are read by people, in order.
    Rules, silences, users, routes, receivers and gazetteers are compacted and
    have one partition so every reader sees one ordered history; the audit
    trail and the rules' history have one partition, in time order, and are
    never compacted. The fetch state is compacted and keyed by source id, and
    WebSub pushes are keyed the same way with as many partitions, so the
    fetcher that owns a source's partition gets both.
    """
    names = settings.topics
    n = settings.partitions
    history_days = settings.rules_history_retention_days
    return [
        TopicSpec(names.articles, n, {}),
        TopicSpec(names.articles_dlq, 1, {}),
        TopicSpec(names.detections, n, {}),
        TopicSpec(names.alerts, n, {}),
        TopicSpec(names.alerts_dlq, 1, {}),
        TopicSpec(names.rules, 1, COMPACTED),
        TopicSpec(
            names.rules_history,
            1,
            {"retention.ms": str(history_days * DAY_MS) if history_days else "-1"},
        ),
        TopicSpec(names.silences, 1, COMPACTED),
        TopicSpec(names.deliveries, n, COMPACTED),
        TopicSpec(names.fetch_state, n, COMPACTED),
        TopicSpec(names.fetch_pushes, n, {"retention.ms": str(7 * 86_400_000)}),
        # Superseded password hashes should not linger: small segments get compacted soon.
        TopicSpec(names.users, 1, {**COMPACTED, "segment.ms": "3600000"}),
        TopicSpec(names.audit, 1, {"retention.ms": str(settings.audit_retention_days * DAY_MS)}),
        TopicSpec(names.routes, 1, COMPACTED),
        TopicSpec(names.receivers, 1, COMPACTED),
        TopicSpec(names.gazetteers, 1, COMPACTED),
    ]


def pipeline_app_id(settings: Settings) -> str:
    """Return the stream workers' app id: their consumer group and the prefix of their internal topics."""
    return f"{settings.topic_prefix}{settings.pipeline_id}"


def story_topics(settings: Settings) -> tuple[TopicSpec, TopicSpec]:
    """Return the workers' story-requests and stories topics (one partition each).

    Both are kept for the story window. The stories topic rolls a segment every
    tenth of the window, so what retention deletes is never much older than it
    (the broker deletes whole segments, and rolls one only every 7 days by default).
    """
    app = pipeline_app_id(settings)
    window_ms = int(settings.story_window_s * 1000)
    requests = TopicSpec(f"{app}-story-requests", 1, {"retention.ms": str(window_ms)})
    stories = TopicSpec(
        f"{app}-stories",
        1,
        {"retention.ms": str(window_ms), "segment.ms": str(max(60_000, window_ms // 10))},
    )
    return requests, stories


async def ensure_topics(settings: Settings, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, wait until clients can see them; return the names created.

    Idempotent: existing topics are left as they are (their partition count
    is not changed, since that would move keys between partitions). A topic
    is created on the controller before the brokers' metadata shows it, and a
    faust worker that subscribes in between ignores the topic for good ("Ignoring
    missing topic"), so this returns only once every created topic has all its
    partitions in the metadata.

    Raises:
        BrokerError: the cluster cannot be reached, refused the request, or did
            not show a created topic within ``settings.send_timeout_s``.
    """
    admin = await _start_admin(settings)
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        for spec in wanted:
            topic = NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=dict(spec.config),
            )
            try:
                response = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue
            for name, code, message in _topic_errors(response):
                if code == TopicAlreadyExistsError.errno:
                    continue
                if code:
                    raise BrokerError(
                        f"Kafka refused to create topic {name!r}: {message} (error {code})"
                    )
            created.append(spec.name)
        await _wait_until_visible(
            admin, [spec for spec in wanted if spec.name in created], settings
        )
        return created
    finally:
        await admin.close()


async def delete_prefixed_topics(settings: Settings) -> list[str]:
    """Delete every topic whose name starts with ``settings.topic_prefix``; return their names.

    For throw-away namespaces (a demo run, a benchmark phase): the prefix
    must not be empty, so the pipeline's own topics can never be caught.

    Raises:
        ConfigError: the topic prefix is empty.
        BrokerError: the cluster cannot be reached.
    """
    prefix = settings.topic_prefix
    if not prefix:
        raise ConfigError("refusing to delete topics by an empty prefix: that would be all of them")
    admin = await _start_admin(settings)
    try:
        names = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def _start_admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**client_options(settings, "wirewatch-admin"))
    try:
        await asyncio.wait_for(admin.start(), settings.send_timeout_s)
    except (TimeoutError, KafkaError, OSError) as exc:
        await admin.close()
        raise BrokerError(
            f"cannot reach Kafka at {settings.bootstrap_servers}: {exc or type(exc).__name__}. "
            "Start the local broker with `wirewatch broker start`, or set WIREWATCH_KAFKA_BOOTSTRAP."
        ) from exc
    return admin


async def _wait_until_visible(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], settings: Settings
) -> None:
    deadline = time.monotonic() + settings.send_timeout_s
    waiting = {spec.name: spec.partitions for spec in specs}
    while waiting:
        described = await admin.describe_topics(list(waiting))
        for topic in described:
            if not topic["error_code"] and len(topic["partitions"]) >= waiting.get(
                topic["topic"], 0
            ):
                waiting.pop(topic["topic"], None)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise BrokerError(
                f"Kafka created {sorted(waiting)} but did not show them within "
                f"{settings.send_timeout_s:g} s; is the cluster healthy?"
            )
        await asyncio.sleep(0.05)


def _topic_errors(response: Any) -> list[tuple[str, int, str]]:
    """Return (topic, error code, message) from a CreateTopics response of any version."""
    rows = []
    for item in getattr(response, "topic_errors", ()) or ():
        name, code = item[0], item[1]
        message = item[2] if len(item) > 2 else ""
        rows.append((name, code, message or ""))
    return rows


class DeadLetterWriter:
    """Writes :class:`DeadLetter` envelopes to a dead-letter topic, never silently.

    A dead letter that cannot be written is an error the caller must see:
    losing it would drop a record without trace.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def write(self, letter: DeadLetter) -> None:
        """Send ``letter`` and wait for the broker's acknowledgement."""
        await send_with_deadline(
            self._producer,
            self._topic,
            encode(letter),
            key=(letter.key or letter.origin).encode("utf-8"),
            timeout_s=self._timeout_s,
        )
        log.warning(
            "dead_lettered",
            topic=self._topic,
            stage=letter.stage,
            origin=letter.origin,
            reason=letter.reason,
            error=letter.error,
        )
