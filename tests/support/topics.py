"""Reading topics to their end, and where a consumer group stands on them.

Checks run from outside the pipeline: a consumer without a group reads every
partition from the beginning up to the end offsets seen when the read starts,
and an admin client fetches a group's committed offsets. Every call is bounded
in time, because the broker may be down while a check runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import Settings
from schemas.kafka import client_options, make_consumer


class Offsets:
    """End offsets of topics and committed offsets of groups, over one pair of connections.

    Use as ``async with Offsets(settings) as offsets:``.
    """

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._admin = AIOKafkaAdminClient(**client_options(settings, "wirewatch-check"))
        self._consumer = make_consumer(settings, group_id=None, client_id="wirewatch-check")

    async def __aenter__(self) -> Offsets:
        await asyncio.wait_for(self._admin.start(), self._timeout_s)
        await asyncio.wait_for(self._consumer.start(), self._timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self._consumer.stop(), self._timeout_s)
        await asyncio.wait_for(self._admin.close(), self._timeout_s)

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        """Every partition of ``topics`` (metadata is refreshed first)."""
        consumer = self._consumer
        await asyncio.wait_for(consumer._client.force_metadata_update(), self._timeout_s)
        return sorted(
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        )

    async def end(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """The end offset (the offset the next record will get) of every partition."""
        tps = await self.partitions(topics)
        ends: dict[TopicPartition, int] = await asyncio.wait_for(
            self._consumer.end_offsets(tps), self._timeout_s
        )
        return ends

    async def committed(self, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """The committed offset of ``group`` on every partition of ``topics`` (0 when none)."""
        tps = await self.partitions(topics)
        found: dict[TopicPartition, Any] = await asyncio.wait_for(
            self._admin.list_consumer_group_offsets(group, partitions=tps), self._timeout_s
        )
        return {tp: max(0, found[tp].offset) if tp in found else 0 for tp in tps}

    async def lag(self, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """Records of ``topics`` not yet committed by ``group``, per partition."""
        wanted = list(topics)
        ends = await self.end(wanted)
        committed = await self.committed(group, wanted)
        return {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}


async def read_to_end(
    settings: Settings, topic: str, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic``, from the beginning to the end offsets seen at the start.

    Raises:
        TimeoutError: the end was not reached within ``timeout_s``.
    """
    consumer: AIOKafkaConsumer = make_consumer(
        settings, group_id=None, client_id="wirewatch-check", max_poll_records=2000
    )
    await asyncio.wait_for(consumer.start(), timeout_s)
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            waiting = {tp for tp, end in ends.items() if end > 0}
            while waiting:
                batches = await consumer.getmany(*waiting, timeout_ms=200)
                for tp, batch in batches.items():
                    records.extend(batch)
                    if batch and batch[-1].offset + 1 >= ends[tp]:
                        waiting.discard(tp)
                for tp in list(waiting):
                    if await consumer.position(tp) >= ends[tp]:
                        waiting.discard(tp)
    finally:
        await consumer.stop()
    return records
