"""The produce loop: articles to the articles topic, rejected records to ``articles.dlq``.

Records are sent without waiting for each acknowledgement (aiokafka batches
them), and an article counts as produced only when the broker acknowledged
it. Rejected records become :class:`~schemas.DeadLetter` envelopes, each
awaited: nothing is dropped without trace.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas import BrokerError, DeadLetter, DeliveryError, Settings, WirewatchError
from schemas.kafka import DeadLetterWriter, ensure_topics, make_producer, pipeline_topics
from wirewatch.sources import (
    Accepted,
    Item,
    Rejected,
    jsonl_items,
    numbered_lines,
    read_articles,
    read_file,
    source_of_path,
    walk_files,
)

log = structlog.get_logger(__name__)

MAX_IN_FLIGHT = 20_000
"""Articles sent but not yet acknowledged before the loop waits for the broker."""

PARALLEL_MIN_BYTES = 4_000_000
"""A JSON Lines file this large is validated in worker processes (smaller: not worth a fork)."""

CHUNK_LINES = 1_000
"""JSON lines handed to a worker process at a time."""

CHUNKS_AHEAD = 3
"""Chunks being validated while the current one is sent."""

FOLLOW_POLL_S = 0.5
"""How often ``--follow`` looks for new files in the spool directory."""


class Encoded(NamedTuple):
    """An article ready for Kafka: its origin, key (the id) and JSON value.

    A tuple, so chunks of them cross from a worker process cheaply.
    """

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


def encode_lines(
    lines: list[tuple[int, bytes | None]], settings: Settings, origin: str, default_source: str
) -> list[Encoded | Rejected]:
    """Validate and serialise a chunk of numbered JSON lines (runs in a worker process)."""
    return [
        encode_article(item, settings.max_message_bytes) if isinstance(item, Accepted) else item
        for item in jsonl_items(lines, settings, origin, default_source)
    ]


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
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self.summary = ProduceSummary()

    async def send_all(self, items: Iterable[Item | Encoded]) -> None:
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
                for count, item in enumerate(items, start=1):
                    if self._interval:  # rate-limited, so slow: report every record
                        await self._pace(loop)
                        deadline.reschedule(loop.time() + self._timeout_s)
                        self._report()
                    if isinstance(item, Accepted):
                        item = encode_article(item, self._max_bytes)
                    if isinstance(item, Rejected):
                        await self._dead_letter(item)
                    else:
                        await self._send_encoded(item)
                    if count % 256 == 0:
                        if self.stop.is_set():
                            return
                        deadline.reschedule(loop.time() + self._timeout_s)
                        # Let the producer's sender task run and acknowledgements arrive.
                        await asyncio.sleep(0)
                        self._report()
        except TimeoutError:
            raise DeliveryError(
                f"Kafka accepted no article on {self._topic!r} for {self._timeout_s:g} s "
                f"(WIREWATCH_SEND_TIMEOUT_S); is the broker at {self._bootstrap} up?"
            ) from None

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.summary)

    async def _pace(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if self._next_send > now:
            await asyncio.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + self._interval

    async def _send_encoded(self, item: Encoded) -> None:
        if self._in_flight >= MAX_IN_FLIGHT:
            await self._wait_in_flight(MAX_IN_FLIGHT // 2)
        try:
            future = await self._producer.send(self._topic, item.value, key=item.key)
        except KafkaError as exc:  # refused before queueing: count it, never drop it
            self._failed(item.origin, exc)
            return
        self._in_flight += 1
        self._drained.clear()
        future.add_done_callback(lambda done: self._acknowledged(done, item.origin))

    def _acknowledged(self, future: asyncio.Future[Any], origin: str) -> None:
        self._in_flight -= 1
        if future.cancelled():
            self._failed(origin, asyncio.CancelledError())
        elif (exc := future.exception()) is not None:
            self._failed(origin, exc)
        else:
            self.summary.produced += 1
        if self._in_flight == 0:
            self._drained.set()

    def _failed(self, origin: str, exc: BaseException) -> None:
        self.summary.failed += 1
        log.error("delivery_failed", topic=self._topic, origin=origin, error=repr(exc))

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

        Articles still unacknowledged at the deadline count as failed.
        """
        await self._producer.flush()  # hands queued batches to the sender now
        try:
            await asyncio.wait_for(self._drained.wait(), self._timeout_s)
        except TimeoutError:
            self.summary.failed += self._in_flight
            log.error("delivery_timeout", topic=self._topic, unacknowledged=self._in_flight)
            self._in_flight = 0
        self._report()


async def produce(
    settings: Settings,
    paths: Sequence[str | Path],
    *,
    stdin: BinaryIO | None = None,
    follow: Path | None = None,
    rate: float | None = None,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ProduceSummary], None] | None = None,
    producer: AIOKafkaProducer | None = None,
    parse_workers: int = 1,
) -> ProduceSummary:
    """Produce every article of ``paths`` (then of files landing in ``follow``) to Kafka.

    Creates the articles topics when missing. With ``follow``, runs until
    ``stop`` is set; without, ``stop`` ends the run early (what was sent is
    still drained and counted). ``producer`` replaces the default one (benchmarks).
    A JSON Lines file of at least :data:`PARALLEL_MIN_BYTES` named in
    ``paths`` is validated by ``parse_workers`` worker processes while this
    one sends (0: everything in this process).

    Raises:
        BrokerError: the cluster cannot be reached.
        DeliveryError: the broker stopped acknowledging articles.
        WirewatchError: a worker process died.
    """
    wanted = {settings.topics.articles, settings.topics.articles_dlq}
    await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name in wanted])
    own_producer = producer is None
    producer = producer or make_producer(settings, client_id="wirewatch-produce")
    if own_producer:
        await _start(producer, settings)
    sender = ArticleSender(producer, settings, rate=rate, on_progress=on_progress, stop=stop)
    pool: ProcessPoolExecutor | None = None
    try:
        for path in paths:
            if sender.stop.is_set():
                break
            if parse_workers > 0 and _is_large_jsonl(path):
                pool = pool or _worker_pool(parse_workers)
                async for chunk in _encoded_chunks(Path(path), settings, pool):
                    await sender.send_all(chunk)
                    if sender.stop.is_set():
                        break
            else:
                await sender.send_all(read_articles([path], settings, stdin=stdin))
        if follow is not None:
            await _follow(sender, settings, follow, sender.stop)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        await sender.drain()
        if own_producer:
            await _stop(producer, settings)
    log.info(
        "produce_finished",
        produced=sender.summary.produced,
        invalid=sender.summary.invalid,
        dead_lettered=sender.summary.dead_lettered,
        failed=sender.summary.failed,
    )
    return sender.summary


def _is_large_jsonl(path: str | Path) -> bool:
    path = Path(path)
    try:
        return path.suffix.lower() in {".jsonl", ".ndjson"} and (
            path.is_file() and path.stat().st_size >= PARALLEL_MIN_BYTES
        )
    except OSError:
        return False  # read_articles reports it


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    # fork: a worker is ready in milliseconds (spawn re-imports pydantic for ~0.5 s)
    # and runs only encode_lines, never the parent's event loop or sockets.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


async def _encoded_chunks(
    path: Path, settings: Settings, pool: ProcessPoolExecutor
) -> AsyncIterator[list[Encoded | Rejected]]:
    """Yield a JSON Lines file as chunks of encoded articles, built in ``pool``, in order.

    A few chunks are built ahead, so workers validate while this process sends.
    """
    loop = asyncio.get_running_loop()
    origin = str(path)
    default_source = source_of_path(path)
    ahead: deque[asyncio.Future[list[Encoded | Rejected]]] = deque()
    empty = True
    try:
        with path.open("rb") as stream:
            lines = numbered_lines(stream, settings.max_file_bytes)
            while batch := list(itertools.islice(lines, CHUNK_LINES)):
                ahead.append(
                    loop.run_in_executor(
                        pool, encode_lines, batch, settings, origin, default_source
                    )
                )
                if len(ahead) > CHUNKS_AHEAD:
                    chunk = await _result(ahead.popleft(), origin)
                    empty = empty and not chunk
                    yield chunk
        while ahead:
            chunk = await _result(ahead.popleft(), origin)
            empty = empty and not chunk
            yield chunk
    finally:
        for future in ahead:
            future.cancel()
    if empty:
        yield [Rejected(origin, "empty", f"{origin} has no records", None)]


async def _result(
    future: asyncio.Future[list[Encoded | Rejected]], origin: str
) -> list[Encoded | Rejected]:
    try:
        return await future
    except BrokenProcessPool as exc:
        raise WirewatchError(
            f"the worker process validating {origin} died ({exc}); "
            "rerun with --parse-workers 0 to validate in one process"
        ) from exc


async def _start(producer: AIOKafkaProducer, settings: Settings) -> None:
    try:
        await asyncio.wait_for(producer.start(), settings.send_timeout_s)
    except (TimeoutError, KafkaError, OSError) as exc:
        await _stop(producer, settings)
        raise BrokerError(
            f"cannot reach Kafka at {settings.bootstrap_servers}: {exc or type(exc).__name__}. "
            "Start the local broker with `wirewatch broker start`, or set WIREWATCH_KAFKA_BOOTSTRAP."
        ) from exc


async def _stop(producer: AIOKafkaProducer, settings: Settings) -> None:
    try:
        await asyncio.wait_for(producer.stop(), settings.send_timeout_s)
    except TimeoutError:  # aiokafka 1101: stop() can hang while the broker is down
        log.warning("producer_stop_timeout", timeout_s=settings.send_timeout_s)


async def _follow(
    sender: ArticleSender, settings: Settings, directory: Path, stop: asyncio.Event
) -> None:
    """Produce files as they land in ``directory`` until ``stop`` is set.

    A file is read once its size and modification time stayed the same for
    one poll (so a file still being copied is not read half-way), and again
    if it changes later: ids are stable, so a re-read gives the same keys.
    """
    done: dict[Path, tuple[int, int]] = {}
    seen: dict[Path, tuple[int, int]] = {}
    log.info("following", directory=str(directory))
    while not stop.is_set():
        current: dict[Path, tuple[int, int]] = {}
        for path in walk_files(directory):
            try:
                info = path.stat()
            except OSError:
                continue  # deleted between listing and stat
            current[path] = (info.st_size, info.st_mtime_ns)
        for path, state in current.items():
            if seen.get(path) == state and done.get(path) != state:
                done[path] = state
                await sender.send_all(read_file(path, settings, sniff=False))
        seen = current
        try:
            await asyncio.wait_for(stop.wait(), FOLLOW_POLL_S)
        except TimeoutError:
            continue
