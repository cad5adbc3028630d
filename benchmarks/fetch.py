"""Benchmark of the fetcher against a bare aiohttp GET loop, on a local site of 10,000 feeds.

A site process serves ``--feeds`` RSS feeds (default 10,000, five items each,
with ETags) on 20 loopback addresses (127.0.0.1-20, so per-host politeness
applies as it would across sites; the benchmark sets no pause between requests to one
host and allows 8 at once). Measured in the same run, against the configured broker
(the local one by default):

(a) bare loop: one aiohttp session GETs every feed (200: the body read, nothing parsed),
    then again with ``If-None-Match`` (304), 100 requests at once; CPU per request;
(b) the fetcher (the real ``Fetcher`` service, in this process, every source due
    every second): its first round is the 200 path (robots.txt, GET, feedparser,
    five articles validated and produced to Kafka, the state written), the second
    the first 304 of each source (its state written, since its status changed),
    the third the steady 304 path (a conditional GET; the state is not written);
    polls per second, CPU per poll and the ratio to the bare loop; memory per
    source (RSS growth over the run, a state's size in memory, measured with
    tracemalloc on a deep copy, and the bytes of a state record);
(c) the CPU of 10,000 sources at a 5-minute interval, from the measured CPU per poll;
(d) latency from an item's publication to its article on Kafka: polling (sources
    every 2 s, items published at random moments) and WebSub (a hub on loopback
    pushes; the article is read back from the articles topic);
(e) end to end: WebSub push to notification, through a ``wirewatch worker`` and a
    ``wirewatch notifier`` (a rule matching the pushed items, a webhook receiver).

Run: ``python benchmarks/fetch.py`` (``--quick`` for a smoke run). Prints a table
and writes ``benchmarks/results/fetch.json``. Each phase uses its own topic prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.fetch_store import read_states  # noqa: E402
from ingest.fetcher import Fetcher  # noqa: E402
from ingest.source_list import SourceSpec  # noqa: E402
from schemas import Article, Settings  # noqa: E402
from schemas.kafka import delete_prefixed_topics, encode, make_consumer  # noqa: E402
from tests.support.servers import free_port, serve_webhook  # noqa: E402
from tests.support.websub_hub import hub_in_thread  # noqa: E402
from wirewatch.logs import configure_logging  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "fetch.json"
HOSTS = 20
ITEMS = 5
CONCURRENCY = 100


# --- the site (its own process) ------------------------------------------------------


def _feed(feed: int, generation: int, host: str, port: int, hub: str | None) -> bytes:
    items = []
    for g in range(generation, generation - ITEMS, -1):
        link = f"http://{host}:{port}/a/{feed}/{g}"
        items.append(
            f"<item><title>Ferry report {feed}-{g}: crossings resume on the northern route</title>"
            f"<link>{link}</link><guid>{link}</guid><description>Ferries crossed again on "
            f"route {feed} after the storm, report {g}.</description>"
            "<pubDate>Tue, 10 Nov 2026 09:30:00 GMT</pubDate></item>"
        )
    hub_link = f'<atom:link rel="hub" href="{hub}"/>' if hub else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Desk</title>'
        f"<link>http://{host}/</link><description>d</description><language>en</language>{hub_link}"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve_site(port: int, ready: Any) -> None:
    """The site process: feeds at /feed/N (hub-advertising ones at /hubfeed/N?hub=URL)."""
    generations: dict[int, int] = {}

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        generation = generations.get(n, ITEMS)
        tag = f'"{n}-{generation}"'
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers={"ETag": tag})
        body = _feed(n, generation, request.host.split(":")[0], port, request.query.get("hub"))
        return web.Response(body=body, headers={"ETag": tag, "Content-Type": "application/rss+xml"})

    async def publish(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        generations[n] = generations.get(n, ITEMS) + 1
        return web.json_response({"generation": generations[n]})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}", feed)
        app.router.add_get("/hubfeed/{n}", feed)
        app.router.add_post("/control/publish/{n}", publish)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for h in range(1, HOSTS + 1):
            await web.TCPSite(runner, f"127.0.0.{h}", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def feed_url(port: int, n: int) -> str:
    return f"http://127.0.0.{n % HOSTS + 1}:{port}/feed/{n}"


# --- helpers ------------------------------------------------------------------------


def settings_for(prefix: str, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        topic_prefix=f"{prefix}{uuid.uuid4().hex[:8]}.",
        partitions=6,
        fetch_allow_networks=[ipaddress.ip_network("127.0.0.0/8")],
        fetch_host_delay_s=0.0,
        fetch_host_concurrency=8,
        fetch_concurrency=CONCURRENCY,
        fetch_web_port=free_port(),
        log_level="WARNING",
        **extra,
    )


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    with open("/proc/self/statm") as stat:
        return int(stat.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def until(predicate: Any, timeout_s: float = 120.0, *, check: Any = None) -> bool:
    """Wait until ``predicate()`` holds (True) or ``timeout_s`` passes (False); ``check()`` may raise."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- (a) the bare loop ---------------------------------------------------------------


async def bare_loop(port: int, feeds: int) -> dict[str, float]:
    tags: dict[int, str] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    results: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def get(n: int, conditional: bool) -> None:
            headers = {"If-None-Match": tags[n]} if conditional else {}
            async with gate, session.get(feed_url(port, n), headers=headers) as response:
                await response.read()
                tags[n] = response.headers.get("ETag", "")

        for name, conditional in (("200", False), ("304", True)):
            began, cpu0 = time.perf_counter(), cpu()
            await asyncio.gather(*(get(n, conditional) for n in range(feeds)))
            wall, used = time.perf_counter() - began, cpu() - cpu0
            results[f"{name}_per_s"] = feeds / wall
            results[f"{name}_cpu_us"] = used / feeds * 1e6
    return results


# --- (b) the fetcher -----------------------------------------------------------------


async def fetcher_rounds(port: int, feeds: int) -> dict[str, float]:
    settings = settings_for("benchfetch", fetch_min_interval_s=1.0)
    sources = [
        SourceSpec(id=f"feed-{n}", name=f"Desk {n}", url=feed_url(port, n), interval="1s")  # type: ignore[arg-type]
        for n in range(feeds)
    ]
    rss_before = rss_mb()
    fetcher = Fetcher(settings, sources)
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    polls = fetcher.metrics.polls

    def done() -> float:
        return sum(
            polls.labels(status=s)._value.get()
            for s in ("new", "not_modified", "unchanged", "failed", "refused", "rate_limited")
        )

    def alive() -> None:
        if task.done():
            task.result()
            raise RuntimeError("the fetcher stopped")

    result: dict[str, float] = {}
    try:
        await until(lambda: fetcher.health()["ready"], check=alive)
        # The first 304 of a source after a 200 writes its state (its status changed); the
        # rounds after it are the steady state of a source that has not changed.
        for name, target in (("200", feeds), ("304_first", 2 * feeds), ("304", 3 * feeds)):
            began, cpu0, start = time.perf_counter(), cpu(), done()
            await until(lambda want=target: done() >= want, 600, check=alive)
            wall, used, count = time.perf_counter() - began, cpu() - cpu0, done() - start
            result[f"{name}_per_s"] = count / wall
            result[f"{name}_cpu_us"] = used / count * 1e6
        result["rss_mb_per_1000_sources"] = (rss_mb() - rss_before) / feeds * 1000
        result["failed_polls"] = sum(
            polls.labels(status=s)._value.get() for s in ("failed", "refused", "rate_limited")
        )
        result["articles"] = fetcher.metrics.articles.labels(kind="new")._value.get()
    finally:
        stop.set()
        await task
    states = await read_states(settings)
    # The states as the fetcher held them, measured after it stopped: tracing blocks the
    # event loop long enough for a running fetcher to miss its group heartbeats.
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    copies = [state.model_copy(deep=True) for state in states.values()]
    result["state_bytes_in_memory"] = (tracemalloc.get_traced_memory()[0] - before) / len(copies)
    tracemalloc.stop()
    result["state_bytes"] = statistics.mean(len(encode(s)) for s in states.values())
    await delete_prefixed_topics(settings)
    return result


# --- (d) latency -----------------------------------------------------------------------


class ArticleTimes:
    """Follows the articles topic and notes when each article id first arrived."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ArticleTimes:
        consumer = make_consumer(
            self.settings, self.settings.topics.articles, group_id=None, auto_offset_reset="latest"
        )
        await consumer.start()

        async def follow() -> None:
            try:
                while True:
                    for records in (await consumer.getmany(timeout_ms=50)).values():
                        now = time.time()
                        for record in records:
                            title = Article.model_validate_json(record.value).title
                            self.seen.setdefault(title.split(":")[0], now)
            finally:
                await consumer.stop()

        self._task = asyncio.create_task(follow())
        await asyncio.sleep(1.0)  # the consumer has its partitions and their end offsets
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def polling_latency(port: int, sources_n: int, seconds: float) -> dict[str, float]:
    settings = settings_for("benchpoll", fetch_min_interval_s=2.0)
    sources = [
        SourceSpec(id=f"poll-{n}", name=f"Desk {n}", url=feed_url(port, 50_000 + n), interval="2s")  # type: ignore[arg-type]
        for n in range(sources_n)
    ]
    fetcher = Fetcher(settings, sources)
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    latencies: list[float] = []
    published: dict[str, float] = {}
    rng = random.Random(5)
    try:
        await asyncio.sleep(4)  # every source polled once: the backlog is not a publication
        async with ArticleTimes(settings) as times, aiohttp.ClientSession() as session:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                n = rng.randrange(sources_n)
                at = time.time()
                async with session.post(
                    f"http://127.0.0.1:{port}/control/publish/{50_000 + n}"
                ) as r:
                    generation = (await r.json())["generation"]
                published[f"Ferry report {50_000 + n}-{generation}"] = at
                await asyncio.sleep(rng.uniform(0.05, 0.15))
            await asyncio.sleep(3)
            latencies = [times.seen[t] - at for t, at in published.items() if t in times.seen]
    finally:
        stop.set()
        await task
        await delete_prefixed_topics(settings)
    return {
        "items": len(published),
        "received": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "interval_s": 2.0,
    }


async def push_latency(
    port: int, sources_n: int, pushes: int, e2e: bool, tmp: Path
) -> dict[str, float]:
    settings = settings_for("benchpush", fetch_max_interval_s=3600.0)
    settings = settings.model_copy(
        update={"fetch_callback_url": f"http://127.0.0.1:{settings.fetch_web_port}"}
    )
    latencies: list[float] = []
    with hub_in_thread() as hub:
        sources = [
            SourceSpec(
                id=f"push-{n}",
                name=f"Desk {n}",
                url=f"http://127.0.0.{n % HOSTS + 1}:{port}/hubfeed/{60_000 + n}?hub={hub.url}",
                interval="1h",
            )  # type: ignore[arg-type]
            for n in range(sources_n)
        ]
        fetcher = Fetcher(settings, sources)
        stop = asyncio.Event()
        task = asyncio.create_task(fetcher.run(stop))
        children: list[Any] = []
        try:
            if not await until(lambda: sum(s.verified for s in hub.subscriptions) >= sources_n, 60):
                raise RuntimeError("the hub's subscriptions were not verified")
            async with serve_webhook() as webhook, ArticleTimes(settings) as times:
                if e2e:
                    children = await asyncio.to_thread(spawn_pipeline, settings, webhook.port, tmp)
                    await pipeline_ready(children, tmp)
                sent: dict[str, float] = {}
                for i in range(pushes):
                    n = i % sources_n
                    title = f"Ferry report {60_000 + n}-p{i}"
                    body = _pushed(60_000 + n, i, port, hub.url)
                    sent[title] = time.time()
                    await asyncio.to_thread(hub.push, body, topic=sources[n].url)
                    await asyncio.sleep(0.1)
                await until(
                    lambda: (
                        len(times.seen) >= pushes
                        and (not e2e or len(webhook.accepted_at) >= pushes)
                    ),
                    20,
                )
                latencies = [times.seen[t] - at for t, at in sent.items() if t in times.seen]
                notified: list[float] = []
                if e2e:
                    arrivals = {
                        p["message"].split("\n")[1].split(":")[0].strip(): at
                        for p, at in zip(
                            webhook.accepted.get("desk", []), webhook.accepted_at, strict=False
                        )
                    }
                    notified = [arrivals[t] - at for t, at in sent.items() if t in arrivals]
        finally:
            for child in children:
                child.terminate()
            stop.set()
            await task
            await delete_prefixed_topics(settings)
    result = {
        "pushes": pushes,
        "received": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
    }
    if e2e:
        result.update(
            notified=len(notified),
            e2e_p50_ms=statistics.median(notified) * 1000 if notified else float("nan"),
            e2e_p99_ms=pct(notified, 0.99) * 1000,
        )
    return result


_WORDS = [
    "harbour",
    "storm",
    "island",
    "northern",
    "southern",
    "tide",
    "captain",
    "passengers",
    "cargo",
    "timetable",
    "pier",
    "weather",
    "coast",
    "gale",
    "council",
    "mayor",
    "engine",
    "repair",
    "schedule",
    "winter",
    "bridge",
    "river",
    "delay",
    "tickets",
    "freight",
    "lorries",
    "tourists",
    "village",
    "mainland",
    "operator",
    "union",
    "strike",
    "fuel",
    "price",
]


def _pushed(feed: int, i: int, port: int, hub: str) -> bytes:
    """A one-item feed whose text differs from every other push (each is a story of its own)."""
    link = f"http://127.0.0.1:{port}/a/{feed}/p{i}"
    words = random.Random(i).sample(_WORDS, 12)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f'<channel><title>Desk</title><link>http://x/</link><description>d</description><atom:link rel="hub" href="{hub}"/>'
        f"<item><title>Ferry report {feed}-p{i}: ferry crossings resume, {' '.join(words[:4])}</title>"
        f"<link>{link}</link><description>{' '.join(words[4:])} {i}</description></item></channel></rss>"
    ).encode()


def spawn_pipeline(settings: Settings, webhook_port: int, tmp: Path) -> list[Any]:
    """A worker and a notifier on the run's topics: one rule on the pushed items, a webhook receiver."""
    import subprocess

    rules = tmp / "rules"
    rules.mkdir(exist_ok=True)
    rule = {
        "id": "ferries",
        "title": "Ferries",
        "category": "transport",
        "severity": "high",
        "query": "ferry NEAR/5 crossings",
    }
    (rules / "bench.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    routes = tmp / "routes.yaml"
    routes.write_text(
        yaml.safe_dump(
            {
                "receivers": {"desk": {"template": "text"}},
                "route": {"receiver": "desk", "group_by": ["..."], "group_wait": "0s"},
            }
        )
    )
    ports = {"worker": free_port(), "notifier": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        WIREWATCH_KAFKA_BOOTSTRAP=settings.bootstrap_servers,
        WIREWATCH_TOPIC_PREFIX=settings.topic_prefix,
        WIREWATCH_PARTITIONS=str(settings.partitions),
        WIREWATCH_RULES_PATH=str(rules),
        WIREWATCH_ROUTES_PATH=str(routes),
        WIREWATCH_RECEIVERS=json.dumps({"desk": [f"json://127.0.0.1:{webhook_port}/desk"]}),
        WIREWATCH_WORKER_WEB_PORT=str(ports["worker"]),
        WIREWATCH_NOTIFIER_WEB_PORT=str(ports["notifier"]),
        WIREWATCH_LOG_LEVEL="WARNING",
    )
    argv = ("-c", "import sys; from wirewatch.cli import main; sys.exit(main())")
    children = []
    with (tmp / "pipeline.log").open("ab") as log:
        for command in ("worker", "notifier"):
            child = subprocess.Popen(
                [sys.executable, *argv, command],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            child.web_port = ports[command]  # type: ignore[attr-defined]
            children.append(child)
    return children


async def probe(session: aiohttp.ClientSession, port: int, page: str) -> int:
    """The HTTP status of a child's page (0 when it does not answer)."""
    try:
        async with session.get(f"http://127.0.0.1:{port}{page}") as answer:
            return answer.status
    except aiohttp.ClientError:
        return 0


async def pipeline_ready(children: list[Any], tmp: Path) -> None:
    """Wait until the worker is ready and the notifier healthy (then a little more for the group)."""
    async with aiohttp.ClientSession() as session:
        for child, path in zip(children, ("/readyz", "/healthz"), strict=True):
            deadline = time.monotonic() + 120
            while await probe(session, child.web_port, path) != 200:
                if time.monotonic() > deadline:
                    log = (tmp / "pipeline.log").read_text()[-3000:]
                    raise RuntimeError(f"pipeline not ready: {log}")
                await asyncio.sleep(0.2)
    await asyncio.sleep(2)


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase, print the table, write the JSON."""
    configure_logging("WARNING", "console")
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Needs a running broker: the configured one, else `wirewatch broker start`.",
    )
    parser.add_argument(
        "--feeds", type=int, default=10_000, help="feeds on the site (default 10,000)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of the throughput phases")
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=20.0,
        help="publishing time of the polling latency run",
    )
    parser.add_argument("--pushes", type=int, default=100, help="WebSub pushes per latency run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.repeats, args.latency_seconds, args.pushes = 1_000, 1, 5.0, 20
    port = free_port()
    ready = multiprocessing.get_context("spawn").Event()
    site = multiprocessing.get_context("spawn").Process(
        target=serve_site, args=(port, ready), daemon=True
    )
    site.start()
    ready.wait(30)

    def phase(name: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-fetch-bench-"))
    try:
        runs: list[tuple[dict[str, float], dict[str, float]]] = []
        for n in range(args.repeats):
            phase(f"bare aiohttp loop and fetcher, {args.feeds:,} feeds (run {n + 1})")
            bare = asyncio.run(bare_loop(port, args.feeds))
            fetched = asyncio.run(fetcher_rounds(port, args.feeds))
            runs.append((bare, fetched))
        phase("latency: polling")
        polling = [
            asyncio.run(polling_latency(port, 100, args.latency_seconds))
            for _ in range(args.repeats)
        ]
        phase("latency: WebSub push, and push to notification")
        pushed = [
            asyncio.run(push_latency(port, 10, args.pushes, True, tmp)) for _ in range(args.repeats)
        ]
    finally:
        site.terminate()

    def med(rows: list[dict[str, float]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    bare_rows, fetch_rows = [r[0] for r in runs], [r[1] for r in runs]
    rss_runs = fetch_rows[:1]  # later runs reuse the memory the first one freed
    ratio_304 = [f["304_cpu_us"] / b["304_cpu_us"] for b, f in runs]
    ratio_200 = [f["200_cpu_us"] / b["200_cpu_us"] for b, f in runs]
    cpu_304 = med(fetch_rows, "304_cpu_us")
    share_304 = cpu_304 * 1e-6 * 10_000 / 300
    share_200 = med(fetch_rows, "200_cpu_us") * 1e-6 * 10_000 / 300
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "feeds": args.feeds,
        "repeats": args.repeats,
        "bare": bare_rows,
        "fetcher": fetch_rows,
        "ratio_cpu_per_request_304": statistics.median(ratio_304),
        "ratio_cpu_per_request_200": statistics.median(ratio_200),
        "core_share_10000_sources_5min_304": share_304,
        "core_share_10000_sources_5min_200": share_200,
        "polling_latency": polling,
        "push_latency": pushed,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    rows = [
        (
            "bare loop, 304",
            f"{med(bare_rows, '304_per_s'):,.0f}/s",
            f"{med(bare_rows, '304_cpu_us'):,.0f} µs CPU/request",
        ),
        (
            "fetcher, 304 path",
            f"{med(fetch_rows, '304_per_s'):,.0f} polls/s",
            f"{cpu_304:,.0f} µs CPU/poll, {statistics.median(ratio_304):.2f}x bare",
        ),
        (
            "bare loop, 200",
            f"{med(bare_rows, '200_per_s'):,.0f}/s",
            f"{med(bare_rows, '200_cpu_us'):,.0f} µs CPU/request",
        ),
        (
            "fetcher, 200 path (parse + produce 5)",
            f"{med(fetch_rows, '200_per_s'):,.0f} polls/s",
            f"{med(fetch_rows, '200_cpu_us'):,.0f} µs CPU/poll, {statistics.median(ratio_200):.2f}x bare",
        ),
        (
            "10,000 sources every 5 min",
            f"{share_304:.1%} of a core (304)",
            f"{share_200:.1%} if every poll were a 200",
        ),
        (
            "fetcher, first 304 (state written)",
            f"{med(fetch_rows, '304_first_per_s'):,.0f} polls/s",
            f"{med(fetch_rows, '304_first_cpu_us'):,.0f} µs CPU/poll",
        ),
        (
            "memory per source",
            f"{med(fetch_rows, 'state_bytes_in_memory') / 1000:.1f} KB state in memory",
            f"RSS {med(rss_runs, 'rss_mb_per_1000_sources'):.1f} KB/source over run 1; "
            f"record {med(fetch_rows, 'state_bytes'):,.0f} B",
        ),
        (
            "publish -> article, polling every 2 s",
            f"p50 {med(polling, 'p50_ms'):,.0f} ms",
            f"p99 {med(polling, 'p99_ms'):,.0f} ms",
        ),
        (
            "publish -> article, WebSub push",
            f"p50 {med(pushed, 'p50_ms'):,.0f} ms",
            f"p99 {med(pushed, 'p99_ms'):,.0f} ms",
        ),
        (
            "push -> notification (worker, notifier)",
            f"p50 {med(pushed, 'e2e_p50_ms'):,.0f} ms",
            f"p99 {med(pushed, 'e2e_p99_ms'):,.0f} ms",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>28}  {b}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
