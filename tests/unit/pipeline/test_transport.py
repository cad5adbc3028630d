"""The workers' transport: installed by create_app, and where it rewinds to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.transport.consumer import Consumer

from schemas import Settings
from streams.app import create_app
from streams.transport import (
    CheckedProducer,
    RewindingConsumer,
    RewindingTransport,
    SendWatch,
    contiguous_end,
    first_not_handed,
)


def test_app_consumes_and_produces_through_the_transport(unit_settings: Settings) -> None:
    """create_app installs the rewinding consumer and the producer that watches its sends."""
    app = create_app(unit_settings)
    assert isinstance(app.transport, RewindingTransport)
    assert isinstance(app.producer_transport, RewindingTransport)
    assert app.transport.Consumer is RewindingConsumer
    assert app.producer_transport.Producer is CheckedProducer


@dataclass(frozen=True)
class _Record:
    offset: int


@dataclass(frozen=True)
class _Message:
    offset: int


class _Thread:
    """The consumer thread's seeks, recorded."""

    def __init__(self) -> None:
        self.rewinds: list[dict[Any, int]] = []

    async def rewind(self, offsets: dict[Any, int]) -> dict[Any, int]:
        self.rewinds.append(dict(offsets))
        return dict(offsets)


async def test_no_record_is_handed_on_from_the_seek_to_the_resumed_flow(
    unit_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seek waits for the record being handed on; the rest waits for the flow (faust clears the queues)."""
    tp = TopicPartition("articles", 0)
    consumer: Any = create_app(unit_settings).consumer
    consumer._thread.thread_loop.close()  # never started: the fake below stands in
    thread = _Thread()
    consumer._thread = thread
    fetches = 0

    async def fetched(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109
        nonlocal fetches
        fetches += 1
        self._batch = {tp: [_Record(offset) for offset in (5, 6, 7)]}
        for offset in (5, 6, 7):
            yield tp, _Message(offset)

    async def seek_to_committed() -> dict[Any, int]:
        return {tp: 5}

    monkeypatch.setattr(Consumer, "getmany", fetched)
    consumer.seek_to_committed = seek_to_committed

    batch = consumer.getmany(timeout=0.01)
    assert (await anext(batch))[1].offset == 5  # a stream is taking it
    seek = asyncio.ensure_future(consumer.perform_seek())
    await asyncio.sleep(0.01)
    assert not seek.done()  # faust sets the read offset of record 5 after it is taken
    with pytest.raises(StopAsyncIteration):
        await anext(batch)  # 6 and 7 are not handed on, but fetched again
    await seek
    assert thread.rewinds == [{tp: 6}]
    assert consumer._read_offset[tp] == 5
    assert [item async for item in consumer.getmany(timeout=0.01)] == []
    assert fetches == 1  # nothing fetched while the flow waits to resume
    consumer.resume_flow()
    assert [m.offset async for _, m in consumer.getmany(timeout=0.01)] == [5, 6, 7]


@pytest.mark.parametrize(
    ("batch", "handed", "dropped"),
    [
        ({"a": [10, 11, 12]}, {"a": 12}, {}),
        ({"a": [10, 11, 12]}, {"a": 10}, {"a": 11}),
        ({"a": [10, 11, 12]}, {}, {"a": 10}),
        ({"a": [10, 11], "b": [5, 6]}, {"a": 11}, {"b": 5}),
        ({"a": []}, {}, {}),
    ],
)
def test_first_record_not_handed_on_is_found(
    batch: dict[str, list[int]], handed: dict[str, int], dropped: dict[str, int]
) -> None:
    """The rewind point of a partition is the first fetched record after the last one handed on."""
    records = {tp: [_Record(offset) for offset in offsets] for tp, offsets in batch.items()}
    assert first_not_handed(records, handed) == dropped


@pytest.mark.parametrize(
    ("acked", "start", "end"),
    [
        ([5, 6, 7], 5, 8),
        ([5, 6, 8], 5, 7),
        ([6, 7], 5, None),
        ([], 5, None),
        ([0], 0, 1),
    ],
)
def test_commit_covers_only_the_run_from_the_start(
    acked: list[int], start: int, end: int | None
) -> None:
    """A commit never passes an offset that was not acked, even one (faust allowed one, and gaps)."""
    assert contiguous_end(acked, start) == end


async def test_send_watch_keeps_the_first_failure() -> None:
    """A failed send is seen even before its callbacks ran; later failures do not replace it."""
    loop = asyncio.get_running_loop()
    sends = SendWatch()
    ok, failed, later = loop.create_future(), loop.create_future(), loop.create_future()
    for future in (ok, failed, later):
        sends.watch(future)
    ok.set_result("metadata")
    assert sends.first_failure() is None
    failed.set_exception(TimeoutError("batch expired"))
    assert isinstance(sends.first_failure(), TimeoutError)  # callbacks not run yet
    later.set_exception(ValueError("second"))
    await asyncio.sleep(0)
    assert isinstance(sends.first_failure(), TimeoutError)
