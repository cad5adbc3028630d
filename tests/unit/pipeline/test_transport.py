"""The workers' transport: installed by create_app, and where it rewinds to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

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
