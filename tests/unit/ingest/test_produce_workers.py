"""How a large JSON Lines file is cut for worker processes: every line in exactly one range."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import produce_workers
from ingest.produce_workers import _numbered_range, split_ranges
from ingest.sources import numbered_lines


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    trailing_newline=st.booleans(),
    parts=st.integers(min_value=1, max_value=6),
)
def test_ranges_cover_every_line_once_with_its_number(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[bytes],
    trailing_newline: bool,
    parts: int,
) -> None:
    """Read range by range, the file gives the same numbered lines as read whole."""
    path = tmp_path_factory.mktemp("ranges") / "feed.jsonl"
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    path.write_bytes(data)
    original = produce_workers.MIN_RANGE_BYTES
    produce_workers.MIN_RANGE_BYTES = 1
    try:
        spans = split_ranges(path, parts)
    finally:
        produce_workers.MIN_RANGE_BYTES = original
    assert len(spans) <= parts
    assert spans[0][0] == 0
    assert spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    with path.open("rb") as stream:
        whole = list(numbered_lines(stream, 1_000))
    pieces = []
    for start, end in spans:
        with path.open("rb") as stream:
            pieces.extend(_numbered_range(stream, start, end, 1_000))
    assert pieces == whole


def test_a_small_file_is_not_cut(tmp_path: Path) -> None:
    """Each range is at least MIN_RANGE_BYTES: a worker costs a fork and a producer start."""
    path = tmp_path / "small.jsonl"
    path.write_bytes(b'{"title": "t", "body": "b"}\n' * 100)
    assert split_ranges(path, 4) == [(0, path.stat().st_size)]
