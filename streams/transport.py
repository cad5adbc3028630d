"""faust's aiokafka transport with one fix: "seek to committed" rewinds every partition.

faust drops the records it fetched while its flow was stopped (a rebalance in
progress) and then seeks every partition back to its committed offset, so
they are fetched again. aiokafka's ``seek_to_committed`` only moves a
partition whose committed offset is above 0, though: a partition with no
committed offset (a new consumer group, a new topic) kept its position past
the dropped records, and they were never processed. The first records
produced while two workers were joining the group were lost that way (found by
the chaos harness, ``tests/chaos``). Here such partitions are sought to their
beginning, where ``consumer_auto_offset_reset="earliest"`` starts them.
"""

from __future__ import annotations

from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as driver


async def seek_to_committed(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, or its beginning when it has none.

    Returns:
        the committed offsets, as aiokafka's ``seek_to_committed`` returns them.
    """
    committed: dict[TopicPartition, int | None] = await consumer.seek_to_committed()
    uncommitted = [tp for tp, offset in committed.items() if offset is None or offset <= 0]
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)
    return committed


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Any:
        return await self.call_thread(seek_to_committed, self._ensure_consumer())


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class RewindingTransport(driver.Transport):
    """The aiokafka transport, consuming through the rewinding consumer thread."""

    Consumer = _Consumer


def use_rewinding_transport(app: faust.App) -> None:
    """Make ``app`` consume through the transport of this module (before it starts)."""
    app.transport = RewindingTransport(app.conf.broker_consumer, app)
