"""The workers' faust transport: its seeks on a real broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from schemas import Settings
from schemas.kafka import TopicSpec, ensure_topics, make_consumer, make_producer
from streams.transport import rewind, seek_to_committed


async def topic_of_records(settings: Settings, name: str, count: int) -> str:
    """Create a one-partition topic holding ``count`` records; return its name."""
    topic = f"{settings.topic_prefix}{name}"
    await ensure_topics(settings, [TopicSpec(topic, 1, {})])
    producer = make_producer(settings)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, b"record %d" % n)
    finally:
        await producer.stop()
    return topic


async def fetch_all(consumer: AIOKafkaConsumer, count: int) -> None:
    """Fetch (without committing) until ``count`` records have been returned."""
    fetched = 0
    async with asyncio.timeout(20):
        while fetched < count:
            batches = await consumer.getmany(timeout_ms=200)
            fetched += sum(len(records) for records in batches.values())


async def test_partition_without_committed_offset_is_rewound(kafka_settings: Settings) -> None:
    """Fetched records of a partition with no committed offset are read again after the seek.

    aiokafka's own seek_to_committed leaves such a partition where it was, so
    records faust fetched and dropped during a rebalance were never processed.
    """
    topic = await topic_of_records(kafka_settings, "seek", 3)
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_settings, topic, group_id=f"{kafka_settings.topic_prefix}g")
    await consumer.start()
    try:
        await fetch_all(consumer, 3)
        await consumer.seek_to_committed()
        assert await consumer.position(tp) == 3, "aiokafka now rewinds by itself: drop the fix"

        assert await seek_to_committed(consumer) == {tp: 0}
        assert await consumer.position(tp) == 0

        await consumer.commit({tp: OffsetAndMetadata(2, "")})
        await fetch_all(consumer, 3)
        assert await seek_to_committed(consumer) == {tp: 2}
        assert await consumer.position(tp) == 2
    finally:
        await consumer.stop()


async def test_rewind_moves_back_only(kafka_settings: Settings) -> None:
    """Fetched records are fetched again from the rewind point; a later point moves nothing."""
    topic = await topic_of_records(kafka_settings, "rewind", 4)
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_settings, topic, group_id=f"{kafka_settings.topic_prefix}g")
    await consumer.start()
    try:
        await fetch_all(consumer, 4)
        assert rewind(consumer, {tp: 1}) == {tp: 1}
        assert await consumer.position(tp) == 1
        assert rewind(consumer, {tp: 3}) == {}
        assert rewind(consumer, {TopicPartition(topic, 7): 0}) == {}
        await fetch_all(consumer, 3)
        assert await consumer.position(tp) == 4
    finally:
        await consumer.stop()
