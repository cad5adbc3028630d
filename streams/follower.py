"""Reading a whole topic on every worker, outside the consumer group.

The rules topic and the story index must be seen in full by every worker,
whereas a faust agent would share their partitions out. A follower assigns
itself every partition, starts from the beginning or from a point in time,
and says when it has caught up with the end it saw at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas import BrokerError, Settings
from schemas.kafka import make_consumer, seek_from

log = structlog.get_logger(__name__)


async def follow_topic(
    settings: Settings,
    topic: str,
    on_record: Callable[[ConsumerRecord[bytes, bytes]], None],
    *,
    caught_up: asyncio.Event,
    since_ms: int | None = None,
) -> None:
    """Call ``on_record`` for every record of ``topic``, forever; set ``caught_up`` once.

    Args:
        since_ms: start at the first record at or after this Unix time in
            milliseconds; None reads from the beginning.

    Raises:
        BrokerError: the topic does not exist.
    """
    consumer = make_consumer(settings, group_id=None, client_id="wirewatch-follower")
    await asyncio.wait_for(consumer.start(), settings.send_timeout_s)
    try:
        partitions = await _partitions(consumer, topic, settings.send_timeout_s)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await seek_from(consumer, tps, since_ms)
        ends = await consumer.end_offsets(tps)
        while True:
            if not caught_up.is_set() and all(
                await asyncio.gather(*(_reached(consumer, tp, ends[tp]) for tp in tps))
            ):
                caught_up.set()
                log.info("follower_caught_up", topic=topic)
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    on_record(record)
    finally:
        await asyncio.wait_for(consumer.stop(), settings.send_timeout_s)


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout_s: float) -> set[int]:
    """Return the partitions of ``topic``, waiting a little for a just-created topic."""
    deadline = time.monotonic() + timeout_s
    while True:
        # consumer.topics() does not update the metadata partitions_for_topic() reads.
        cluster = await consumer._client.fetch_all_metadata()
        partitions: set[int] | None = cluster.partitions_for_topic(topic)
        if partitions:
            return partitions
        if time.monotonic() > deadline:
            raise BrokerError(f"topic {topic!r} does not exist; run `wirewatch topics create`")
        await asyncio.sleep(0.2)


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    position: int = await consumer.position(tp)
    return position >= end
