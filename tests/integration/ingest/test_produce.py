"""wirewatch produce against the real broker: formats, keys, dead letters, kcat, --follow."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

import ingest.producer as producer_module
from ingest import produce_workers
from ingest.producer import produce
from ingest.sender import ProduceSummary
from ingest.sources import Accepted, read_articles
from schemas import (
    Article,
    DeadLetter,
    DeliveryError,
    Settings,
    WirewatchError,
    build_article,
)
from schemas.kafka import TopicSpec, ensure_topics, make_consumer

SEEDS = Path(__file__).parents[3] / "seeds"
SEED_LINES = len((SEEDS / "articles.jsonl").read_text(encoding="utf-8").splitlines())

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>RSS Wire</title>
<item><title>Gas prices fall 8%</title><link>https://rss.example/1</link>
<description>Mild weather cut demand.</description></item></channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Wire</title><id>urn:f</id>
<updated>2026-11-10T09:30:00Z</updated><entry><title>Talks resume</title><id>urn:e:1</id>
<updated>2026-11-10T09:30:00Z</updated><content>Delegations met.</content></entry></feed>"""


async def consume(
    settings: Settings, topic: str, count: int, timeout_s: float = 30.0
) -> list[ConsumerRecord]:
    """Read ``count`` records of ``topic`` from the beginning, polling with a deadline."""
    consumer = make_consumer(settings, topic, group_id=None)
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def without_received_at(article: Article) -> dict[str, object]:
    """An article's fields apart from the time Wirewatch received it."""
    return article.model_dump(exclude={"received_at"})


async def test_every_format_round_trips_to_the_articles_topic(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """Text pages, JSON Lines, a JSON array, RSS and Atom all arrive, keyed by article id."""
    (tmp_path / "batch.json").write_text(
        json.dumps([{"title": "From an array", "body": "Body.", "url": "https://j.example/1"}])
    )
    (tmp_path / "wire.rss").write_text(RSS)
    (tmp_path / "wire.atom").write_text(ATOM)
    paths = [SEEDS / "articles", SEEDS / "articles.jsonl", tmp_path]
    expected = {
        item.article.id: item.article
        for item in read_articles(paths, kafka_settings)
        if isinstance(item, Accepted)
    }
    summary = await produce(kafka_settings, paths)
    assert (summary.produced, summary.invalid, summary.failed) == (len(expected), 0, 0)
    records = await consume(kafka_settings, kafka_settings.topics.articles, len(expected))
    assert len(records) == len(expected)
    for record in records:
        article = Article.model_validate_json(record.value)
        assert record.key == article.id.encode()
        assert without_received_at(article) == without_received_at(expected[article.id])
    assert {"urn:e:1", "ww-seed-001"} <= set(expected)


async def test_keys_are_stable_across_runs(kafka_settings: Settings) -> None:
    """Producing the same files twice gives the same keys, on the same partitions."""
    paths = [SEEDS / "articles", SEEDS / "articles.jsonl"]
    first = await produce(kafka_settings, paths)
    second = await produce(kafka_settings, paths)
    assert first.produced == second.produced > 0
    records = await consume(kafka_settings, kafka_settings.topics.articles, 2 * first.produced)
    placements: dict[bytes, set[int]] = {}
    counts: dict[bytes, int] = {}
    for record in records:
        placements.setdefault(record.key, set()).add(record.partition)
        counts[record.key] = counts.get(record.key, 0) + 1
    assert len(counts) == first.produced
    assert set(counts.values()) == {2}
    assert all(len(partitions) == 1 for partitions in placements.values())


async def test_invalid_records_land_on_the_dlq_with_reasons(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """Each bad record is one dead letter with its reason, origin (file:line) and payload."""
    feed = tmp_path / "mixed.jsonl"
    feed.write_bytes(
        b'{"title": "Good", "body": "Fine."}\n'
        b'{"body": "no title"}\n'
        b'{"title": "t", "body": 42}\n'
        b"not json\n"
        b'{"title": "\xff", "body": "b"}\n'
    )
    (tmp_path / "broken.rss").write_text("<rss version='2.0'><channel><item>")
    summary = await produce(kafka_settings, [tmp_path])
    assert (summary.produced, summary.invalid, summary.dead_lettered) == (1, 5, 5)
    records = await consume(kafka_settings, kafka_settings.topics.articles_dlq, 5)
    letters = [DeadLetter.model_validate_json(record.value) for record in records]
    assert [(letter.origin, letter.reason) for letter in letters] == [
        (f"{tmp_path / 'broken.rss'}", "invalid_feed"),
        (f"{feed}:2", "missing_title"),
        (f"{feed}:3", "wrong_type"),
        (f"{feed}:4", "invalid_json"),
        (f"{feed}:5", "invalid_utf8"),
    ]
    assert all(letter.stage == "produce" and letter.error for letter in letters)
    assert letters[1].payload() == b'{"body": "no title"}'
    assert letters[4].payload() == b'{"title": "\xff", "body": "b"}'


async def test_a_kcat_record_is_accepted_like_ours(kafka_settings: Settings) -> None:
    """A raw JSON record written with kcat builds the same article as `wirewatch produce` sends."""
    kcat = shutil.which("kcat")
    assert kcat, "kcat is not installed (Debian package `kcat`); .ci/run installs it"
    line = (SEEDS / "articles.jsonl").read_text(encoding="utf-8").splitlines()[19]  # Ukrainian
    summary = await produce(kafka_settings, [SEEDS / "articles.jsonl"])
    assert summary.produced == SEED_LINES
    ours = {
        Article.model_validate_json(record.value).id: Article.model_validate_json(record.value)
        for record in await consume(kafka_settings, kafka_settings.topics.articles, SEED_LINES)
    }
    raw_topic = f"{kafka_settings.topic_prefix}raw"
    await ensure_topics(kafka_settings, [TopicSpec(raw_topic, 1, {})])
    await asyncio.to_thread(
        subprocess.run,
        [kcat, "-b", kafka_settings.bootstrap_servers, "-t", raw_topic, "-P", "-z", "zstd"],
        input=(line + "\n").encode(),
        check=True,
        timeout=30,
    )
    (raw,) = await consume(kafka_settings, raw_topic, 1)
    downstream = build_article(json.loads(raw.value), origin=f"{raw_topic}/0@{raw.offset}")
    assert downstream.language == "uk"
    assert without_received_at(downstream) == without_received_at(ours[downstream.id])
    # What we send is itself accepted unchanged by the same function downstream.
    again = build_article(json.loads(ours[downstream.id].model_dump_json()))
    assert again == ours[downstream.id]


def run_cli(
    settings: Settings, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """Run `wirewatch produce ARGS` in a subprocess against ``settings``' broker and topics."""
    env = {
        **os.environ,
        "WIREWATCH_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
        "WIREWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "WIREWATCH_PARTITIONS": str(settings.partitions),
    }
    code = "import sys; from wirewatch.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, "produce", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


async def test_cli_reads_stdin_and_prints_a_summary(kafka_settings: Settings) -> None:
    """`wirewatch produce -` reads stdin, exits 0 and says how many were produced and invalid."""
    stdin = b'{"title": "From stdin", "body": "Body."}\n{"title": "no body"}\n'
    result = await asyncio.to_thread(run_cli, kafka_settings, "-", stdin=stdin)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "produced 1 article to" in err
    assert "1 invalid (missing_body 1), 1 dead-lettered" in err
    assert "Traceback" not in err
    strict = await asyncio.to_thread(run_cli, kafka_settings, "--strict", "-", stdin=stdin)
    assert strict.returncode == 1


async def test_follow_produces_files_as_they_land(kafka_settings: Settings, tmp_path: Path) -> None:
    """--follow reads a file renamed into the spool directory, until told to stop."""
    spool = tmp_path / "spool"
    spool.mkdir()
    stop = asyncio.Event()
    task = asyncio.create_task(produce(kafka_settings, [], follow=spool, stop=stop))
    partial = spool / "story.txt.part"
    partial.write_text("Source: Spool Wire\n\nLanded headline\nStandfirst\nBody.")
    partial.rename(spool / "story.txt")
    try:
        records = await consume(kafka_settings, kafka_settings.topics.articles, 1)
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 30)
    assert [Article.model_validate_json(r.value).title for r in records] == ["Landed headline"]
    assert summary.produced == 1


async def test_worker_processes_produce_what_one_process_does(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON Lines file cut into ranges for worker processes gives the same records and dead letters.

    Same keys on the same partitions, the same dead letters with the same
    file:line origins; only the order across ranges may differ.
    """
    monkeypatch.setattr(producer_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(produce_workers, "MIN_RANGE_BYTES", 500)
    feed = tmp_path / "mixed.jsonl"
    feed.write_bytes(
        (SEEDS / "articles.jsonl").read_bytes() + b'{"body": "no title"}\nnot json\n\n'
    )
    assert len(produce_workers.split_ranges(feed, 3)) == 3
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    results = []
    for workers, prefix in ((0, "serial."), (3, "parallel.")):
        settings = kafka_settings.model_copy(
            update={"topic_prefix": kafka_settings.topic_prefix + prefix}
        )
        summary = await produce(settings, [feed, empty], workers=workers)
        assert (summary.produced, summary.invalid, summary.failed) == (SEED_LINES, 3, 0)
        articles = await consume(settings, settings.topics.articles, SEED_LINES)
        letters = await consume(settings, settings.topics.articles_dlq, 3)
        dead = [DeadLetter.model_validate_json(r.value) for r in letters]
        results.append(
            (
                sorted((r.partition, r.key) for r in articles),
                sorted((letter.origin, letter.reason) for letter in dead),
            )
        )
    assert results[0] == results[1]
    assert results[1][1] == sorted(
        [
            (f"{feed}:{SEED_LINES + 1}", "missing_title"),
            (f"{feed}:{SEED_LINES + 2}", "invalid_json"),
            (str(empty), "empty"),
        ]
    )


async def test_a_worker_process_that_dies_is_an_error_not_a_gap(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-file makes produce fail naming the range, so the run is not 'done'."""
    monkeypatch.setattr(producer_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(produce_workers, "MIN_RANGE_BYTES", 500)

    async def die(*_: object) -> None:
        os._exit(3)  # as a SIGKILL or an OOM kill would end it: no report

    monkeypatch.setattr(produce_workers._Worker, "produce", die)  # a forked worker inherits it
    with pytest.raises(WirewatchError, match=r"died with exit code 3; rerun with --workers 0"):
        await produce(kafka_settings, [SEEDS / "articles.jsonl"], workers=2)


async def test_a_worker_process_error_reaches_the_caller_as_raised(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that fails (the broker stopped acknowledging) fails the run with its error."""
    monkeypatch.setattr(producer_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(produce_workers, "MIN_RANGE_BYTES", 500)

    async def fail(*_: object) -> None:
        raise DeliveryError("Kafka accepted no article for 30 s")

    monkeypatch.setattr(produce_workers._Worker, "produce", fail)
    with pytest.raises(DeliveryError, match="accepted no article"):
        await produce(kafka_settings, [SEEDS / "articles.jsonl"], workers=2)


async def test_stopping_worker_processes_counts_exactly_what_they_sent(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C stops every worker early; the summary counts exactly the articles on the topic."""
    monkeypatch.setattr(producer_module, "PARALLEL_MIN_BYTES", 1)
    feed = tmp_path / "big.jsonl"
    feed.write_text("".join(f'{{"title": "t{n}", "body": "b"}}\n' for n in range(100_000)))
    stop = asyncio.Event()
    reports = []

    def progress(summary: ProduceSummary) -> None:
        reports.append(summary.produced)
        stop.set()

    summary = await produce(kafka_settings, [feed], workers=2, stop=stop, on_progress=progress)
    assert reports
    assert 0 < summary.produced < 100_000
    assert (summary.invalid, summary.failed) == (0, 0)
    on_topic = await consume(
        kafka_settings, kafka_settings.topics.articles, summary.produced + 1, timeout_s=3
    )
    assert len(on_topic) == summary.produced


async def test_ctrl_c_stops_cleanly_with_a_summary(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """SIGINT during a rate-limited run exits 130 after a summary of what was sent, no traceback."""
    feed = tmp_path / "slow.jsonl"
    feed.write_text("".join(f'{{"title": "t{n}", "body": "b"}}\n' for n in range(5_000)))
    env = {
        **os.environ,
        "WIREWATCH_KAFKA_BOOTSTRAP": kafka_settings.bootstrap_servers,
        "WIREWATCH_TOPIC_PREFIX": kafka_settings.topic_prefix,
    }
    code = "import sys; from wirewatch.cli import main; sys.exit(main())"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        "produce",
        "--rate",
        "1000/s",
        str(feed),
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert await consume(kafka_settings, kafka_settings.topics.articles, 1)
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    err = stderr.decode()
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert "produced " in err
