"""How fast the notifier dispatches alerts to a local webhook, against a bare apprise loop.

Throughput: ``--alerts`` alerts (default 300) are written to the alerts topic,
then a notifier with 10 receivers (10 ``json://`` URLs on one local aiohttp
webhook, every alert routed to all 10, no grouping delay) is started; timed
from the first to the last notification received. Baseline in the same run:
the same number of notifications sent by a bare loop of ``apprise.notify``
on a pool of the same size (``notify_threads``), to the same server.

Latency: alerts are written at ``--rate`` alerts/s (default 50) for
``--seconds`` (default 10) to a running notifier with the same 10 receivers
and ``group_wait: 0s``; each notification's latency is its arrival at the
webhook minus the moment its alert was handed to Kafka. With ``group_wait: 0``
this is the latency beyond ``group_wait``.

    python benchmarks/notify.py [--alerts 300] [--rate 50] [--seconds 10] [--runs 3]

Needs the local broker (``wirewatch broker start``). Fresh topics per run,
deleted afterwards. Prints a table and writes benchmarks/results/notify.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apprise
import yaml
from aiohttp import web

from alerts.notifier import Notifier
from alerts.receivers import resolve_receivers
from alerts.routing import load_routes
from schemas import Alert, Evidence, Settings, Severity
from schemas.kafka import (
    delete_prefixed_topics,
    encode,
    ensure_topics,
    make_producer,
    pipeline_topics,
)
from wirewatch.logs import configure_logging

RECEIVERS = 10
THREADS = Settings.model_fields["notify_threads"].default


class Sink:
    """A webhook server in its own thread and event loop, recording arrival times by title."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.arrivals: list[tuple[float, str]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def handle(request: web.Request) -> web.Response:
            payload = await request.json()
            self.arrivals.append((time.time(), payload["title"]))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{path}", handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    @contextmanager
    def running(self) -> Iterator[Sink]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def alert(n: int, run: str) -> Alert:
    return Alert(
        key=f"bench@1/{run}-{n}/w",
        rule_id="bench",
        rule_version="1",
        rule_title="Benchmark rule",
        category="bench",
        severity=Severity.HIGH,
        story_id=f"{run}-{n}",
        evidence=(
            Evidence(
                article_id=f"a{n}",
                url=f"https://bench.example/{n}",
                source="bench.example",
                title=f"{run} alert {n}",
                snippet="Benchmark snippet with a highlighted phrase in it.",
                snippet_highlights=((27, 45),),
            ),
        ),
    )


def settings_for(base: Settings, tmp: Path, sink: Sink, receivers: int = RECEIVERS) -> Settings:
    routes = tmp / "routes.yaml"
    names = [f"r{i}" for i in range(receivers)]
    routes.write_text(
        yaml.safe_dump(
            {
                "receivers": {name: {"template": "text"} for name in names},
                "route": {
                    "receiver": names[0],
                    "group_by": ["..."],
                    "group_wait": "0s",
                    "routes": [{"match": {}, "receiver": n, "continue": True} for n in names],
                },
            }
        )
    )
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=base.bootstrap_servers,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        partitions=3,
        routes_path=routes,
        receivers={n: [f"json://127.0.0.1:{sink.port}/{n}"] for n in names},
        notifier_web_port=0,
        notify_threads=THREADS,
    )


async def write(settings: Settings, alerts: list[Alert]) -> None:
    producer = make_producer(settings, "bench")
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.alerts, encode(a), key=a.story_id.encode())
            for a in alerts
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def until(predicate: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:g} s")
        await asyncio.sleep(0.01)


async def wait_for(sink: Sink, count: int) -> None:
    await until(lambda: len(sink.arrivals) >= count)


async def throughput(base: Settings, count: int) -> dict[str, float]:
    """Notifications/s of the notifier and of a bare apprise loop, same server, same pool size."""
    with tempfile.TemporaryDirectory() as tmp, Sink().running() as sink:
        settings = settings_for(base, Path(tmp), sink)
        await ensure_topics(settings, pipeline_topics(settings))
        run = uuid.uuid4().hex[:6]
        await write(settings, [alert(n, run) for n in range(count)])
        routes = load_routes(settings.routes_path)
        notifier = Notifier(settings, routes, resolve_receivers(settings, routes.receivers))
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop))
        try:
            await wait_for(sink, count * RECEIVERS)
        finally:
            stop.set()
            await task
        times = [t for t, _ in sink.arrivals]
        wirewatch_rate = len(times) / (max(times) - min(times))
        await delete_prefixed_topics(settings)

        sink.arrivals.clear()
        pool = ThreadPoolExecutor(settings.notify_threads)
        senders = []
        for i in range(RECEIVERS):
            a = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, service_timeout=0))
            a.add(f"json://127.0.0.1:{sink.port}/b{i}")
            senders.append(a)
        loop = asyncio.get_running_loop()
        start = time.time()
        await asyncio.gather(
            *(
                loop.run_in_executor(pool, functools.partial(s.notify, body="b", title=f"t{n}"))
                for n in range(count)
                for s in senders
            )
        )
        await wait_for(sink, count * RECEIVERS)
        baseline_rate = len(sink.arrivals) / (max(t for t, _ in sink.arrivals) - start)
        pool.shutdown()
    return {"notifier_per_s": wirewatch_rate, "baseline_per_s": baseline_rate}


async def latency(base: Settings, rate: float, seconds: float, receivers: int) -> dict[str, float]:
    """p50/p99 of alert-handed-to-Kafka -> notification-received, at ``rate`` alerts/s."""
    with tempfile.TemporaryDirectory() as tmp, Sink().running() as sink:
        settings = settings_for(base, Path(tmp), sink, receivers)
        await ensure_topics(settings, pipeline_topics(settings))
        routes = load_routes(settings.routes_path)
        notifier = Notifier(settings, routes, resolve_receivers(settings, routes.receivers))
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop))
        await until(lambda: bool(notifier.health()["ok"]))
        await asyncio.sleep(1.0)  # let the group settle before timing
        producer = make_producer(settings, "bench", linger_ms=0)
        await producer.start()
        sent: dict[str, float] = {}
        run = uuid.uuid4().hex[:6]
        total = int(rate * seconds)
        began = time.monotonic()
        try:
            for n in range(total):
                await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
                a = alert(n, run)
                sent[f"[HIGH] {a.headline}"] = time.time()
                await producer.send(settings.topics.alerts, encode(a), key=a.story_id.encode())
            await producer.flush()
            await wait_for(sink, total * receivers)
        finally:
            await producer.stop()
            stop.set()
            await task
        await delete_prefixed_topics(settings)
    latencies = sorted((t - sent[title]) * 1000 for t, title in sink.arrivals if title in sent)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "notifications": len(latencies),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--latency-receivers",
        type=int,
        default=1,
        help="receivers per alert while measuring latency (10 means 10x the notifications)",
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING")
    base = Settings()
    runs: list[dict[str, Any]] = []
    for i in range(args.runs):
        row = {
            **await throughput(base, args.alerts),
            **await latency(base, args.rate, args.seconds, args.latency_receivers),
        }
        row["ratio"] = row["notifier_per_s"] / row["baseline_per_s"]
        runs.append(row)
        print(
            f"run {i + 1}: notifier {row['notifier_per_s']:.0f}/s, bare apprise "
            f"{row['baseline_per_s']:.0f}/s (ratio {row['ratio']:.2f}); latency at "
            f"{args.rate:g} alerts/s x {args.latency_receivers} receiver(s): "
            f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms"
        )
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    rows = [
        (f"notifications/s, notifier ({RECEIVERS} receivers)", f"{median['notifier_per_s']:.0f}"),
        ("notifications/s, bare apprise loop", f"{median['baseline_per_s']:.0f}"),
        ("ratio notifier / bare", f"{median['ratio']:.2f}"),
        ("alerts/s, notifier", f"{median['notifier_per_s'] / RECEIVERS:.0f}"),
        (
            f"latency p50 at {args.rate:g} alerts/s x {args.latency_receivers} (ms)",
            f"{median['p50_ms']:.1f}",
        ),
        (
            f"latency p99 at {args.rate:g} alerts/s x {args.latency_receivers} (ms)",
            f"{median['p99_ms']:.1f}",
        ),
    ]
    print(f"\n{'median of ' + str(args.runs) + ' runs':<48}{'value':>10}")
    for label, value in rows:
        print(f"{label:<48}{value:>10}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "notify.json").write_text(
        json.dumps({"args": vars(args), "runs": runs, "median": median}, indent=2)
    )


if __name__ == "__main__":
    asyncio.run(main())
