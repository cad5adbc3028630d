"""One scenario from start to verdict: real processes, the corpus, the faults, the checker.

For each scenario the harness

1. makes topics of its own (a fresh prefix) and writes the rules and routes;
2. starts a webhook and an SMTP server on loopback, N workers and a notifier
   as subprocesses (``wirewatch worker``, ``wirewatch notifier``), all
   supervised (:mod:`tests.chaos.supervise`);
3. generates the corpus and asks the oracle what must come out of it;
4. produces the corpus at a steady rate over the production window (every
   record acknowledged, retried through broker outages), while the
   scenario's schedule injects its faults;
5. waits for the pipeline to drain: both consumer groups' lag at 0 and every
   expected alert at every receiver;
6. reads what the pipeline left on its topics and hands everything to the
   checker (:func:`tests.chaos.checker.judge`);
7. stops every child (and the broker, when this run started it) in a finally.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from schemas import Alert, BrokerError, DeadLetter, Settings
from schemas.deliveries import Delivery
from schemas.kafka import delete_prefixed_topics, ensure_topics, make_producer, story_topics
from streams.app import app_id, worker_topics
from tests.chaos.checker import RECOVERY_LIMIT_S, DeadArticle, Observed, Verdict, judge
from tests.chaos.corpus import Expectation, Record, expect, generate, write_rules
from tests.chaos.receivers import Pair, Received, from_smtp, from_webhook
from tests.chaos.scenarios import Scenario
from tests.chaos.supervise import Supervised, watch
from tests.support.processes import Child, ChildError, settings_env, wirewatch_argv
from tests.support.servers import (
    Behaviour,
    SmtpServer,
    Webhook,
    free_port,
    serve_smtp,
    serve_webhook,
)
from tests.support.topics import Offsets, read_to_end
from wirewatch.broker import LocalBroker

HOOK = "hook"
MAIL = "mail"
RECEIVERS = (HOOK, MAIL)
MAX_RATE = 100.0
"""Highest production rate, records/s: well within what two workers sustain on two
cores, so a scenario measures faults, not saturation; more articles mean a longer window."""
BROKER_START_S = 120.0
"""How long a broker that fails to start again is retried."""
PRODUCE_GRACE_S = 180.0
"""How long production may run past its window (the broker may be down) before giving up."""
STALL_S = 10.0
"""Both lags at 0 this long with alerts still missing: nothing more will come."""
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class Options:
    """How to run scenarios.

    Attributes:
        base: the settings read at the entry point (broker, local broker home...).
        worker_argv: how to start a worker (``python <argv>``); a test swaps in a broken one.
        broker: the local broker, when the harness may stop and start it (scenario 4).
    """

    articles: int
    base: Settings
    work_dir: Path
    seed: int = 8
    workers: int = 2
    worker_argv: tuple[str, ...] = wirewatch_argv("worker")
    broker: LocalBroker | None = None
    say: Callable[[str], None] = print
    keep_topics: bool = False


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault, in seconds since production started."""

    what: str
    start_s: float
    end_s: float


@dataclass
class Result:
    """The outcome of one scenario."""

    scenario: Scenario
    verdict: Verdict
    window_s: float
    seconds: float
    faults: list[FaultRecord] = field(default_factory=list)
    crashes: dict[str, int] = field(default_factory=dict)
    logs: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "scenario": self.scenario.number,
            "name": self.scenario.name,
            "summary": self.scenario.summary,
            "window_s": round(self.window_s, 1),
            "seconds": round(self.seconds, 1),
            "faults": [vars(f) for f in self.faults],
            "crashes": self.crashes,
            "logs": self.logs,
            **self.verdict.as_dict(),
        }


def routes_yaml() -> str:
    """Every alert goes to the webhook alone and at once, and to email grouped by rule."""
    return json.dumps(
        {
            "receivers": {HOOK: {"template": "text"}, MAIL: {"template": "email"}},
            "route": {
                "receiver": HOOK,
                "group_by": ["..."],
                "group_wait": "0s",
                "routes": [
                    {
                        "match": {},
                        "receiver": MAIL,
                        "group_by": ["rule_id"],
                        "group_wait": "1s",
                        "group_interval": "2s",
                        "continue": True,
                    },
                    {"match": {}, "receiver": HOOK},
                ],
            },
        }
    )


class Tally:
    """What the receivers accepted so far, parsed once per notification."""

    def __init__(self, hook: Webhook, smtp: SmtpServer) -> None:
        self._hook = hook
        self._smtp = smtp
        self.received: dict[str, list[Received]] = {HOOK: [], MAIL: []}
        self.pairs: dict[str, set[Pair]] = {HOOK: set(), MAIL: set()}

    def update(self) -> int:
        """Parse what arrived since the last call; return the number of notifications."""
        for name, fresh in ((HOOK, self._new_hook()), (MAIL, self._new_mail())):
            for item in fresh:
                self.received[name].append(item)
                self.pairs[name].update(item.pairs)
        return self.count()

    def count(self) -> int:
        """Notifications accepted, every receiver together."""
        return sum(len(items) for items in self.received.values())

    def _new_hook(self) -> list[Received]:
        return from_webhook(self._hook, HOOK, HOOK, start=len(self.received[HOOK]))

    def _new_mail(self) -> list[Received]:
        return from_smtp(self._smtp, MAIL, start=len(self.received[MAIL]))

    def missing(self, expected: set[Pair]) -> int:
        """Expected (alert, receiver) deliveries not accepted yet."""
        return sum(len(expected - pairs) for pairs in self.pairs.values())


class Run:
    """A scenario in progress: what its fault schedule can act on and record."""

    def __init__(
        self,
        *,
        options: Options,
        settings: Settings,
        window_s: float,
        workers: list[Supervised],
        notifier: Supervised,
        make_worker: Callable[[str], Supervised],
        hook: Webhook,
        tally: Tally,
    ) -> None:
        self.options = options
        self.settings = settings
        self.seed = options.seed
        self.window_s = window_s
        self.workers = workers
        self.notifier = notifier
        self.children = [*workers, notifier]
        self.hook = hook
        self.tally = tally
        self.produced = asyncio.Event()
        self.faults: list[FaultRecord] = []
        self.produced_s = 0.0
        self.errors: list[str] = []
        self.lag = LagProbe(settings)
        self._make_worker = make_worker
        self._began = time.monotonic()
        self._notifier_started_with = 0

    def begin(self) -> None:
        """Start the clock: production and faults start now."""
        self._began = time.monotonic()

    def mark_produced(self) -> None:
        """Note that production has ended (every record acknowledged, or given up)."""
        self.produced_s = self.elapsed()
        self.produced.set()

    def elapsed(self) -> float:
        """Seconds since production started."""
        return time.monotonic() - self._began

    def say(self, line: str) -> None:
        """Print a progress line, stamped with the elapsed time."""
        self.options.say(f"  {self.elapsed():6.1f} s  {line}")

    @contextlib.contextmanager
    def fault(self, what: str) -> Iterator[None]:
        """Record the fault done inside the block (start and end), and say it."""
        start = self.elapsed()
        self.say(f"fault: {what}")
        try:
            yield
        finally:
            self.faults.append(FaultRecord(what, round(start, 2), round(self.elapsed(), 2)))

    async def sleep_unless_produced(self, seconds: float) -> bool:
        """Sleep ``seconds``; return True (at once) when production has ended."""
        try:
            await asyncio.wait_for(self.produced.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def add_worker(self, name: str) -> Supervised:
        """A further worker on the same topics (not started)."""
        worker = self._make_worker(name)
        self.children.append(worker)
        return worker

    def misbehave(self, behaviour: Behaviour | None) -> None:
        """Make the webhook answer every request with ``behaviour`` (None: accept again)."""
        self.hook.scripts[HOOK] = [behaviour] * 1_000_000 if behaviour else []

    async def wait_notifier_restarted(self, timeout_s: float = 60) -> None:
        """Wait until the notifier runs again and answers /healthz (the supervisor restarts it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.notifier.ready):
                self._notifier_started_with = self.tally.update()
                return
            await asyncio.sleep(0.1)
        raise ChildError(
            f"the notifier did not come back in {timeout_s} s:\n{self.notifier.child.log()}"
        )

    async def wait_notifier_sent_since_start(self, timeout_s: float) -> bool:
        """Wait until a notification arrived since the notifier's last start; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.tally.update() > self._notifier_started_with:
                return True
            await asyncio.sleep(0.05)
        return False

    async def broker_down(self, sig: signal.Signals, seconds: float) -> None:
        """Stop the local broker with ``sig``, keep it down ``seconds`` in all, start it again.

        While it is down its port is held by a listener that closes every
        connection (clients see a broker that is gone): the port may lie in the
        kernel's ephemeral range, where a client reconnecting to it can be given
        that very port and connect to itself, holding it so the broker cannot
        bind again. Starting is retried for a while in case that happened anyway.
        """
        broker = self.options.broker
        if broker is None:
            raise RuntimeError("this scenario needs the local broker")
        began = time.monotonic()
        if sig == signal.SIGTERM:
            await asyncio.to_thread(broker.stop)  # SIGTERM, SIGKILL after 30 s
        else:
            await asyncio.to_thread(_kill_broker, broker)
        async with _holding_port(broker.settings.local_broker_port, self.say):
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - began)))
        deadline = time.monotonic() + BROKER_START_S
        while True:
            try:
                taken = await asyncio.to_thread(broker.start)
            except BrokerError as exc:
                if time.monotonic() > deadline:
                    raise
                self.say(f"broker did not start ({str(exc).splitlines()[0]}); trying again")
                await asyncio.sleep(2.0)
            else:
                self.say(f"broker back (start took {taken:.1f} s)")
                return


@contextlib.asynccontextmanager
async def _holding_port(port: int, say: Callable[[str], None]) -> AsyncIterator[None]:
    """Listen on 127.0.0.1:``port`` and close every connection at once, until the block ends."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = None
    for _ in range(50):  # a killed JVM's sockets close a moment after its process is gone
        try:
            server = await asyncio.start_server(refuse, "127.0.0.1", port)
            break
        except OSError as exc:
            error = exc
            await asyncio.sleep(0.1)
    if server is None:
        say(f"could not hold port {port} while the broker is down: {error}")
        yield
        return
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


def _kill_broker(broker: LocalBroker) -> None:
    """SIGKILL the local broker and wait until its process is gone."""
    pid = broker.pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGKILL)
    while broker.pid() is not None:  # a zombie has no command line, so it reads as gone
        time.sleep(0.05)


def scenario_settings(
    options: Options, prefix: str, work: Path, hook: Webhook, smtp: SmtpServer
) -> Settings:
    """The settings every process of one scenario shares."""
    routes = work / "routes.yaml"
    routes.write_text(routes_yaml())
    values = {
        **options.base.model_dump(),
        "kafka_bootstrap": options.base.bootstrap_servers,
        "topic_prefix": prefix,
        "rules_path": write_rules(work / "rules"),
        "routes_path": routes,
        "receivers": {HOOK: [hook.url(HOOK)], MAIL: [smtp.url()]},
        "receivers_dir": None,
        "notifier_group": f"{prefix}notifier",
        "notifier_instance_id": f"{prefix}notifier-1",
        "notifier_web_port": free_port(),
        "pipeline_session_timeout_s": 6.0,
        "log_format": "json",
        "log_level": "INFO",
    }
    return Settings(_env_file=None, **values)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a child: this one without WIREWATCH_*, then the scenario's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(settings_env(settings))
    env.update(extra)
    return env


async def produce(run: Run, records: list[Record]) -> dict[int, str]:
    """Produce ``records`` over the run's window; return each one's ``topic/partition@offset``.

    Each record is sent with its own timestamp, and again (with a fresh
    producer, which aiokafka's idempotent one needs after some broker
    failures) until the broker acknowledges it, so every record of the
    corpus is on the topic however the broker behaves.
    """
    settings = run.settings
    rate = len(records) / run.window_s
    origins: dict[int, str] = {}
    began = time.monotonic()
    deadline = began + run.window_s + PRODUCE_GRACE_S
    task = asyncio.current_task()
    while len(origins) < len(records):
        if task is not None and task.cancelling():
            # asyncio.wait_for can turn a cancellation into the inner error: do not retry then.
            raise asyncio.CancelledError
        if time.monotonic() > deadline:
            missing = len(records) - len(origins)
            run.errors.append(f"{missing} records were never acknowledged by the broker")
            return origins
        producer = make_producer(settings, "chaos-producer")
        try:
            await asyncio.wait_for(producer.start(), settings.send_timeout_s)
            await _send_all(producer, settings.topics.articles, records, origins, began, rate)
        except (KafkaError, TimeoutError, OSError) as exc:
            run.say(f"producer: {type(exc).__name__} {exc}; retrying unacknowledged records")
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)
    return origins


async def _send_all(
    producer: Any,
    topic: str,
    records: list[Record],
    origins: dict[int, str],
    began: float,
    rate: float,
) -> None:
    in_flight: dict[int, asyncio.Future[Any]] = {}
    for n, record in enumerate(records):
        if n in origins:
            continue
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        in_flight[n] = await producer.send(
            topic, record.value, key=record.key, timestamp_ms=record.timestamp_ms
        )
        _settle(in_flight, origins)
    while in_flight:
        await asyncio.wait(list(in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
        _settle(in_flight, origins)


def _settle(in_flight: dict[int, asyncio.Future[Any]], origins: dict[int, str]) -> None:
    for n, future in list(in_flight.items()):
        if future.done():
            del in_flight[n]
            meta = future.result()  # raises the send's error: the caller retries
            origins[n] = f"{meta.topic}/{meta.partition}@{meta.offset}"


async def run_scenario(scenario: Scenario, options: Options) -> Result:
    """Run ``scenario`` and return its verdict (every process it started is gone after)."""
    began = time.monotonic()
    prefix = f"chaos{scenario.number}-{uuid.uuid4().hex[:8]}."
    work = options.work_dir / f"{scenario.number}-{scenario.name}"
    work.mkdir(parents=True, exist_ok=True)
    window_s = max(scenario.min_window_s, options.articles / MAX_RATE)
    options.say(
        f"[{scenario.number} {scenario.name}] {scenario.summary}: {options.articles} records "
        f"over {window_s:.0f} s; logs in {work}"
    )
    if options.broker is not None:
        await asyncio.to_thread(options.broker.start)
    async with serve_webhook() as hook:
        with serve_smtp() as smtp:
            settings = scenario_settings(options, prefix, work, hook, smtp)
            verdict, run = await _run(scenario, options, settings, work, window_s, hook, smtp)
    if verdict.passed and not options.keep_topics:
        with contextlib.suppress(Exception):
            await delete_prefixed_topics(settings)
    result = Result(
        scenario,
        verdict,
        window_s,
        time.monotonic() - began,
        run.faults,
        {child.name: child.crashes for child in run.children if child.crashes},
        str(work),
    )
    options.say(
        f"[{scenario.number} {scenario.name}] {'PASS' if verdict.passed else 'FAIL'} "
        f"in {result.seconds:.0f} s" + "".join(f"\n    - {f}" for f in verdict.failures)
    )
    return result


async def _run(
    scenario: Scenario,
    options: Options,
    settings: Settings,
    work: Path,
    window_s: float,
    hook: Webhook,
    smtp: SmtpServer,
) -> tuple[Verdict, Run]:
    await ensure_topics(settings, worker_topics(settings))
    start_ms = int(time.time() * 1000) + 5_000
    records = generate(
        options.articles,
        seed=options.seed,
        start_ms=start_ms,
        rate=options.articles / window_s,
        poison_share=scenario.poison_share,
    )
    expectation = await asyncio.to_thread(expect, records, settings.rules_path, settings)

    def make_worker(name: str) -> Supervised:
        port = free_port()
        env = child_env(settings, WIREWATCH_WORKER_WEB_PORT=str(port))
        child = Child(name, env, work / f"{name}.log", port, options.worker_argv)
        return Supervised(child, on_event=lambda line: run.say(line))

    notifier = Supervised(
        Child(
            "notifier",
            child_env(settings),
            work / "notifier.log",
            settings.notifier_web_port,
            wirewatch_argv("notifier"),
            ready_path="/healthz",
        ),
        on_event=lambda line: run.say(line),
    )
    workers = [make_worker(f"worker-{n + 1}") for n in range(options.workers)]
    run = Run(
        options=options,
        settings=settings,
        window_s=window_s,
        workers=workers,
        notifier=notifier,
        make_worker=make_worker,
        hook=hook,
        tally=Tally(hook, smtp),
    )
    stop_watching = asyncio.Event()
    watcher: asyncio.Task[None] | None = None
    try:
        for child in run.children:
            child.start()
        await asyncio.gather(*(asyncio.to_thread(c.child.wait_ready, 120) for c in run.children))
        watcher = asyncio.create_task(watch(run.children, stop_watching))
        run.begin()
        recovered_s, origins = await _drive(scenario, run, records, expectation)
        deaths = tuple(d.at for d in notifier.deaths)
        observed = await _observe(settings, run, records, origins, deaths, recovered_s)
        verdict = judge(expectation, observed)
        if run.errors:
            verdict = dataclasses.replace(verdict, failures=(*verdict.failures, *run.errors))
        return verdict, run
    finally:
        stop_watching.set()
        if watcher is not None:
            await watcher
        await asyncio.gather(*(asyncio.to_thread(c.finish) for c in run.children))
        await run.lag.close()


async def _drive(
    scenario: Scenario, run: Run, records: list[Record], expectation: Expectation
) -> tuple[float | None, dict[int, str]]:
    """Produce, inject the faults and report progress; then wait for the drain."""
    expected = {(a.rule_id, a.article_id) for a in expectation.alerts.values()}
    reporter = asyncio.create_task(_report(run, expected, len(records)))
    producing = asyncio.create_task(produce(run, records))
    producing.add_done_callback(lambda _: run.mark_produced())
    try:
        try:
            await scenario.inject(run)
        except Exception as exc:  # the verdict says so; the run still drains and is checked
            run.errors.append(f"the fault schedule failed: {type(exc).__name__}: {exc}")
            run.say(run.errors[-1].splitlines()[0])
        faults_end = run.elapsed()
        origins = await producing
        end = max(faults_end, run.produced_s)
        run.say(
            f"faults over at {faults_end:.1f} s, production at {run.produced_s:.1f} s: "
            "waiting for the pipeline to drain"
        )
        recovered = await _wait_recovered(run, expected, end)
        return recovered, origins
    finally:
        reporter.cancel()
        producing.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producing


class LagProbe:
    """Consumer lag of the workers' group and the notifier's group, over kept connections."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._offsets: Offsets | None = None

    async def read(self) -> tuple[int, int] | None:
        """(workers' lag, notifier's lag) in records; None while the broker does not answer."""
        settings = self._settings
        topics = settings.topics
        try:
            if self._offsets is None:
                self._offsets = await Offsets(settings, timeout_s=5).__aenter__()
            workers = await self._offsets.lag(
                app_id(settings),
                [topics.articles, story_topics(settings)[0].name, topics.detections],
            )
            notifier = await self._offsets.lag(settings.notifier_group, [topics.alerts])
        except (KafkaError, TimeoutError, OSError):
            await self.close()
            return None
        return sum(workers.values()), sum(notifier.values())

    async def close(self) -> None:
        """Drop the connections (they are made again on the next read)."""
        offsets, self._offsets = self._offsets, None
        if offsets is not None:
            with contextlib.suppress(Exception):
                await offsets.__aexit__(None, None, None)


async def _report(run: Run, expected: set[Pair], total: int) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        run.tally.update()
        lags = await run.lag.read()
        lag = (
            "lag unknown (broker down?)"
            if lags is None
            else f"lag workers {lags[0]}, notifier {lags[1]}"
        )
        received = ", ".join(
            f"{name} {len(run.tally.pairs[name] & expected)}" for name in RECEIVERS
        )
        run.say(f"alerts {len(expected)} expected; received {received}; {lag}")


async def _wait_recovered(run: Run, expected: set[Pair], end_s: float) -> float | None:
    """Seconds from ``end_s`` until lag is 0 and every alert delivered; None if never."""
    deadline = end_s + 2 * RECOVERY_LIMIT_S
    drained_since: float | None = None
    while run.elapsed() < deadline:
        run.tally.update()
        missing = run.tally.missing(expected)
        lags = await run.lag.read()
        if lags == (0, 0):
            if not missing:
                return run.elapsed() - end_s
            drained_since = drained_since or run.elapsed()
            if run.elapsed() - drained_since > STALL_S:
                run.say(f"lag is 0 but {missing} deliveries are missing: giving up waiting")
                return None
        else:
            drained_since = None
        await asyncio.sleep(0.5)
    return None


async def _observe(
    settings: Settings,
    run: Run,
    records: list[Record],
    origins: dict[int, str],
    notifier_deaths: tuple[float, ...],
    recovered_s: float | None,
) -> Observed:
    """Read what the pipeline left on its topics, and what the receivers got."""
    topics = settings.topics
    detections, dead, alerts, dead_alerts, ledger = await asyncio.gather(
        read_to_end(settings, topics.detections),
        read_to_end(settings, topics.articles_dlq),
        read_to_end(settings, topics.alerts),
        read_to_end(settings, topics.alerts_dlq),
        read_to_end(settings, topics.deliveries),
    )
    first_record: dict[tuple[str, str], float] = {}
    for record in ledger:
        if record.value is None:
            continue
        delivery = Delivery.model_validate_json(record.value)
        pair = (delivery.alert_key, delivery.receiver)
        first_record[pair] = min(first_record.get(pair, float("inf")), record.timestamp / 1000)
    letters = [DeadLetter.model_validate_json(r.value) for r in dead if r.value]
    run.tally.update()
    return Observed(
        detected=frozenset(
            article_id
            for r in detections
            if r.value and (article_id := json.loads(r.value).get("article_id"))
        ),
        dead_articles=tuple(DeadArticle(d.origin, d.key, d.reason) for d in letters),
        emitted=frozenset(Alert.model_validate_json(r.value).key for r in alerts if r.value),
        dead_alerts=frozenset(
            d.key
            for d in (DeadLetter.model_validate_json(r.value) for r in dead_alerts if r.value)
            if d.key
        ),
        ledger=first_record,
        received=tuple(item for items in run.tally.received.values() for item in items),
        receivers=RECEIVERS,
        poison_origins=frozenset(
            origins[n] for n, r in enumerate(records) if r.poison and n in origins
        ),
        notifier_deaths=notifier_deaths,
        recovered_s=recovered_s,
        produced=len(origins),
    )
