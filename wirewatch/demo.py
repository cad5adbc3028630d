"""``wirewatch demo``: the whole monitor end to end on the seed articles.

The real thing, not a shortcut: the local broker (unless one is configured),
the pipeline's topics, the default rule packs published on the rules topic,
a worker and a notifier as child processes, the seed articles produced by the
same code as ``wirewatch produce``, and each alert printed once the notifier
has delivered it (read back from the delivery ledger).

Every run works in topics of its own (prefix ``demo-<time>-<hex>.``) and a
directory of its own under ``settings.demo_dir``: a second run shows the same
alerts again instead of finding them already delivered, and two runs never
mix. The run's topics are deleted at the end; its directory (routes, the
alerts file, the process logs) is kept.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import yaml
from aiokafka import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ingest.producer import produce
from ingest.sender import ProduceSummary
from schemas import Alert, Delivery, Settings, WirewatchError
from schemas.kafka import delete_prefixed_topics, ensure_topics
from streams.app import worker_topics
from streams.follower import follow_topic
from streams.rulebook import compile_packs, publish_ruleset, publisher_name, ruleset_message
from streams.rules import load_gazetteer, load_packs
from wirewatch.alert_console import alert_panel
from wirewatch.broker import LocalBroker
from wirewatch.children import Child, start_child, stop_children
from wirewatch.logs import configure_logging
from wirewatch.options import cli_actor
from wirewatch.progress import produce_progress

FILE_RECEIVER = "demo-file"
READY_TIMEOUT_S = 120.0
POLL_S = 0.2
_TEMPLATE_BY_SCHEME = {"mailto": "email", "mailtos": "email", "slack": "slack"}


class DemoError(WirewatchError):
    """The demo could not run to its end (a child process died, the pipeline did not drain)."""


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo: its settings (the user's, with the run's topic prefix) and places."""

    settings: Settings
    directory: Path
    worker_port: int
    notifier_port: int
    receivers: Mapping[str, Sequence[str]]
    """Receiver name -> apprise URLs (secret: never printed)."""

    @property
    def alerts_file(self) -> Path:
        """The file receiver's JSON Lines file."""
        return self.directory / "alerts.jsonl"

    @property
    def routes_file(self) -> Path:
        """The run's route tree: every alert to every receiver, ungrouped, at once."""
        return self.directory / "routes.yaml"

    def child_env(self) -> dict[str, str]:
        """The environment of the worker and notifier: the user's, pointed at this run."""
        return {
            "WIREWATCH_KAFKA_BOOTSTRAP": self.settings.bootstrap_servers,
            "WIREWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
            "WIREWATCH_ROUTES_PATH": str(self.routes_file),
            "WIREWATCH_RECEIVERS": json.dumps(self.receivers),
            "WIREWATCH_WORKER_WEB_PORT": str(self.worker_port),
            "WIREWATCH_NOTIFIER_WEB_PORT": str(self.notifier_port),
            "WIREWATCH_LOG_FORMAT": "json",
        }


def plan_run(settings: Settings, notify: Sequence[str]) -> DemoRun:
    """Choose the run's prefix, directory, ports and receivers, and write its routes file.

    Each URL in ``notify`` (and in ``settings.demo_notify``) becomes a receiver
    of its own, ``notify-1``, ``notify-2``..., rendered with the template its
    scheme calls for (email for ``mailto``, Slack markdown for ``slack``, text
    for the rest).
    """
    run_id = f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    directory = settings.demo_dir.expanduser() / run_id
    directory.mkdir(parents=True, exist_ok=True)
    urls = [*notify, *(url.get_secret_value() for url in settings.demo_notify)]
    receivers: dict[str, list[str]] = {FILE_RECEIVER: [f"jsonl://{directory / 'alerts.jsonl'}"]}
    receivers.update({f"notify-{n}": [url] for n, url in enumerate(urls, start=1)})
    run = DemoRun(
        settings=settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}{run_id}."}),
        directory=directory,
        worker_port=_port(settings.web_host, settings.worker_web_port),
        notifier_port=_port(settings.web_host, settings.notifier_web_port),
        receivers=receivers,
    )
    run.routes_file.write_text(yaml.safe_dump(_routes(receivers), sort_keys=False))
    return run


def _routes(receivers: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    def template(name: str) -> str:
        if name == FILE_RECEIVER:
            return "text"
        scheme = receivers[name][0].split(":", 1)[0].lower()
        return _TEMPLATE_BY_SCHEME.get(scheme, "text")

    return {
        "receivers": {name: {"template": template(name)} for name in receivers},
        "route": {
            "receiver": FILE_RECEIVER,
            # One notification per story: alerts of several rules on one story
            # within a second go out together, later ones are repeats.
            "group_by": ["story_id"],
            "group_wait": "1s",
            "group_interval": "1s",
            "routes": [{"match": {}, "receiver": name, "continue": True} for name in receivers],
        },
    }


def _port(host: str, preferred: int) -> int:
    """``preferred`` when free on ``host``, else any free port (a worker may already run)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, preferred))
        except OSError:
            sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Tally:
    """What the demo saw: alerts read back, their deliveries, and when."""

    console: Console
    alerts: dict[str, Alert] = field(default_factory=dict)
    alert_records: int = 0
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    printed: set[str] = field(default_factory=set)
    stories: dict[str, str] = field(default_factory=dict)
    """Story id -> the headline its panel showed."""
    first_delivered_at: float | None = None
    last_delivered_at: float | None = None

    def on_alert(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """An alert record: keep it until its delivery to the file receiver is recorded."""
        if record.value is None:
            return
        self.alert_records += 1
        alert = Alert.model_validate_json(record.value)
        self.alerts.setdefault(alert.key, alert)
        self._show(alert.key)

    def on_delivery(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """A ledger record: note the outcome, print the alert once the file receiver has it."""
        if record.value is None:
            return
        delivery = Delivery.model_validate_json(record.value)
        outcomes = self.outcomes.setdefault(delivery.alert_key, {})
        if outcomes.get(delivery.receiver) == delivery.status:
            return
        outcomes[delivery.receiver] = delivery.status
        if delivery.status == "failed":
            self.console.print(
                f"[red]✗ delivery to {delivery.receiver} failed[/red] after "
                f"{delivery.attempts} attempts: {delivery.detail}"
            )
        self._show(delivery.alert_key)

    def _show(self, key: str) -> None:
        """Print an alert once the file receiver has its outcome: a panel per story."""
        alert = self.alerts.get(key)
        status = self.outcomes.get(key, {}).get(FILE_RECEIVER)
        if alert is None or status is None or key in self.printed:
            return
        self.printed.add(key)
        now = time.monotonic()
        self.first_delivered_at = self.first_delivered_at or now
        self.last_delivered_at = now
        headline = self.stories.get(alert.story_id)
        if headline is not None and not alert.is_update:
            note = "grouped with it" if status == "delivered" else f"not sent again: {status}"
            self.console.print(
                f"  ↳ [bold]{alert.rule_id}[/bold] ({alert.severity.value}) also fired on "
                f"“{headline}”: {note}",
                highlight=False,
            )
            return
        self.stories[alert.story_id] = alert.headline
        sent_to = [name for name, st in self.outcomes[key].items() if st == "delivered"]
        self.console.print(alert_panel(alert, sent_to))

    def settled(self, receivers: Iterable[str]) -> bool:
        """True when every alert read has an outcome at each of ``receivers``."""
        wanted = set(receivers)
        return all(wanted <= self.outcomes.get(key, {}).keys() for key in self.alerts)

    def statuses(self) -> Counter[str]:
        """How many (alert, receiver) pairs ended in each status."""
        return Counter(
            status for outcomes in self.outcomes.values() for status in outcomes.values()
        )


class Metrics:
    """Reads a child's Prometheus ``/metrics`` page into ``{name: total over labels}``."""

    def __init__(self, session: aiohttp.ClientSession, host: str, port: int) -> None:
        self._session = session
        self._base = f"http://{host}:{port}"

    async def get(self, path: str) -> int:
        """Return the HTTP status of ``path`` (0 when nothing answers)."""
        try:
            async with self._session.get(self._base + path) as response:
                return response.status
        except aiohttp.ClientError:
            return 0

    async def read(self) -> dict[str, float]:
        """Return every sample, summed over its labels; aggregate-stage counts apart."""
        async with self._session.get(self._base + "/metrics") as response:
            text = await response.text()
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name = sample.name
                if sample.labels.get("stage") == "aggregate":
                    name += ":aggregate"
                totals[name] = totals.get(name, 0.0) + sample.value
        return totals


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Let SIGTERM stop the demo like Ctrl-C does, children and broker included."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(
    settings: Settings,
    *,
    articles: Sequence[Path],
    notify: Sequence[str] = (),
    rate: float | None = None,
    keep_running: bool = False,
    timeout_s: float = 120.0,
    console: Console | None = None,
) -> int:
    """Run the demo; return the exit status (0 done, 1 failed, 130 interrupted).

    Raises:
        WirewatchError: a set-up step failed (broker, topics, rules, inputs).
    """
    console = console or Console()
    if settings.log_level == "INFO":
        # The demo's own output is the alerts and the summary; its INFO events would
        # interleave with them. The worker's and notifier's logs go to their files.
        configure_logging("WARNING", settings.log_format)
    missing = [str(path) for path in articles if not path.exists()]
    if missing:
        raise WirewatchError(
            f"{', '.join(missing)} not found: run the demo from the repository root "
            "(./scripts/demo does) or give --articles PATH"
        )
    began = time.monotonic()
    timings: dict[str, float] = {}
    broker: LocalBroker | None = None
    children: list[Child] = []
    run: DemoRun | None = None
    with _sigterm_interrupts():
        try:
            if settings.uses_local_broker:
                local = LocalBroker(settings)
                # A broker already running is someone else's: use it, leave it running.
                broker = local if local.pid() is None else None
                timings["broker start" if broker else "broker (already running)"] = local.start()
                console.print(f"Kafka {local.version} ready on {local.bootstrap}")
            else:
                console.print(f"Kafka at {settings.bootstrap_servers} (configured)")
            run = plan_run(settings, notify)
            timings["set-up"] = asyncio.run(_set_up(run, console))
            started = time.monotonic()
            children = [
                start_child("worker", ["worker"], env=run.child_env(), log_dir=run.directory),
                start_child("notifier", ["notifier"], env=run.child_env(), log_dir=run.directory),
            ]
            asyncio.run(_await_ready(run, children, console))
            timings["worker and notifier ready"] = time.monotonic() - started
            return asyncio.run(
                _stream(run, children, articles, rate, keep_running, timeout_s, console, timings)
            )
        except KeyboardInterrupt:
            console.print("\n[yellow]interrupted: stopping the worker and the notifier…[/yellow]")
            return 130
        finally:
            _shut_down(run, children, broker, console)
            console.print(f"demo took {time.monotonic() - began:.1f} s")


async def _set_up(run: DemoRun, console: Console) -> float:
    """Create the run's topics and publish the default rule packs; return seconds taken."""
    began = time.monotonic()
    settings = run.settings
    await ensure_topics(settings, worker_topics(settings))
    packs = load_packs(settings.rules_path)
    rules = compile_packs(packs, load_gazetteer(settings.gazetteer_path))
    message = ruleset_message(packs, published_by=publisher_name())
    actor, host = cli_actor()
    await publish_ruleset(settings, message, actor=actor, origin=host)
    console.print(
        f"topics ready (prefix [bold]{settings.topic_prefix}[/bold]); published rule set "
        f"{message.version}: {len(rules.rules)} rules in {len(packs)} packs"
    )
    return time.monotonic() - began


async def _await_ready(run: DemoRun, children: Sequence[Child], console: Console) -> None:
    """Wait until the worker says ready and the notifier healthy; fail fast if one exits."""
    host = run.settings.web_host
    with console.status("starting a worker and a notifier…"):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            worker = Metrics(session, host, run.worker_port)
            notifier = Metrics(session, host, run.notifier_port)
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                _check_alive(children)
                if await worker.get("/readyz") == 200 and await notifier.get("/healthz") == 200:
                    break
                await asyncio.sleep(POLL_S)
            else:
                raise DemoError(
                    f"the worker and notifier were not ready within {READY_TIMEOUT_S:g} s; "
                    f"see their logs in {run.directory}"
                )
    console.print(
        f"worker ready (metrics http://{host}:{run.worker_port}/metrics), "
        f"notifier ready (metrics http://{host}:{run.notifier_port}/metrics)"
    )


def _check_alive(children: Sequence[Child]) -> None:
    for child in children:
        if not child.alive:
            tail = "\n".join(child.log_path.read_text(errors="replace").splitlines()[-15:])
            raise DemoError(
                f"the {child.name} exited with code {child.process.returncode}:\n{tail}\n"
                f"full log: {child.log_path}"
            )


async def _stream(
    run: DemoRun,
    children: Sequence[Child],
    articles: Sequence[Path],
    rate: float | None,
    keep_running: bool,
    timeout_s: float,
    console: Console,
    timings: dict[str, float],
) -> int:
    """Produce the articles, print alerts as they are delivered, wait for the pipeline to drain."""
    settings = run.settings
    tally = Tally(console)
    caught_up = [asyncio.Event(), asyncio.Event()]
    followers = [
        asyncio.create_task(
            follow_topic(settings, settings.topics.alerts, tally.on_alert, caught_up=caught_up[0])
        ),
        asyncio.create_task(
            follow_topic(
                settings, settings.topics.deliveries, tally.on_delivery, caught_up=caught_up[1]
            )
        ),
    ]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            worker = Metrics(session, settings.web_host, run.worker_port)
            notifier = Metrics(session, settings.web_host, run.notifier_port)
            produce_began = time.monotonic()
            progress, update = produce_progress(console)
            with progress:
                summary = await produce(settings, articles, rate=rate, on_progress=update)
            timings["produce"] = time.monotonic() - produce_began
            console.print(summary.describe(settings.topics.articles, settings.topics.articles_dlq))
            drained = await _drain(worker, tally, summary, run, children, timeout_s, console)
            produced_end = produce_began + timings["produce"]
            if tally.first_delivered_at is not None:
                timings["first alert, after the first article"] = (
                    tally.first_delivered_at - produce_began
                )
            if tally.last_delivered_at is not None:
                timings["last alert, after the last article"] = max(
                    0.0, tally.last_delivered_at - produced_end
                )
            _summary(summary, await worker.read(), await notifier.read(), tally, run, timings)
            if not drained:
                return 1
            if keep_running:
                _explain_keep_running(run, console)
                while True:
                    _check_alive(children)
                    await asyncio.sleep(1)
            return 0
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)


async def _drain(
    worker: Metrics,
    tally: Tally,
    summary: ProduceSummary,
    run: DemoRun,
    children: Sequence[Child],
    timeout_s: float,
    console: Console,
) -> bool:
    """Wait until every article is consumed, aggregated, alerted and delivered; False on timeout.

    Drained means: the worker consumed every produced article and aggregated
    every detection, every alert it emitted was read back, and each has an
    outcome (delivered, failed, repeat...) at every receiver of the run.
    """
    deadline = time.monotonic() + timeout_s
    with console.status("waiting for the pipeline to drain…"):
        while time.monotonic() < deadline:
            _check_alive(children)
            m = await worker.read()
            if (
                m.get("wirewatch_articles_consumed_total", 0) >= summary.produced
                and m.get("wirewatch_processing_seconds_count:aggregate", 0)
                >= m.get("wirewatch_detections_total", 0)
                and tally.alert_records >= m.get("wirewatch_alerts_total", 0)
                and tally.settled(run.receivers)
            ):
                return True
            await asyncio.sleep(POLL_S)
    console.print(
        f"[red]the pipeline did not drain within {timeout_s:g} s[/red]: "
        f"{len(tally.printed)} of {len(tally.alerts)} alerts delivered so far"
    )
    return False


def _summary(
    summary: ProduceSummary,
    worker: Mapping[str, float],
    notifier: Mapping[str, float],
    tally: Tally,
    run: DemoRun,
    timings: Mapping[str, float],
) -> None:
    console = tally.console
    table = Table(title="Wirewatch demo", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    dead = (
        summary.dead_lettered
        + worker.get("wirewatch_dead_letters_total", 0)
        + notifier.get("wirewatch_notifier_dead_lettered_total", 0)
    )
    statuses = tally.statuses()
    table.add_row("articles", f"{summary.produced} produced, {summary.invalid} invalid")
    table.add_row("detections", f"{worker.get('wirewatch_detections_total', 0):g}")
    table.add_row("alerts", f"{len(tally.alerts)}")
    table.add_row(
        "deliveries",
        ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none",
    )
    table.add_row("dead letters", f"{dead:g}")
    for name, seconds in timings.items():
        table.add_row(name, f"{seconds:.1f} s")
    console.print(table)
    console.print(f"alerts file: {run.alerts_file}", soft_wrap=True)
    console.print(f"routes and process logs: {run.directory}", soft_wrap=True)


def _explain_keep_running(run: DemoRun, console: Console) -> None:
    settings = run.settings
    host = settings.web_host
    console.print(
        "\n[bold]The pipeline keeps running[/bold] (Ctrl-C stops it all). Produce more articles:\n"
        f"  WIREWATCH_KAFKA_BOOTSTRAP={settings.bootstrap_servers} "
        f"WIREWATCH_TOPIC_PREFIX={settings.topic_prefix} wirewatch produce PATH\n"
        f"Worker: http://{host}:{run.worker_port}/metrics and /readyz; "
        f"notifier: http://{host}:{run.notifier_port}/metrics and /healthz\n"
        f"Alerts are printed here and appended to {run.alerts_file}\n",
        soft_wrap=True,  # commands stay on one line, to copy and paste
    )


def _shut_down(
    run: DemoRun | None, children: Sequence[Child], broker: LocalBroker | None, console: Console
) -> None:
    """Stop the children, delete the run's topics, stop the broker if the demo started it."""
    killed = stop_children(children)
    if killed:
        console.print(f"[yellow]had to kill: {', '.join(killed)}[/yellow]")
    if run is not None:
        try:
            asyncio.run(delete_prefixed_topics(run.settings))
        except (WirewatchError, OSError, ValidationError) as exc:
            console.print(f"[yellow]could not delete the run's topics: {exc}[/yellow]")
    if broker is not None:
        broker.stop()
        console.print("stopped the local Kafka broker the demo started")
