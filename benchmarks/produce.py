"""How fast ``wirewatch produce`` writes articles, against a bare aiokafka loop.

Generates 20,000 articles of about 3 KB as JSON Lines, then, several times
in turn, (a) sends the raw lines with a bare aiokafka loop (same producer
settings: idempotent, acks=all, zstd, linger; keys as long as Wirewatch's
ids) and (b) runs Wirewatch's produce loop on the file (read, validate,
normalise, key, serialise, send) as ``wirewatch produce`` runs it by
default (one worker process per CPU, each sending its range of the file) and
all in one process (``--workers 0``). Each is timed from the first record
read to the last acknowledgement, on fresh topics of the local broker
(created before the clock starts, for both), deleted after.

    python benchmarks/produce.py [--articles 20000] [--runs 5]

Prints a table and writes benchmarks/results/produce.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from ingest.producer import produce
from schemas import Settings
from schemas.kafka import TopicSpec, delete_prefixed_topics, ensure_topics, make_producer

TEXT = (
    "the government said on Tuesday that talks with the delegation would continue despite heavy "
    "fighting near the front while oil prices rose and analysts warned that sanctions on exports "
    "could widen the discount to Brent crude officials in Brussels Kyiv Warsaw and Moscow gave no "
    "details of the plan"
)
WORDS = TEXT.split()


def make_jsonl(path: Path, count: int, size: int = 3_000) -> None:
    """Write ``count`` article records of about ``size`` bytes each."""
    rng = random.Random(42)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            paragraphs = []
            length = 0
            while length < size - 400:
                sentence = " ".join(rng.choice(WORDS) for _ in range(18)).capitalize() + "."
                paragraphs.append(sentence)
                length += len(sentence) + 1
            record = {
                "url": f"https://bench.example/{n}?utm_source=bench",
                "source": "Bench Wire",
                "title": f"Benchmark headline number {n}",
                "summary": "A standfirst for the benchmark article.",
                "body": "\n".join(paragraphs),
                "published_at": "2026-11-10T09:30:00Z",
            }
            out.write(json.dumps(record) + "\n")


async def bare_loop(settings: Settings, path: Path) -> float:
    """Send the file's raw lines with a bare aiokafka loop; return seconds."""
    topic = settings.topics.articles
    await ensure_topics(settings, [TopicSpec(topic, settings.partitions, {})])
    producer = make_producer(settings, client_id="bench-bare")
    await producer.start()
    try:
        start = time.perf_counter()
        futures = []
        with path.open("rb") as lines:
            for n, line in enumerate(lines):
                # A key as long as Wirewatch's ids, so partitioning costs the same.
                key = f"url-{n:032x}".encode()
                futures.append(await producer.send(topic, line, key=key))
        await asyncio.gather(*futures)
        return time.perf_counter() - start
    finally:
        await producer.stop()


async def wirewatch_loop(settings: Settings, path: Path, count: int, workers: int | None) -> float:
    """Run Wirewatch's produce loop on the file with ``workers`` processes; return seconds."""
    # created untimed, as for the bare loop; produce() still checks them, timed
    await ensure_topics(settings, [TopicSpec(settings.topics.articles, settings.partitions, {})])
    producer = make_producer(settings, client_id="bench-wirewatch")
    await producer.start()
    try:
        start = time.perf_counter()
        summary = await produce(settings, [path], producer=producer, workers=workers)
        elapsed = time.perf_counter() - start
    finally:
        await producer.stop()
    if summary.produced != count or summary.invalid or summary.failed:
        raise SystemExit(f"benchmark run went wrong: {summary}")
    return elapsed


LOOPS = ("bare", "wirewatch", "wirewatch-1proc")
"""The loops timed in each round: bare aiokafka, Wirewatch as ``wirewatch produce``
runs by default (worker processes, one per CPU), Wirewatch all in one process
(``--workers 0``)."""


async def one_round(path: Path, count: int) -> dict[str, float]:
    """Time every loop once, back to back on fresh topics, so load affects them alike."""
    base = Settings(_env_file=None)
    seconds: dict[str, float] = {}
    for loop in LOOPS:
        settings = base.model_copy(update={"topic_prefix": f"bench-{uuid.uuid4().hex[:8]}."})
        try:
            if loop == "bare":
                seconds[loop] = await bare_loop(settings, path)
            else:
                workers = 0 if loop == "wirewatch-1proc" else None
                seconds[loop] = await wirewatch_loop(settings, path, count, workers)
        finally:
            await delete_prefixed_topics(settings)
    return seconds


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {loop: [] for loop in LOOPS}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "articles.jsonl"
        make_jsonl(path, args.articles)
        size = path.stat().st_size
        for _ in range(args.runs):
            for loop, seconds in asyncio.run(one_round(path, args.articles)).items():
                runs[loop].append(seconds)
    median = {loop: statistics.median(times) for loop, times in runs.items()}
    print(f"{args.articles} articles, {size / args.articles:.0f} bytes each, {args.runs} runs")
    print(f"{'loop':<17}{'median s':>10}{'articles/s':>12}{'vs bare':>9}   runs (s)")
    for loop, times in runs.items():
        listed = " ".join(f"{t:.2f}" for t in times)
        print(
            f"{loop:<17}{median[loop]:>10.2f}{args.articles / median[loop]:>12.0f}"
            f"{median[loop] / median['bare']:>9.2f}   {listed}"
        )
    print("target: wirewatch within 1.5x of bare, and >= 10,000 articles/s")
    out = Path(__file__).parent / "results" / "produce.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "articles": args.articles,
                "bytes_per_article": round(size / args.articles),
                "runs": args.runs,
                "seconds": runs,
                "articles_per_s": {loop: round(args.articles / m) for loop, m in median.items()},
                "ratio_to_bare": {loop: round(m / median["bare"], 3) for loop, m in median.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
