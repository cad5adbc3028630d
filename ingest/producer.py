"""The produce command's loop: every input to the articles topic or to ``articles.dlq``.

Reading is in :mod:`ingest.sources`, sending in :mod:`ingest.sender`;
a large JSON Lines file is produced by several processes at once
(:mod:`ingest.produce_workers`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import structlog
from aiokafka import AIOKafkaProducer

from ingest.produce_workers import produce_in_workers
from ingest.sender import ArticleSender, ProduceSummary, start_producer, stop_producer
from ingest.sources import Rejected, read_articles, read_file, walk_files
from schemas import Settings
from schemas.kafka import ensure_topics, make_producer, pipeline_topics

log = structlog.get_logger(__name__)

PARALLEL_MIN_BYTES = 4_000_000
"""A JSON Lines file this large is produced by worker processes (smaller: not worth a fork)."""

FOLLOW_POLL_S = 0.5
"""How often ``--follow`` looks for new files in the spool directory."""


def default_workers() -> int:
    """Worker processes for a large JSON Lines file: one per CPU, at most four."""
    return min(os.cpu_count() or 1, 4)


async def produce(
    settings: Settings,
    paths: Sequence[str | Path],
    *,
    stdin: BinaryIO | None = None,
    follow: Path | None = None,
    rate: float | None = None,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ProduceSummary], None] | None = None,
    producer: AIOKafkaProducer | None = None,
    workers: int | None = None,
) -> ProduceSummary:
    """Produce every article of ``paths`` (then of files landing in ``follow``) to Kafka.

    Creates the articles topics when missing. With ``follow``, runs until
    ``stop`` is set; without, ``stop`` ends the run early (what was read is
    still sent, drained and counted). ``producer`` replaces this process's
    producer (benchmarks). A JSON Lines file of at least
    :data:`PARALLEL_MIN_BYTES` named in ``paths`` is produced by ``workers``
    processes (None: :func:`default_workers`; 0: all in this process; with
    ``rate``, always in this process, so the rate holds).

    Raises:
        BrokerError: the cluster cannot be reached.
        DeliveryError: the broker stopped acknowledging articles.
        WirewatchError: a worker process died.
    """
    wanted = {settings.topics.articles, settings.topics.articles_dlq}
    await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name in wanted])
    workers = default_workers() if workers is None else workers
    own_producer = producer is None
    producer = producer or make_producer(settings, client_id="wirewatch-produce")
    if own_producer:
        await start_producer(producer, settings)
    sender = ArticleSender(producer, settings, rate=rate, on_progress=on_progress, stop=stop)
    parallel = ProduceSummary()  # what worker processes produced

    def progress(summary: ProduceSummary) -> None:
        if on_progress is not None:
            total = parallel.snapshot()
            total.add(sender.summary)
            total.add(summary)
            on_progress(total)

    try:
        for path in paths:
            if sender.stop.is_set():
                break
            if workers > 0 and rate is None and _is_large_jsonl(path):
                counts = await produce_in_workers(
                    settings, Path(path), workers, stop=sender.stop, on_progress=progress
                )
                parallel.add(counts)
                if not counts.records:
                    await sender.send_all(
                        [Rejected(str(path), "empty", f"{path} has no records", None)]
                    )
            else:
                await sender.send_all(read_articles([path], settings, stdin=stdin))
        if follow is not None:
            await _follow(sender, settings, follow, sender.stop)
    finally:
        await sender.drain()
        if own_producer:
            await stop_producer(producer, settings)
    summary = sender.summary
    summary.add(parallel)
    log.info(
        "produce_finished",
        produced=summary.produced,
        invalid=summary.invalid,
        dead_lettered=summary.dead_lettered,
        failed=summary.failed,
    )
    return summary


def _is_large_jsonl(path: str | Path) -> bool:
    path = Path(path)
    try:
        return path.suffix.lower() in {".jsonl", ".ndjson"} and (
            path.is_file() and path.stat().st_size >= PARALLEL_MIN_BYTES
        )
    except OSError:
        return False  # read_articles reports it


async def _follow(
    sender: ArticleSender, settings: Settings, directory: Path, stop: asyncio.Event
) -> None:
    """Produce files as they land in ``directory`` until ``stop`` is set.

    A file is read once its size and modification time stayed the same for
    one poll (so a file still being copied is not read half-way), and again
    if it changes later: ids are stable, so a re-read gives the same keys.
    """
    done: dict[Path, tuple[int, int]] = {}
    seen: dict[Path, tuple[int, int]] = {}
    log.info("following", directory=str(directory))
    while not stop.is_set():
        current: dict[Path, tuple[int, int]] = {}
        for path in walk_files(directory):
            try:
                info = path.stat()
            except OSError:
                continue  # deleted between listing and stat
            current[path] = (info.st_size, info.st_mtime_ns)
        for path, state in current.items():
            if seen.get(path) == state and done.get(path) != state:
                done[path] = state
                await sender.send_all(read_file(path, settings, sniff=False))
        seen = current
        try:
            await asyncio.wait_for(stop.wait(), FOLLOW_POLL_S)
        except TimeoutError:
            continue
