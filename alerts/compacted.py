"""Reading a compacted topic into memory: the silences and the delivery ledger (and recent alerts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import BrokerError, Settings
from schemas.kafka import make_consumer


class CompactedReader:
    """Follows every partition of one topic from the beginning, without a consumer group.

    :meth:`catch_up` reads until the end offsets seen when it is called, so
    everything acknowledged before the call has been applied when it returns.
    """

    def __init__(
        self,
        settings: Settings,
        topic: str,
        apply: Callable[[bytes | None, bytes | None], None],
        client_id: str = "wirewatch-notifier",
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._apply = apply
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def start(self, since_ms: int | None = None) -> None:
        """Connect and read every partition of the topic from its beginning.

        Without a group there are no committed offsets, so ``earliest`` means
        the beginning; the subscription covers every partition.

        Args:
            since_ms: start instead at the first record at or after this Unix
                time in milliseconds (a topic that is not compacted: recent alerts).
        """
        consumer = make_consumer(
            self._settings, self._topic, group_id=None, client_id=self._client_id
        )
        await asyncio.wait_for(consumer.start(), self._settings.send_timeout_s)
        self._consumer = consumer
        deadline = time.monotonic() + self._settings.send_timeout_s
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"topic {self._topic!r} has no partitions; run `wirewatch topics create`"
                )
            await asyncio.sleep(0.05)
        self._partitions = sorted(consumer.assignment())
        if since_ms is not None:
            found = await consumer.offsets_for_times(dict.fromkeys(self._partitions, since_ms))
            for tp in self._partitions:
                point = found.get(tp)
                if point is None:
                    await consumer.seek_to_end(tp)
                else:
                    consumer.seek(tp, point.offset)

    async def catch_up(self, timeout_s: float | None = None) -> int:
        """Apply every record up to the current end offsets; return how many were applied.

        Raises:
            BrokerError: the end was not reached within ``timeout_s``.
        """
        consumer = self._require()
        limit = timeout_s or self._settings.send_timeout_s
        ends: dict[Any, int] = await asyncio.wait_for(consumer.end_offsets(self._partitions), limit)
        deadline = time.monotonic() + limit
        count = 0
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if time.monotonic() > deadline:
                raise BrokerError(f"could not read {self._topic!r} to its end within {limit:g} s")
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    self._apply(record.key, record.value)
                    count += 1
        return count

    async def poll(self, timeout_ms: int = 1000) -> int:
        """Apply whatever arrives within ``timeout_ms``; return how many records were applied."""
        batches = await self._require().getmany(timeout_ms=timeout_ms)
        count = 0
        for records in batches.values():
            for record in records:
                self._apply(record.key, record.value)
                count += 1
        return count

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("CompactedReader.start() was not called")
        return self._consumer

    async def stop(self) -> None:
        """Close the consumer."""
        if self._consumer is not None:
            await asyncio.wait_for(self._consumer.stop(), self._settings.send_timeout_s)
            self._consumer = None
