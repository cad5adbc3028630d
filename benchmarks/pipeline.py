"""Benchmark of the stream workers against the engine alone and a bare aiokafka loop.

Against the configured broker (the local one by default), with 1,000
generated rules (the engine benchmark's corpus, ``benchmarks/matcher.py``)
and about 3 KB articles, measures in the same run:

(a) engine alone: JSON decode, ``build_article`` and ``RuleSet.evaluate``, in process;
(b) detector alone: ``Detector.detect`` then ``Clusterer.assign``, the pure
    functions the detect and cluster agents call (the engine, de-duplication,
    story features and clustering), in process (``streams.offline.Offline``);
(c) bare loop: one aiokafka consumer -> the same two calls -> producer of
    detections, flushing and committing per fetched batch (at-least-once), no
    faust: the same work as the detect and cluster agents without the hop
    through the story-requests topic, so the ratio is faust's cost and the hop's;
(d) the faust pipeline, 1 worker and 2 workers (subprocesses running
    ``wirewatch worker``): a backlog of articles through detect -> aggregate ->
    alerts, timed from the first article consumed until every detection has
    been aggregated (read from the workers' /metrics);
(e) produce-to-alert latency with 1 worker at a fixed 200 articles/s: the time
    from sending an article to reading its first alert on the alerts topic,
    after a warm-up of a few seconds at the same rate (first connections,
    metadata and the first commit are start-up costs, not steady state).

Run: ``python benchmarks/pipeline.py`` (``--quick`` for a smoke run). Prints a
table and writes ``benchmarks/results/pipeline.json``. Each phase uses its own
topic prefix; workers log at WARNING so per-alert log lines are not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from schemas import Alert, Settings
from schemas.article_input import build_article
from schemas.kafka import delete_prefixed_topics, ensure_topics, make_consumer, make_producer
from schemas.rules import RulePack
from streams.app import worker_topics
from streams.offline import Offline
from streams.rules import RuleSet

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "pipeline.json"
RULES = 1_000
WORKER_ARGV = ("-c", "import sys; from wirewatch.cli import main; sys.exit(main())", "worker")


def _load_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("bench_matcher", HERE / "matcher.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_matcher"] = module
    spec.loader.exec_module(module)
    return module.Corpus(seed=11)


def _records(corpus: Any, count: int, tag: str) -> list[bytes]:
    """``count`` raw article records (as any producer writes them), ids unique to ``tag``."""
    return [
        json.dumps(
            {"id": f"{tag}-{n}", "source": f"outlet-{n % 13}", "title": a.title, "body": a.body}
        ).encode()
        for n, a in enumerate(corpus.articles(count))
    ]


def _write_packs(packs: Sequence[RulePack], directory: Path) -> None:
    for pack in packs:
        rules = [r.model_dump(mode="json", exclude_defaults=True) for r in pack.rules]
        (directory / f"{pack.name}.yaml").write_text(json.dumps({"rules": rules}))


def _settings(prefix: str) -> Settings:
    return Settings(topic_prefix=prefix)


# --- (a) engine alone ---------------------------------------------------------------------


def engine_alone(ruleset: RuleSet, records: list[bytes], repeats: int) -> dict[str, Any]:
    """Articles/s of decode + validate + evaluate in one process, median of ``repeats``."""
    rates = []
    detections = 0
    for _ in range(repeats):
        start = time.perf_counter()
        detections = 0
        for raw in records:
            article = build_article(json.loads(raw), origin="bench")
            detections += len(ruleset.evaluate(article))
        rates.append(len(records) / (time.perf_counter() - start))
    return {
        "articles_per_s": round(statistics.median(rates), 1),
        "runs": [round(r, 1) for r in rates],
        "detections_per_article": round(detections / len(records), 3),
    }


def detector_alone(ruleset: RuleSet, records: list[bytes], repeats: int) -> dict[str, Any]:
    """Articles/s of detection and clustering (fresh state per run), median of ``repeats``."""
    rates = []
    for _ in range(repeats):
        offline = Offline(Settings(), lambda: ruleset)
        start = time.perf_counter()
        for raw in records:
            offline.process(raw, origin="bench")
        rates.append(len(records) / (time.perf_counter() - start))
    return {
        "articles_per_s": round(statistics.median(rates), 1),
        "runs": [round(r, 1) for r in rates],
    }


# --- (b) bare aiokafka loop ---------------------------------------------------------------


async def _produce(settings: Settings, records: list[bytes]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        futures = []
        for n, raw in enumerate(records):
            futures.append(await producer.send(settings.topics.articles, raw, key=f"k{n}".encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def bare_loop(ruleset: RuleSet, records: list[bytes]) -> dict[str, Any]:
    """Articles/s of consume -> detect and cluster -> produce detections, no faust."""
    settings = _settings(f"bench{uuid.uuid4().hex[:8]}.")
    await ensure_topics(settings, worker_topics(settings))
    await _produce(settings, records)
    consumer = make_consumer(
        settings,
        settings.topics.articles,
        group_id=f"{settings.topic_prefix}bare",
        max_poll_records=500,
    )
    producer = make_producer(settings)
    offline = Offline(settings, lambda: ruleset)
    await consumer.start()
    await producer.start()
    seen = 0
    started: float | None = None
    try:
        while seen < len(records):
            batches = await consumer.getmany(timeout_ms=500)
            if started is None and batches:
                started = time.perf_counter()
            for batch in batches.values():
                for record in batch:
                    processed = offline.process(record.value, origin="bench")
                    for key, found in processed.records:
                        await producer.send(
                            settings.topics.detections,
                            found.model_dump_json().encode(),
                            key=key.encode(),
                        )
                    seen += 1
            await producer.flush()
            await consumer.commit()
        assert started is not None
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
        await delete_prefixed_topics(settings)
    return {"articles_per_s": round(len(records) / elapsed, 1)}


# --- (c) and (d) the faust pipeline -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Worker:
    def __init__(self, settings: Settings, rules_dir: Path, log: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        env.update(
            WIREWATCH_KAFKA_BOOTSTRAP=settings.bootstrap_servers,
            WIREWATCH_TOPIC_PREFIX=settings.topic_prefix,
            WIREWATCH_PARTITIONS=str(settings.partitions),
            WIREWATCH_RULES_PATH=str(rules_dir),
            WIREWATCH_WORKER_WEB_PORT=str(self.port),
            WIREWATCH_LOG_LEVEL="WARNING",
            WIREWATCH_LOG_FORMAT="json",
        )
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *WORKER_ARGV],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> bytes:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{path}", timeout=2
            ) as r:  # loopback http
                body: bytes = r.read()
                return body
        except OSError:
            return b""

    def metric(self, name: str) -> float:
        total = 0.0
        for match in re.finditer(
            rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", self.get("/metrics").decode(), re.M
        ):
            total += float(match.group(1))
        return total

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()[-4000:]}")
            if b'"ready":true' in self.get("/readyz"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _totals(workers: list[_Worker]) -> tuple[float, float, float]:
    consumed = sum(w.metric("wirewatch_articles_consumed_total") for w in workers)
    detections = sum(w.metric("wirewatch_detections_total") for w in workers)
    aggregated = sum(
        w.metric(["wirewatch_processing_seconds_count", 'stage="aggregate"}'][0]) for w in workers
    )
    return consumed, detections, aggregated


def faust_throughput(
    records: list[bytes], rules_dir: Path, workers: int, partitions: int, tmp: Path
) -> dict[str, Any]:
    """Articles/s of a backlog through detect -> aggregate -> alerts with ``workers`` workers."""
    settings = Settings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.", partitions=partitions)
    asyncio.run(ensure_topics(settings, worker_topics(settings)))
    asyncio.run(_produce(settings, records))
    procs = [_Worker(settings, rules_dir, tmp / f"w{workers}-{n}.log") for n in range(workers)]
    try:
        for proc in procs:
            proc.wait_ready()
        started = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            consumed, detections, aggregated = _totals(procs)
            now = time.perf_counter()
            if started is None and consumed > 0:
                started = now
            if consumed >= len(records) and aggregated >= detections:
                break
            time.sleep(0.1)  # each scrape costs the worker ~2 ms: keep it under 2%
        else:
            raise RuntimeError("the backlog was not processed in 600 s")
        assert started is not None
        alerts = sum(p.metric("wirewatch_alerts_total") for p in procs)
        return {
            "workers": workers,
            "articles_per_s": round(len(records) / (now - started), 1),
            "detections": int(detections),
            "alerts": int(alerts),
        }
    finally:
        for proc in procs:
            proc.stop()
        asyncio.run(delete_prefixed_topics(settings))


async def _latency_run(
    settings: Settings, records: list[bytes], rate: float, warmup: int
) -> list[float]:
    """Send ``records`` at ``rate``; return the latencies of those after the first ``warmup``."""
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    consumer = make_consumer(settings, group_id=None)
    await consumer.start()
    cluster = await consumer._client.fetch_all_metadata()
    tps = [
        TopicPartition(settings.topics.alerts, p)
        for p in cluster.partitions_for_topic(settings.topics.alerts)
    ]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    producer = make_producer(settings)
    await producer.start()
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for batch in batches.values():
                for record in batch:
                    article_id = Alert.model_validate_json(record.value).evidence[0].article_id
                    if article_id in sent and article_id not in latencies:
                        latencies[article_id] = now - sent[article_id]

    reader = asyncio.create_task(read())
    try:
        start = time.monotonic()
        for n, raw in enumerate(records):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            article_id = json.loads(raw)["id"]
            if n >= warmup:
                sent[article_id] = time.time()
            await producer.send(settings.topics.articles, raw, key=article_id.encode())
        await asyncio.sleep(3)
    finally:
        done.set()
        await reader
        await producer.stop()
        await consumer.stop()
    return sorted(latencies.values())


def faust_latency(
    records: list[bytes], rules_dir: Path, rate: float, warmup: int, tmp: Path
) -> dict[str, Any]:
    """p50/p99 produce-to-alert latency with one worker at ``rate`` articles/s, after a warm-up."""
    settings = Settings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    asyncio.run(ensure_topics(settings, worker_topics(settings)))
    proc = _Worker(settings, rules_dir, tmp / "latency.log")
    try:
        proc.wait_ready()
        latencies = asyncio.run(_latency_run(settings, records, rate, warmup))
    finally:
        proc.stop()
        asyncio.run(delete_prefixed_topics(settings))
    if not latencies:
        raise RuntimeError("no alert arrived")
    ms = [1000 * x for x in latencies]
    return {
        "rate_per_s": rate,
        "articles": len(records) - warmup,
        "warmup_articles": warmup,
        "alerted_articles": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
    }


def _median(rows: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in rows))


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Needs a running broker: the configured one, else `wirewatch broker start`.",
    )
    parser.add_argument("--articles", type=int, default=20_000, help="backlog per throughput run")
    parser.add_argument(
        "--latency-seconds", type=float, default=30.0, help="measured time of each latency run"
    )
    parser.add_argument(
        "--warmup-seconds", type=float, default=3.0, help="unmeasured traffic before each"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of every phase")
    parser.add_argument("--rate", type=float, default=200.0, help="articles/s of the latency runs")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.latency_seconds, args.repeats = 2_000, 5.0, 1
    rate = args.rate
    warmup = int(rate * args.warmup_seconds)

    def phase(name: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)

    corpus = _load_corpus()
    packs = corpus.rules(RULES)
    ruleset = RuleSet.compile(packs)
    records = _records(corpus, args.articles, "tp")
    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-bench-"))
    rules_dir = tmp / "rules"
    rules_dir.mkdir()
    _write_packs(packs, rules_dir)
    try:
        phase("engine and detector alone")
        engine = engine_alone(ruleset, records, args.repeats)
        detector = detector_alone(ruleset, records, args.repeats)
        phase("bare aiokafka loop")
        bare = [asyncio.run(bare_loop(ruleset, records)) for _ in range(args.repeats)]
        phase("faust, 1 worker")
        one = [faust_throughput(records, rules_dir, 1, 6, tmp) for _ in range(args.repeats)]
        phase("faust, 2 workers")
        two = [faust_throughput(records, rules_dir, 2, 6, tmp) for _ in range(args.repeats)]
        phase(f"latency at {rate:.0f}/s")
        latency_runs = [
            faust_latency(
                _records(corpus, warmup + int(rate * args.latency_seconds), f"lat{n}"),
                rules_dir,
                rate,
                warmup,
                tmp,
            )
            for n in range(args.repeats)
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    bare_rate, one_rate, two_rate = (_median(rows, "articles_per_s") for rows in (bare, one, two))
    p50, p99 = _median(latency_runs, "p50_ms"), _median(latency_runs, "p99_ms")
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rules": RULES,
        "articles": args.articles,
        "repeats": args.repeats,
        "engine_alone": engine,
        "detector_alone": detector,
        "bare_aiokafka_loop": {"articles_per_s": bare_rate, "runs": bare},
        "faust_1_worker": {"articles_per_s": one_rate, "runs": one},
        "faust_2_workers": {"articles_per_s": two_rate, "runs": two},
        "faust_vs_bare": round(one_rate / bare_rate, 2),
        "faust_vs_detector": round(one_rate / detector["articles_per_s"], 2),
        "two_vs_one_worker": round(two_rate / one_rate, 2),
        "latency_1_worker": {"p50_ms": p50, "p99_ms": p99, "runs": latency_runs},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    alerted = sum(r["alerted_articles"] for r in latency_runs)
    rows = [
        ("engine alone (decode+validate+evaluate)", f"{engine['articles_per_s']:,.0f}/s", ""),
        ("detector alone (+ de-dup, clustering)", f"{detector['articles_per_s']:,.0f}/s", ""),
        ("bare aiokafka loop (same detector)", f"{bare_rate:,.0f}/s", ""),
        ("faust, 1 worker", f"{one_rate:,.0f}/s", f"{one_rate / bare_rate:.2f} x bare"),
        ("faust, 2 workers", f"{two_rate:,.0f}/s", f"{two_rate / one_rate:.2f} x 1 worker"),
        (
            f"latency @ {rate:.0f}/s, 1 worker",
            f"p50 {p50} ms, p99 {p99} ms",
            f"{alerted} alerted in {args.repeats} runs",
        ),
    ]
    print(
        f"{RULES} rules, {args.articles} articles of ~3 KB, "
        f"{engine['detections_per_article']} detections/article; medians of {args.repeats} runs"
    )
    for name, value, note in rows:
        print(f"  {name:<42} {value:>28}  {note}")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
