"""Sending articles: record batches built here, acknowledgements counted, nothing dropped.

Articles are appended to one record batch per partition and handed to
aiokafka whole (``create_batch``/``send_batch``) when full: a ``send()`` per
record costs about 22 µs of CPU, a batch append about 10, and the sending
process is the bottleneck of a large produce. Partitions are chosen as
``send()`` chooses them (murmur2 of the key, as the Java client), so an
article's partition does not depend on the path it took. An article counts
as produced only when the broker acknowledged its batch. Rejected records
become :class:`~schemas.DeadLetter` envelopes, each awaited.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder

from ingest.partitioner import partition_of
from ingest.sources import Accepted, Item, Rejected
from schemas import BrokerError, DeadLetter, DeliveryError, Settings
from schemas.kafka import DeadLetterWriter

log = structlog.get_logger(__name__)

MAX_IN_FLIGHT = 20_000
"""Articles sent but not yet acknowledged before the loop waits for the broker."""


@dataclass(slots=True)
class _OpenBatch:
    """A partition's record batch being filled: how many articles, and from where."""

    builder: BatchBuilder
    first_origin: str
    last_origin: str = ""
    count: int = 1

    def add(self, origin: str) -> None:
        self.last_origin = origin
        self.count += 1

    @property
    def origins(self) -> str:
        """Where its articles came from, for the log of a failed batch."""
        if self.count == 1:
            return self.first_origin
        return f"{self.first_origin} ... {self.last_origin}"


class Encoded(NamedTuple):
    """An article ready for Kafka: its origin, key (the id) and JSON value."""

    origin: str
    key: bytes
    value: bytes


def encode_article(item: Accepted, max_message_bytes: int) -> Encoded | Rejected:
    """Serialise an accepted article; an article over the Kafka message limit is rejected."""
    value = item.article.model_dump_json().encode("utf-8")
    if len(value) > max_message_bytes:
        return Rejected(
            item.origin,
            "too_large",
            f"{item.origin}: the article is {len(value)} bytes as JSON, over the Kafka "
            f"message limit of {max_message_bytes} (WIREWATCH_MAX_MESSAGE_BYTES)",
            value,
        )
    return Encoded(item.origin, item.article.id.encode("utf-8"), value)


@dataclass
class ProduceSummary:
    """What a produce run did: every record read ends in exactly one count.

    ``invalid`` records were dead-lettered (``dead_lettered``) unless the dead
    letter itself could not be written; ``failed`` counts articles and dead
    letters the broker did not acknowledge.
    """

    produced: int = 0
    invalid: int = 0
    dead_lettered: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def delivered_all(self) -> bool:
        """True when every record read reached Kafka (as an article or a dead letter)."""
        return self.failed == 0

    @property
    def records(self) -> int:
        """How many records were read: each is produced, invalid or failed."""
        return self.produced + self.invalid + self.failed

    def snapshot(self) -> ProduceSummary:
        """A copy that later counting does not change (to hand to another process)."""
        return replace(self, reasons=Counter(self.reasons))

    def add(self, other: ProduceSummary) -> None:
        """Count ``other``'s records in this summary too."""
        self.produced += other.produced
        self.invalid += other.invalid
        self.dead_lettered += other.dead_lettered
        self.failed += other.failed
        self.reasons.update(other.reasons)

    def describe(self, topic: str, dlq_topic: str) -> str:
        """One line for people: how many produced, invalid, dead-lettered, failed."""
        text = f"produced {self.produced} article{'' if self.produced == 1 else 's'} to {topic}"
        if self.invalid:
            why = ", ".join(f"{reason} {n}" for reason, n in self.reasons.most_common())
            text += f"; {self.invalid} invalid ({why}), {self.dead_lettered} dead-lettered to {dlq_topic}"
        if self.failed:
            text += f"; {self.failed} NOT delivered"
        return text


class ArticleSender:
    """Sends articles and dead letters through one producer, counting every outcome.

    Args:
        producer: a started producer (see :func:`schemas.kafka.make_producer`).
        settings: topics, ``max_message_bytes`` and the send deadline.
        rate: at most this many records per second; None for as fast as possible.
        on_progress: called with the summary every few hundred records.
        stop: when set (Ctrl-C), sending ends after the current few hundred records.
    """

    def __init__(
        self,
        producer: AIOKafkaProducer,
        settings: Settings,
        *,
        rate: float | None = None,
        on_progress: Callable[[ProduceSummary], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self._producer = producer
        self.stop = stop or asyncio.Event()
        self._topic = settings.topics.articles
        self._timeout_s = settings.send_timeout_s
        self._max_bytes = settings.max_message_bytes
        self._bootstrap = settings.bootstrap_servers
        self._dead_letters = DeadLetterWriter(
            producer, settings.topics.articles_dlq, settings.send_timeout_s
        )
        self._interval = 1.0 / rate if rate else 0.0
        self._next_send = 0.0
        self._on_progress = on_progress
        self._partitions: list[int] = []
        self._open: dict[int, _OpenBatch] = {}
        self._buffered = 0
        self._in_flight = 0
        self._gave_up = False
        self._drained = asyncio.Event()
        self._drained.set()
        self.summary = ProduceSummary()

    async def send_all(self, items: Iterable[Item]) -> None:
        """Send every item; return when all are handed to the producer (not yet acknowledged).

        Raises:
            DeliveryError: the producer accepted nothing for ``send_timeout_s``
                (aiokafka's ``send`` can hang while the broker is down).
        """
        loop = asyncio.get_running_loop()
        try:
            # One deadline, pushed back every few hundred records, bounds every
            # send without the cost of a timer per record.
            async with asyncio.timeout(loop.time() + self._timeout_s) as deadline:
                try:
                    await self._send_items(items, loop, deadline)
                finally:
                    # what was read is sent, also when stopping early
                    await self._ship_all()
        except TimeoutError:
            raise DeliveryError(
                f"Kafka accepted no article on {self._topic!r} for {self._timeout_s:g} s "
                f"(WIREWATCH_SEND_TIMEOUT_S); is the broker at {self._bootstrap} up?"
            ) from None

    async def _send_items(
        self,
        items: Iterable[Item],
        loop: asyncio.AbstractEventLoop,
        deadline: asyncio.Timeout,
    ) -> None:
        for count, item in enumerate(items, start=1):
            if self._interval:  # rate-limited, so slow: each record goes out at once
                await self._pace(loop)
                deadline.reschedule(loop.time() + self._timeout_s)
            encoded = encode_article(item, self._max_bytes) if isinstance(item, Accepted) else item
            if isinstance(encoded, Rejected):
                await self._dead_letter(encoded)
            else:
                await self._append(encoded)
            if self._interval:
                await self._ship_all()
                self._report()
            if count % 256 == 0:
                if self.stop.is_set():
                    return
                deadline.reschedule(loop.time() + self._timeout_s)
                # Let the producer's sender task run and acknowledgements arrive.
                await asyncio.sleep(0)
                self._report()

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.summary)

    async def _pace(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if self._next_send > now:
            await asyncio.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + self._interval

    async def _append(self, item: Encoded) -> None:
        """Add an article to its partition's open batch, shipping the batch when full."""
        if self._in_flight + self._buffered >= MAX_IN_FLIGHT:
            await self._ship_all()
            await self._wait_in_flight(MAX_IN_FLIGHT // 2)
        if not self._partitions:
            try:
                self._partitions = sorted(await self._producer.partitions_for(self._topic))
            except KafkaError as exc:  # no metadata for the topic: count it, never drop it
                self._failed(item.origin, exc)
                return
        partition = partition_of(item.key, self._partitions)
        batch = self._open.get(partition)
        if batch is not None:
            if batch.builder.append(key=item.key, value=item.value, timestamp=None) is not None:
                batch.add(item.origin)
                self._buffered += 1
                return
            await self._ship(partition)  # full
        batch = self._open[partition] = _OpenBatch(self._producer.create_batch(), item.origin)
        # a new batch takes any one record, however large (encode_article capped its size)
        batch.builder.append(key=item.key, value=item.value, timestamp=None)
        self._buffered += 1

    async def _ship_all(self) -> None:
        for partition in list(self._open):
            await self._ship(partition)

    async def _ship(self, partition: int) -> None:
        """Hand a partition's open batch to the producer; its articles are now in flight."""
        batch = self._open[partition]
        try:
            future = await self._producer.send_batch(
                batch.builder, self._topic, partition=partition
            )
        except KafkaError as exc:  # refused before queueing: count it, never drop it
            self._close(partition)
            self._failed(batch, exc)
            return
        # Cancelled above (a deadline), the batch stays open and is counted by drain().
        self._close(partition)
        self._in_flight += batch.count
        self._drained.clear()
        future.add_done_callback(lambda done: self._acknowledged(done, batch))

    def _close(self, partition: int) -> None:
        self._buffered -= self._open.pop(partition).count

    def _acknowledged(self, future: asyncio.Future[Any], batch: _OpenBatch) -> None:
        if self._gave_up:  # counted failed by drain() already
            return
        self._in_flight -= batch.count
        if future.cancelled():
            self._failed(batch, asyncio.CancelledError())
        elif (exc := future.exception()) is not None:
            self._failed(batch, exc)
        else:
            self.summary.produced += batch.count
        if self._in_flight == 0:
            self._drained.set()

    def _failed(self, what: str | _OpenBatch, exc: BaseException) -> None:
        if isinstance(what, str):
            self.summary.failed += 1
            log.error("delivery_failed", topic=self._topic, origin=what, error=repr(exc))
            return
        self.summary.failed += what.count
        log.error(
            "delivery_failed",
            topic=self._topic,
            articles=what.count,
            origins=what.origins,
            error=repr(exc),
        )

    async def _wait_in_flight(self, target: int) -> None:
        deadline = time.monotonic() + self._timeout_s
        while self._in_flight > target:
            if time.monotonic() > deadline:
                raise DeliveryError(
                    f"Kafka did not acknowledge {self._in_flight} articles on {self._topic!r} "
                    f"within {self._timeout_s:g} s (WIREWATCH_SEND_TIMEOUT_S)"
                )
            await asyncio.sleep(0.005)

    async def _dead_letter(self, item: Rejected) -> None:
        self.summary.invalid += 1
        self.summary.reasons[item.reason] += 1
        letter = DeadLetter.wrap(
            item.payload,
            stage="produce",
            origin=item.origin,
            reason=item.reason,
            error=item.error,
            max_payload=min(256_000, self._max_bytes // 2),
        )
        try:
            await self._dead_letters.write(letter)
        except DeliveryError as exc:
            self._failed(item.origin, exc)
            return
        self.summary.dead_lettered += 1

    async def drain(self) -> None:
        """Wait until every article sent was acknowledged or failed, at most the send deadline.

        Articles not acknowledged by then count as failed, and a late
        acknowledgement does not count them again: an idempotent aiokafka
        producer retries a batch for as long as the broker is down, so
        without this deadline a run would wait for it forever.
        """
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._ship_all()
                await self._producer.flush()  # hands lingering batches to the sender now
                await self._drained.wait()
        except TimeoutError:
            for partition, batch in list(self._open.items()):
                self._close(partition)
                self._failed(batch, TimeoutError("the producer accepted no batch"))
            if self._in_flight:
                log.error("delivery_timeout", topic=self._topic, unacknowledged=self._in_flight)
                self.summary.failed += self._in_flight
            self._in_flight = 0
            self._gave_up = True
        self._report()


async def start_producer(producer: AIOKafkaProducer, settings: Settings) -> None:
    """Start ``producer`` within the send deadline.

    Raises:
        BrokerError: the cluster cannot be reached (the producer is stopped again).
    """
    try:
        await asyncio.wait_for(producer.start(), settings.send_timeout_s)
    except (TimeoutError, KafkaError, OSError) as exc:
        await stop_producer(producer, settings)
        raise BrokerError(
            f"cannot reach Kafka at {settings.bootstrap_servers}: {exc or type(exc).__name__}. "
            "Start the local broker with `wirewatch broker start`, or set WIREWATCH_KAFKA_BOOTSTRAP."
        ) from exc


async def stop_producer(producer: AIOKafkaProducer, settings: Settings) -> None:
    """Stop ``producer`` (flushing what it holds), giving up after the send deadline."""
    try:
        await asyncio.wait_for(producer.stop(), settings.send_timeout_s)
    except TimeoutError:  # aiokafka 1101: stop() can hang while the broker is down
        log.warning("producer_stop_timeout", timeout_s=settings.send_timeout_s)
