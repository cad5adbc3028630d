"""The workers' transport: installed by create_app, and where it rewinds to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from schemas import Settings
from streams.app import create_app
from streams.transport import RewindingTransport, contiguous_end, first_not_handed


def test_app_consumes_through_the_rewinding_transport(unit_settings: Settings) -> None:
    """create_app installs the transport whose seek rewinds partitions with no committed offset."""
    app = create_app(unit_settings)
    assert isinstance(app.transport, RewindingTransport)


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
