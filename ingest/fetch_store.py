"""The fetcher's side of Kafka: source states in, articles, dead letters, alerts and states out.

Order of writes for a poll that found articles, so a crash at any point
neither loses an article nor sends one twice:

1. the state with the items' ids as ``pending`` and their teasers' ids as
   ``pending_teasers`` (acknowledged);
2. the articles, each page followed by its teasers (acknowledged);
3. the state with them in ``seen`` and ``pending`` empty.

A fetcher that finds ``pending`` ids in a state it takes over (a crash
between 1 and 3) reads the articles partitions those ids belong to from the
time of the pending record, and counts as produced exactly the items it
finds there whole, the page and every teaser; the others are produced again
by the next poll (the workers drop the exact repeats of what did arrive).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from ingest.partitioner import partition_of
from ingest.poll import PollResult, pending_ids, remembered, settle_pending
from ingest.schedule import Bounds, after_poll
from ingest.sender import encode_article
from ingest.source_health import check_health
from ingest.source_list import SourceSpec
from ingest.sources import Accepted, Rejected
from ingest.websub import push_active
from schemas import Alert, BrokerError, DeadLetter, DeliveryError, Settings
from schemas.fetch_state import FetchState
from schemas.kafka import DeadLetterWriter, encode, make_consumer, seek_from, send_with_deadline

log = structlog.get_logger(__name__)

STATE_REFRESH_S = 600.0
"""A state that changed only in its times is written at least this often."""
_MATERIAL = (
    "last_status",
    "failures",
    "etag",
    "last_modified",
    "seen",
    "health_alert",
    "websub",
    "url",
    "items_total",
)


def bounds_of(source: SourceSpec, settings: Settings) -> Bounds:
    """A source's interval bounds, its own or the settings'."""
    low, high = source.bounds(
        settings.fetch_interval_s, settings.fetch_min_interval_s, settings.fetch_max_interval_s
    )
    return Bounds(low, min(high, max(low, settings.fetch_interval_s)), high)


def initial_state(source: SourceSpec, settings: Settings) -> FetchState:
    """The state of a source never polled: due now, at its usual interval."""
    return FetchState(
        source_id=source.id,
        url=source.url,
        name=source.name,
        interval_s=bounds_of(source, settings).default,
    )


async def read_partitions(
    settings: Settings, tps: list[TopicPartition], since_ms: int | None = None
) -> list[Any]:
    """Every record of ``tps`` from the start (or from ``since_ms``) to the end offsets seen now.

    Raises:
        BrokerError: the end was not reached in time.
    """
    if not tps:
        return []
    consumer: AIOKafkaConsumer = make_consumer(
        settings,
        group_id=None,
        client_id="wirewatch-fetcher-state",
        max_poll_records=5000,
    )
    deadline = time.monotonic() + max(30.0, settings.send_timeout_s)
    records: list[Any] = []
    try:
        await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
        consumer.assign(tps)
        await seek_from(consumer, tps, since_ms)
        ends = await consumer.end_offsets(tps)
        while True:
            behind = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
            if not behind:
                return records
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"could not read {sorted({tp.topic for tp in tps})} to the end in time"
                )
            batches = await consumer.getmany(*behind, timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)


async def read_states(settings: Settings) -> dict[str, FetchState]:
    """The latest state of every source on the fetch state topic (for ``wirewatch sources list``)."""
    consumer: AIOKafkaConsumer = make_consumer(
        settings, group_id=None, client_id="wirewatch-sources"
    )
    await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
    try:
        await asyncio.wait_for(consumer._client.force_metadata_update(), settings.send_timeout_s)
        partitions = consumer.partitions_for_topic(settings.topics.fetch_state) or set()
    finally:
        await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)
    return _latest(
        await read_partitions(
            settings, [TopicPartition(settings.topics.fetch_state, p) for p in sorted(partitions)]
        )
    )


def _latest(records: Iterable[Any]) -> dict[str, FetchState]:
    """The last state of each key among ``records`` (a tombstone forgets it)."""
    states: dict[str, FetchState] = {}
    for record in records:
        source_id = (record.key or b"").decode("utf-8", "replace")
        if record.value is None:
            states.pop(source_id, None)
            continue
        try:
            states[source_id] = FetchState.model_validate_json(record.value)
        except ValidationError as exc:
            log.warning("fetch_state_unreadable", source_id=source_id, error=str(exc)[:300])
    return states


class FetchStore:
    """Reads and writes the fetch state topic, and produces what polls found.

    Args:
        producer: a started idempotent producer (``schemas.kafka.make_producer``).
    """

    def __init__(
        self, settings: Settings, producer: AIOKafkaProducer, rng: random.Random | None = None
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._topics = settings.topics
        self._timeout_s = settings.send_timeout_s
        self._dead_letters = DeadLetterWriter(
            producer, settings.topics.articles_dlq, settings.send_timeout_s
        )
        self._rng = rng or random.Random()
        self._state_partitions: list[int] = []
        self._written: dict[str, FetchState] = {}
        self._article_partitions: list[int] = []

    # --- reading -------------------------------------------------------------

    async def partitions(self) -> list[int]:
        """The partitions of the state topic (a source belongs to the one of its key)."""
        if not self._state_partitions:
            self._state_partitions = sorted(
                await self._producer.partitions_for(self._topics.fetch_state)
            )
        return self._state_partitions

    async def partition_of(self, source_id: str) -> int:
        """The state partition of ``source_id``: which fetcher of the group owns it."""
        return partition_of(source_id.encode("utf-8"), await self.partitions())

    async def load(self, partitions: Iterable[int]) -> dict[str, FetchState]:
        """The latest state of every source in ``partitions`` of the state topic.

        Raises:
            BrokerError: the partitions could not be read to their end in time.
        """
        tps = [TopicPartition(self._topics.fetch_state, p) for p in partitions]
        return _latest(await read_partitions(self._settings, tps)) if tps else {}

    async def confirm_pending(self, state: FetchState) -> FetchState:
        """``state`` with its pending items settled: those whole on the articles topic are seen."""
        if not state.pending:
            return state
        if not self._article_partitions:
            self._article_partitions = sorted(
                await self._producer.partitions_for(self._topics.articles)
            )
        wanted = {key.encode("utf-8"): key for key in pending_ids(state)}
        tps = {
            TopicPartition(self._topics.articles, partition_of(key, self._article_partitions))
            for key in wanted
        }
        since_ms = int(state.updated_at.timestamp() * 1000) - 1000
        found = {
            wanted[record.key]
            for record in await read_partitions(self._settings, sorted(tps), since_ms)
            if record.key in wanted
        }
        log.info(
            "fetch_pending_confirmed",
            source_id=state.source_id,
            records_found=len(found),
            records_missing=len(wanted) - len(found),
        )
        return settle_pending(state, found)

    # --- writing -------------------------------------------------------------

    async def save(self, state: FetchState, *, wait: bool) -> None:
        """Write ``state`` keyed by its source id; ``wait`` for the acknowledgement.

        Raises:
            DeliveryError: waited, and Kafka did not acknowledge it.
        """
        key = state.source_id.encode("utf-8")
        if not state.pending:
            self._written[state.source_id] = state
        if wait:
            await send_with_deadline(
                self._producer,
                self._topics.fetch_state,
                encode(state),
                key=key,
                timeout_s=self._timeout_s,
            )
            return
        try:
            await asyncio.wait_for(
                self._producer.send(self._topics.fetch_state, encode(state), key=key),
                self._timeout_s,
            )
        except (TimeoutError, KafkaError) as exc:
            raise DeliveryError(
                f"Kafka did not take the state of {state.source_id}: {exc}"
            ) from exc

    async def produce(self, articles: list[Accepted], rejected: list[Rejected]) -> int:
        """Send articles and dead letters and wait for every acknowledgement; return articles sent.

        Raises:
            DeliveryError: one was not acknowledged in time.
        """
        sends = []
        for item in articles:
            encoded = encode_article(item, self._settings.max_message_bytes)
            if isinstance(encoded, Rejected):
                rejected = [*rejected, encoded]
                continue
            sends.append(
                send_with_deadline(
                    self._producer,
                    self._topics.articles,
                    encoded.value,
                    key=encoded.key,
                    timeout_s=self._timeout_s,
                )
            )
        await asyncio.gather(*sends)
        for refused in rejected:
            await self._dead_letters.write(
                DeadLetter.wrap(
                    refused.payload,
                    stage="fetch",
                    origin=refused.origin,
                    reason=refused.reason,
                    error=refused.error,
                    max_payload=min(256_000, self._settings.max_message_bytes // 2),
                )
            )
        return len(sends)

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Write one dead letter to ``articles.dlq`` (a push that could not be used)."""
        await self._dead_letters.write(letter)

    async def alert(self, alert: Alert) -> None:
        """Send a source-health alert to the alerts topic, keyed by its idempotency key."""
        await send_with_deadline(
            self._producer,
            self._topics.alerts,
            encode(alert),
            key=alert.key.encode("utf-8"),
            timeout_s=self._timeout_s,
        )
        log.warning("source_health_alert", key=alert.key, title=alert.headline)

    async def record(
        self,
        source: SourceSpec,
        state: FetchState,
        result: PollResult,
        now: datetime | None = None,
        *,
        health: bool = True,
    ) -> FetchState:
        """Produce what ``result`` found and write the state after it (in the order of the module doc).

        ``health``: raise and clear source-health alerts (not for URLs given to ``wirewatch fetch``).

        Returns:
            The new state.

        Raises:
            DeliveryError: Kafka did not acknowledge something; the state on
                the topic then says which articles may have been sent.
        """
        settings = self._settings
        now = now or datetime.now(UTC)
        if result.articles:
            await self.save(result.pending_state(state, now), wait=True)
        if result.articles or result.rejected:
            await self.produce(result.articles, result.rejected)
        read = result.status in ("new", "unchanged", "not_modified")
        after = after_poll(
            state,
            status=result.status,
            bounds=bounds_of(source, settings),
            now=now,
            rng=self._rng,
            backoff_max_s=settings.fetch_backoff_max_s,
            new_items=result.new,
            retry_after=result.retry_after,
            cache_max_age=result.cache_max_age,
            push_active=push_active(state, now),
            error=result.error,
            also={
                "url": source.url,
                "name": source.name,
                "seen": remembered(state, result, settings.fetch_seen_items),
                "pending": {},
                "pending_teasers": {},
                "etag": result.etag if read else state.etag,
                "last_modified": result.last_modified if read else state.last_modified,
            },
        )
        alert = None
        if health:
            after, alert = check_health(after, source, settings, now)
        if alert is not None:
            await self.alert(alert)
        if result.articles or alert is not None or self._material(after, now):
            await self.save(after, wait=bool(result.articles) or alert is not None)
        return after

    def _material(self, state: FetchState, now: datetime) -> bool:
        """True when ``state`` says more than its last written version besides times.

        A poll that changed only times (a 304, nothing new) is written at most
        every :data:`STATE_REFRESH_S`: after a crash such a source is polled a
        little early, which costs one conditional GET.
        """
        last = self._written.get(state.source_id)
        if last is None or (now - last.updated_at).total_seconds() >= STATE_REFRESH_S:
            return True
        return any(getattr(state, name) != getattr(last, name) for name in _MATERIAL)
