"""A large JSON Lines file produced by several processes at once, each with its own producer.

Validating an article costs about 30 µs of CPU and sending it about 12 more
(batching, zstd, the socket): one process cannot keep up with the broker, and
a process that only validates while another sends leaves the sender the
bottleneck (2.35x a bare aiokafka loop, measured). So
the file is cut into byte ranges on line boundaries and each worker process
reads, validates and sends its range through its own idempotent producer,
dead-lettering what is invalid, and reports its counts to this process.

Order: records of one range keep their order; ranges are sent concurrently,
so two records with the same id in different ranges may arrive in either
order (ids are stable; downstream de-duplication keeps one).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import BinaryIO

import structlog

from ingest.sender import ArticleSender, ProduceSummary, start_producer, stop_producer
from ingest.sources import jsonl_items, numbered_lines, source_of_path
from schemas import Settings, WirewatchError
from schemas.kafka import make_producer

log = structlog.get_logger(__name__)

MIN_RANGE_BYTES = 1_000_000
"""No worker gets less of the file than this: a process costs a fork and a producer start."""

REPORT_EVERY_S = 0.2
"""How often a worker sends its counts to the parent (the progress display)."""

_BLOCK = 1 << 20


def split_ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """Cut ``path`` into at most ``parts`` byte ranges, each starting at a line start.

    Every line is in exactly one range: the one containing its first byte's
    line start. Ranges are at least :data:`MIN_RANGE_BYTES` long (but the last).
    """
    size = path.stat().st_size
    parts = max(1, min(parts, size // MIN_RANGE_BYTES))
    starts = [0]
    with path.open("rb") as stream:
        for k in range(1, parts):
            start = _line_start_from(stream, k * size // parts, size)
            if start > starts[-1] and start < size:
                starts.append(start)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _line_start_from(stream: BinaryIO, offset: int, size: int) -> int:
    """The first line start at or after ``offset`` (``size`` when there is none)."""
    stream.seek(offset - 1)
    position = offset - 1
    while block := stream.read(_BLOCK):
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)
    return size


class _RangeReader:
    """The bytes of ``stream`` from its current position up to ``end``, read in blocks."""

    def __init__(self, stream: BinaryIO, end: int) -> None:
        self._stream = stream
        self._left = end - stream.tell()

    def read(self, size: int) -> bytes:
        data = self._stream.read(min(size, self._left)) if self._left > 0 else b""
        self._left -= len(data)
        return data


def _numbered_range(
    stream: BinaryIO, start: int, end: int, limit: int
) -> Iterator[tuple[int, bytes | None]]:
    """The numbered lines of bytes ``start`` to ``end``, numbered as in the whole file."""
    before = 0
    while stream.tell() < start:
        before += stream.read(min(_BLOCK, start - stream.tell())).count(b"\n")
    for number, line in numbered_lines(_RangeReader(stream, end), limit):  # type: ignore[arg-type]
        yield before + number, line


# --- in the worker process -----------------------------------------------------------


@dataclass(frozen=True)
class _Worker:
    """One worker process: produce bytes ``span`` of ``path``, report counts to ``events``."""

    settings: Settings
    path: str
    span: tuple[int, int]
    index: int
    events: multiprocessing.Queue[tuple[str, int, object]]
    halt: ProcessEvent

    def run(self) -> None:
        """The process's entry point."""
        # Forked from the parent's event loop: its signal wake-up pipe is the
        # parent's. Ctrl-C reaches the whole process group; the parent decides.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            summary = asyncio.run(self.produce())
        except Exception as exc:  # any failure: the parent raises it
            self.events.put(("error", self.index, _portable(exc)))
            sys.exit(1)  # multiprocessing flushes the queue before the process ends
        self.events.put(("done", self.index, summary))

    async def produce(self) -> ProduceSummary:
        """Read, validate and send the span with a producer of this process's own."""
        settings, parent = self.settings, os.getppid()
        producer = make_producer(settings, client_id=f"wirewatch-produce-{self.index}")
        await start_producer(producer, settings)
        last_report = 0.0

        def report(summary: ProduceSummary) -> None:
            nonlocal last_report
            if self.halt.is_set() or os.getppid() != parent:
                sender.stop.set()
            now = time.monotonic()
            if now - last_report >= REPORT_EVERY_S:
                last_report = now
                self.events.put(("progress", self.index, summary.snapshot()))

        sender = ArticleSender(producer, settings, on_progress=report)
        source = source_of_path(Path(self.path))
        try:
            # blocking reads are fine here: this loop serves only this process's producer
            with open(self.path, "rb") as stream:  # noqa: ASYNC230
                lines = _numbered_range(stream, *self.span, settings.max_file_bytes)
                await sender.send_all(jsonl_items(lines, settings, self.path, source))
        finally:
            await sender.drain()
            await stop_producer(producer, settings)
        return sender.summary


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling to the parent, else a WirewatchError saying it."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, in our own process
    except Exception:
        return WirewatchError(f"{type(exc).__name__}: {exc}")
    return exc


# --- in the parent ---------------------------------------------------------------------


async def produce_in_workers(
    settings: Settings,
    path: Path,
    workers: int,
    *,
    stop: asyncio.Event,
    on_progress: Callable[[ProduceSummary], None] | None = None,
) -> ProduceSummary:
    """Produce the JSON Lines file ``path`` with up to ``workers`` processes; return the counts.

    ``stop`` (Ctrl-C) makes every worker stop reading; what was read is still
    sent and counted.

    Raises:
        WirewatchError: a worker's own error (BrokerError, DeliveryError...)
            as it raised it, or that a worker process died.
    """
    spans = split_ranges(path, workers)
    # fork: a worker starts in milliseconds (spawn re-imports everything, ~0.5 s)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    events: multiprocessing.Queue[tuple[str, int, object]] = context.Queue()
    halt = context.Event()
    processes = [
        context.Process(  # type: ignore[attr-defined]
            target=_Worker(settings, str(path), span, index, events, halt).run,
            name=f"wirewatch-produce-{index}",
            daemon=True,
        )
        for index, span in enumerate(spans)
    ]
    latest = {index: ProduceSummary() for index in range(len(processes))}
    finished: set[int] = set()
    failure: Exception | None = None
    for process in processes:
        process.start()
    log.info("produce_workers_started", path=str(path), workers=len(processes))
    try:
        while len(finished) < len(processes):
            if stop.is_set():
                halt.set()
            try:
                kind, index, payload = events.get_nowait()
            except queue.Empty:
                dead = [
                    i for i, p in enumerate(processes) if i not in finished and not p.is_alive()
                ]
                # a worker flushes its last report before it ends: none left means it was killed
                if dead and events.empty():
                    failure = _died(path, spans[dead[0]], processes[dead[0]].exitcode)
                    break
                await asyncio.sleep(0.05)
                continue
            if kind == "error":
                assert isinstance(payload, Exception)
                failure = payload
                finished.add(index)
                halt.set()
                continue
            assert isinstance(payload, ProduceSummary)
            latest[index] = payload
            if kind == "done":
                finished.add(index)
            if on_progress is not None:
                on_progress(_total(latest))
    finally:
        halt.set()
        await asyncio.to_thread(_join, processes)
    if isinstance(failure, WirewatchError):  # BrokerError, DeliveryError...
        raise failure
    if failure is not None:
        raise WirewatchError(f"a worker producing {path} failed: {failure}") from failure
    return _total(latest)


def _died(path: Path, span: tuple[int, int], exitcode: int | None) -> WirewatchError:
    return WirewatchError(
        f"the worker process producing {path} (bytes {span[0]} to {span[1]}) died with exit "
        f"code {exitcode}; rerun with --workers 0 to produce in one process "
        "(ids are stable: a rerun does not duplicate keys)"
    )


def _total(summaries: dict[int, ProduceSummary]) -> ProduceSummary:
    total = ProduceSummary()
    for summary in summaries.values():
        total.add(summary)
    return total


def _join(processes: list[multiprocessing.Process]) -> None:
    """Wait for the workers (they drain their producers first), then make sure they are gone."""
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            with contextlib.suppress(Exception):
                process.join(timeout=5)
