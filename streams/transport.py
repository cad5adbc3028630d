"""faust's aiokafka transport, fixed so that no record is committed without being processed.

faust reads a batch of records from aiokafka, which moves the partition's
position past them, then hands the batch to the streams, and drops some
records on the way: those of a partition that stopped being active while the
batch was fetched (faust pauses and resumes partitions around table recovery,
and hands aiokafka the very set it mutates), the rest of a batch once the
group generation changed, all of it when its flow is stopped, or one whose
delivery was cut by a flow suspension. Nothing moved the position back. Worse,
its commit logic then skipped the hole: it counts a jump in offsets as a
"gap" (meant for transaction markers and compaction, which these topics do not
have) and commits over it, it accepts a first acked offset one past the
committed one, and it checks nothing on a partition with no committed offset
yet. The chaos harness (``tests/chaos``) lost 2 to 200 articles this way in
about one run in five of "SIGKILL a worker every 10 s", and the first records
of a new pipeline in most runs of its baseline.

The consumer here keeps faust's stream logic and changes these things:

- "seek to committed" also rewinds a partition that has no committed offset
  (aiokafka's own ``seek_to_committed`` moves only partitions committed above
  0), and remembers where each partition resumes;
- a partition whose fetched records were not all handed to a stream is sought
  back to the first of them (never forward);
- a commit covers only the run of acked offsets that starts exactly where the
  partition resumed or was last committed; a hole before the next acked
  offset commits nothing and the partition is fetched again from the hole;
- no record is handed to a stream between the start of "seek to committed"
  and the flow's resumption: faust resumes the stream partitions, seeks
  them while the fetcher keeps running (aiokafka seeks one partition at a
  time, each after a round trip for its committed offset), then clears every
  stream's queue as it resumes the flow. A record fetched after its
  partition's seek and handed before that clear was dropped with the
  position already past it, so a worker restarted with a backlog stalled
  (nothing acked after the hole, so no repair) until more records came;
- no commit happens once a record failed to be sent: faust flushes the
  producer before committing but does not look at the outcome, so a
  detection dropped by aiokafka during a broker outage (its batch expires
  after the request timeout) was committed over and lost. The worker stops
  instead, and its replacement processes those records again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as driver


async def seek_to_committed(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    """Seek every assigned partition to its committed offset, or its beginning when it has none.

    Returns:
        where each partition resumes: its committed offset, or its beginning offset.
    """
    committed: dict[TopicPartition, int | None] = await consumer.seek_to_committed()
    uncommitted = [tp for tp, offset in committed.items() if offset is None or offset <= 0]
    starts = {tp: offset for tp, offset in committed.items() if offset is not None and offset > 0}
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)
        starts.update(await consumer.beginning_offsets(uncommitted))
    return starts


def contiguous_end(acked: Sequence[int], start: int) -> int | None:
    """The offset after the run of ``acked`` offsets that begins exactly at ``start``.

    Args:
        acked: acked offsets, sorted, none below ``start``.
        start: the first offset not yet committed.

    Returns:
        the offset to commit, or None when ``start`` itself is not acked.
    """
    end = start
    for offset in acked:
        if offset != end:
            break
        end += 1
    return end if end > start else None


def rewind(consumer: AIOKafkaConsumer, offsets: Mapping[Any, int]) -> dict[TopicPartition, int]:
    """Seek each assigned partition back to ``offsets[tp]`` if it is past it; return the moves.

    Synchronous, so that no fetch result is taken in between (faust runs the
    consumer's calls on its own event loop, and a fetch only moves a position
    when its records are taken). A partition is never moved forward.
    """
    assignment = consumer.assignment()
    states = consumer._subscription.subscription.assignment  # aiokafka keeps positions here
    moved: dict[TopicPartition, int] = {}
    for tp, offset in offsets.items():
        partition = TopicPartition(tp.topic, tp.partition)
        if partition not in assignment:
            continue  # revoked: its new owner starts from the committed offset
        state = states.state_value(partition)
        if state.has_valid_position and state.position > offset:
            consumer.seek(partition, offset)
            moved[partition] = offset
    return moved


def first_not_handed(batch: Mapping[Any, list[Any]], handed: Mapping[Any, int]) -> dict[Any, int]:
    """The offset of the first record of each partition in ``batch`` after the last one handed on.

    Args:
        batch: records fetched, per partition, in offset order.
        handed: the offset of the last record handed to a stream, per partition.
    """
    dropped: dict[Any, int] = {}
    for tp, records in batch.items():
        last = handed.get(tp)
        rest = [record.offset for record in records if last is None or record.offset > last]
        if rest:
            dropped[tp] = rest[0]
    return dropped


class SendWatch:
    """Keeps the first failure among the send futures it is given."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None
        self._unsettled: set[asyncio.Future[Any]] = set()

    def watch(self, future: asyncio.Future[Any]) -> None:
        """Note ``future``'s outcome when it settles."""
        self._unsettled.add(future)
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._unsettled.discard(future)
        if self.failure is None and not future.cancelled():
            self.failure = future.exception()

    def first_failure(self) -> BaseException | None:
        """The first failed send, counting those settled whose callbacks have not run yet."""
        if self.failure is None:
            for future in list(self._unsettled):
                if future.done() and not future.cancelled() and future.exception() is not None:
                    self.failure = future.exception()
                    break
        return self.failure


class CheckedProducer(driver.Producer):
    """faust's aiokafka producer, watching every send for failure."""

    sends: SendWatch

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sends = SendWatch()

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        future = asyncio.ensure_future(
            await super().send(
                topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
            )
        )
        self.sends.watch(future)
        return future


class RewindingConsumerThread(driver.AIOKafkaConsumerThread):
    """faust's aiokafka consumer thread, with the seeks of this module."""

    async def seek_to_committed(self) -> Any:
        return await self.call_thread(seek_to_committed, self._ensure_consumer())

    async def rewind(self, offsets: Mapping[Any, int]) -> dict[TopicPartition, int]:
        """Seek partitions back to ``offsets`` (see :func:`rewind`)."""
        consumer = self._ensure_consumer()

        async def call() -> dict[TopicPartition, int]:
            return rewind(consumer, offsets)

        moved: dict[TopicPartition, int] = await self.call_thread(call)
        return moved

    async def seek_on_thread(self, partition: TopicPartition, offset: int) -> None:
        """Seek ``partition`` to ``offset`` on the consumer's own thread (see :meth:`RewindingConsumer._seek`)."""
        consumer = self._ensure_consumer()

        async def call() -> None:
            consumer.seek(partition, offset)

        await self.call_thread(call)


class RewindingConsumer(driver.Consumer):
    """faust's aiokafka consumer, fetching again whatever it dropped from a batch."""

    _thread: RewindingConsumerThread
    _batch: Mapping[Any, list[Any]] = {}
    _starts: dict[Any, int]
    _repairing: set[Any]
    _may_hand: asyncio.Event
    _not_handing: asyncio.Event

    def __post_init__(self) -> None:
        super().__post_init__()
        self._starts = {}
        self._repairing = set()
        # Cleared from "seek to committed" until the flow resumes (see perform_seek).
        self._may_hand = asyncio.Event()
        self._may_hand.set()
        self._not_handing = asyncio.Event()  # cleared while a record is being handed on
        self._not_handing.set()

    def _new_consumer_thread(self) -> Any:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109  # faust's signature
        self._batch = await super()._getmany(active_partitions, timeout)
        return self._batch

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109  # faust's signature
        """faust's getmany; then the partitions it dropped records of are sought back to them."""
        self._batch = {}
        if not self._may_hand.is_set():
            # A seek runs: fetch nothing until the flow resumes (see perform_seek).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._may_hand.wait(), timeout)
            return
        handed: dict[Any, int] = {}
        async for tp, message in super().getmany(timeout):
            if not self._may_hand.is_set():
                break  # the rest is fetched again from where the seek puts it
            handed[tp] = message.offset
            self._not_handing.clear()
            try:
                yield tp, message  # faust hands it on, then sets its read offset
            finally:
                self._not_handing.set()
        dropped = first_not_handed(self._batch, handed)
        if dropped:
            moved = await self._thread.rewind(dropped)
            if moved:
                self.log.info("Fetching again records not handed to streams: %r", moved)

    async def _seek(self, partition: Any, offset: int) -> None:
        # faust seeks on the caller's (main) thread, while the consumer thread
        # may be iterating the fetcher's buffered records: aiokafka's seek
        # deletes the partition's entry under it, and the restarted worker
        # crashed with "KeyError: TopicPartition(...)" in fetched_records.
        await self._thread.seek_on_thread(partition, offset)

    async def _commit(self, offsets: Any) -> bool:
        producer = self.app.producer
        failure = producer.sends.first_failure() if isinstance(producer, CheckedProducer) else None
        if failure is not None:
            # The records these outputs came from must be processed again: stop
            # without committing, and let the restarted worker replay them.
            self.log.error("A record could not be sent, stopping before the commit: %r", failure)
            await self.app.crash(failure)
            return False
        committed: bool = await super()._commit(offsets)
        return committed

    async def perform_seek(self) -> None:
        """Seek every partition to where it resumes (faust's own, with the starts remembered).

        faust runs it with the fetcher going and clears the streams' queues
        right after it, when it resumes the flow: a record handed on after its
        partition's seek would be cleared with the position past it, and the
        read offset reset here would hide the hole. So nothing is handed on
        from here to :meth:`resume_flow`, and the seek waits for the record
        being handed on, whose read offset faust sets afterwards.
        """
        self._may_hand.clear()
        with contextlib.suppress(TimeoutError):  # a stream that never takes it: seek anyway
            await asyncio.wait_for(
                self._not_handing.wait(), self.app.conf.broker_request_timeout / 2
            )
        starts = await self.seek_to_committed()
        self._starts.update(starts)
        self._read_offset.update(starts)
        self._committed_offset.update({tp: offset or None for tp, offset in starts.items()})

    def resume_flow(self) -> None:
        """faust's; records may be handed on again (faust has cleared the queues just before)."""
        super().resume_flow()
        self._may_hand.set()

    def _new_offset(self, tp: Any) -> int | None:
        """The offset to commit for ``tp``: never past an offset that was not acked."""
        self._gap.pop(tp, None)  # holes are never "done" on these topics
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        start = committed if committed is not None else self._starts.get(tp)
        if not acked or start is None:
            return None
        acked.sort()
        index = self._acked_index[tp]
        while acked and acked[0] < start:
            index.discard(acked.pop(0))
        end = contiguous_end(acked, start)
        if end is None:
            if acked:
                self._fetch_again(tp, start, acked[0])
            return None
        del acked[: end - start]
        index.difference_update(range(start, end))
        return end

    def _fetch_again(self, tp: Any, start: int, next_acked: int) -> None:
        if tp in self._repairing:
            return
        self._repairing.add(tp)
        self.log.warning(
            "Offsets %d to %d of %r were skipped: fetching them again", start, next_acked - 1, tp
        )

        async def seek() -> None:
            try:
                if tp in self.assignment():
                    await self.seek(tp, start)
            finally:
                self._repairing.discard(tp)

        self.add_future(seek())


class RewindingTransport(driver.Transport):
    """The aiokafka transport, consuming through :class:`RewindingConsumer`."""

    Consumer = RewindingConsumer
    Producer = CheckedProducer


def use_rewinding_transport(app: faust.App) -> None:
    """Make ``app`` consume and produce through the transport of this module (before it starts)."""
    app.transport = RewindingTransport(app.conf.broker_consumer, app)
    app.producer_transport = RewindingTransport(app.conf.broker_producer, app)
