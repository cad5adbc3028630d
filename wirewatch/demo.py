"""``wirewatch demo``: the whole monitor end to end on the seed articles.

The real thing, not a shortcut: the local broker (unless one is configured),
the pipeline's topics, the default rule packs published on the rules topic,
a worker, a notifier, a fetcher and the dashboard as child processes, the seed
articles published on a local news site (:mod:`wirewatch.demo_site`) whose
feeds the fetcher polls (or, with ``--from-files``, produced by the same code
as ``wirewatch produce``), and each alert printed once the notifier has
delivered it (read back from the delivery ledger).

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from ingest.sources import Accepted, read_articles
from schemas import Alert, Delivery, Settings, WirewatchError
from schemas.kafka import delete_prefixed_topics, ensure_topics
from streams.app import worker_topics
from streams.follower import follow_topic
from streams.rule_admin import publish_packs
from streams.rules import SizeLimits, load_gazetteer, load_packs
from wirewatch.alert_console import alert_panel
from wirewatch.broker import LocalBroker
from wirewatch.children import Child, start_child, stop_children
from wirewatch.demo_site import DemoSite
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
    fetcher_port: int
    dashboard_port: int
    receivers: Mapping[str, Sequence[str]]
    """Receiver name -> apprise URLs (secret: never printed)."""

    @property
    def alerts_file(self) -> Path:
        """The file receiver's JSON Lines file."""
        return self.directory / "alerts.jsonl"

    @property
    def sources_file(self) -> Path:
        """The fetcher's sources: the feeds of the run's news site."""
        return self.directory / "sources.yaml"

    def fetcher_env(self, site: DemoSite) -> dict[str, str]:
        """The fetcher's environment: the site's feeds, its loopback address allowed, no pause."""
        return {
            **self.child_env(),
            "WIREWATCH_SOURCES_PATH": str(self.sources_file),
            "WIREWATCH_FETCH_ALLOW_NETWORKS": json.dumps([f"{site.host}/32"]),
            "WIREWATCH_FETCH_HOST_DELAY_S": "0",
            "WIREWATCH_FETCH_HOST_CONCURRENCY": "8",
            "WIREWATCH_FETCH_EXTRACT_WORKERS": "0",
        }

    @property
    def routes_file(self) -> Path:
        """The run's route tree: every alert to every receiver, ungrouped, at once."""
        return self.directory / "routes.yaml"

    def ports(self) -> dict[str, int]:
        """The web port of each child process."""
        return {
            "worker": self.worker_port,
            "notifier": self.notifier_port,
            "fetcher": self.fetcher_port,
            "dashboard": self.dashboard_port,
        }

    def child_env(self) -> dict[str, str]:
        """The environment of the worker and notifier: the user's, pointed at this run."""
        return {
            "WIREWATCH_KAFKA_BOOTSTRAP": self.settings.bootstrap_servers,
            "WIREWATCH_TOPIC_PREFIX": self.settings.topic_prefix,
            "WIREWATCH_ROUTES_PATH": str(self.routes_file),
            "WIREWATCH_RECEIVERS": json.dumps(self.receivers),
            "WIREWATCH_WORKER_WEB_PORT": str(self.worker_port),
            "WIREWATCH_NOTIFIER_WEB_PORT": str(self.notifier_port),
            "WIREWATCH_FETCH_WEB_PORT": str(self.fetcher_port),
            "WIREWATCH_DASHBOARD_PORT": str(self.dashboard_port),
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
        fetcher_port=_port(settings.web_host, settings.fetch_web_port),
        dashboard_port=_port(settings.web_host, settings.dashboard_port),
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
        """Return the HTTP status of ``path`` (0 when nothing answers in time)."""
        try:
            async with self._session.get(self._base + path) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError):  # a process still starting may be slow
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
    from_files: bool = False,
) -> int:
    """Run the demo; return the exit status (0 done, 1 failed, 130 interrupted).

    The articles go through a local news site and the fetcher, or with
    ``from_files`` straight from the files as ``wirewatch produce`` sends them.

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
    site: DemoSite | None = None
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
            if not from_files:
                site = open_site(run, articles, rate)
                console.print(
                    f"news site with the seed articles: {site.url('/')} "
                    f"({len(site.publishers)} feeds, polled by the fetcher)"
                )
            started = time.monotonic()
            env, directory = run.child_env(), run.directory
            children = [
                start_child("worker", ["worker"], env=env, log_dir=directory),
                start_child("notifier", ["notifier"], env=env, log_dir=directory),
                start_child("dashboard", ["dashboard"], env=env, log_dir=directory),
            ]
            if site is not None:
                fetcher = start_child(
                    "fetcher", ["fetcher"], env=run.fetcher_env(site), log_dir=directory
                )
                children.append(fetcher)
            asyncio.run(_await_ready(run, children, console))
            timings["processes ready"] = time.monotonic() - started
            return asyncio.run(
                _stream(
                    run, children, articles, site, rate, keep_running, timeout_s, console, timings
                )
            )
        except KeyboardInterrupt:
            console.print("\n[yellow]interrupted: stopping the processes…[/yellow]")
            return 130
        finally:
            if site is not None:
                site.stop()
            _shut_down(run, children, broker, console)
            console.print(f"demo took {time.monotonic() - began:.1f} s")


async def _set_up(run: DemoRun, console: Console) -> float:
    """Create the run's topics and publish the default rule packs; return seconds taken."""
    began = time.monotonic()
    settings = run.settings
    await ensure_topics(settings, worker_topics(settings))
    packs = load_packs(settings.rules_path, limits=SizeLimits.from_settings(settings))
    actor, host = cli_actor()
    done = await publish_packs(
        settings,
        packs,
        owner=actor,
        actor=actor,
        via="cli",
        origin=host,
        gazetteer=load_gazetteer(settings.gazetteer_path),
    )
    rules = sum(len(record.rules) for record in done.written)
    console.print(
        f"topics ready (prefix [bold]{settings.topic_prefix}[/bold]); published "
        f"{rules} rules in {len(done.written)} packs of {actor}"
    )
    return time.monotonic() - began


def open_site(run: DemoRun, articles: Sequence[Path], rate: float | None) -> DemoSite:
    """Serve the seed articles on a local news site and write the fetcher's sources file.

    Raises:
        WirewatchError: a seed file holds an invalid record (``--from-files`` dead-letters it).
    """
    found = []
    for item in read_articles(articles, run.settings):
        if not isinstance(item, Accepted):
            raise WirewatchError(f"{item.error}; the demo's site serves valid articles only")
        found.append(item.article)
    site = DemoSite(found, rate=rate, host=run.settings.web_host)
    site.start()
    run.sources_file.write_text(json.dumps(site.sources(), indent=2))
    return site


_READY_PAGES = {
    "worker": "/readyz",
    "notifier": "/healthz",
    "fetcher": "/readyz",
    "dashboard": "/readyz",
}


async def _await_ready(run: DemoRun, children: Sequence[Child], console: Console) -> None:
    """Wait until every child says it is ready; fail fast if one exits."""
    host = run.settings.web_host
    ports = run.ports()
    with console.status(f"starting {', '.join(child.name for child in children)}…"):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            pages = [Metrics(session, host, ports[child.name]) for child in children]
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                _check_alive(children)
                answers = [
                    await page.get(_READY_PAGES[c.name])
                    for page, c in zip(pages, children, strict=True)
                ]
                if all(status == 200 for status in answers):
                    break
                await asyncio.sleep(POLL_S)
            else:
                raise DemoError(
                    f"the processes were not ready within {READY_TIMEOUT_S:g} s; "
                    f"see their logs in {run.directory}"
                )
    for child in children:
        console.print(
            f"{child.name} ready: http://{host}:{ports[child.name]}{_METRICS_OR_PAGE[child.name]}"
        )


_METRICS_OR_PAGE = {
    "worker": "/metrics",
    "notifier": "/metrics",
    "fetcher": "/metrics",
    "dashboard": "/",
}


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
    site: DemoSite | None,
    rate: float | None,
    keep_running: bool,
    timeout_s: float,
    console: Console,
    timings: dict[str, float],
) -> int:
    """Produce the articles (or publish them for the fetcher), print alerts as they are delivered, wait for the pipeline to drain."""
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
                if site is None:
                    summary = await produce(settings, articles, rate=rate, on_progress=update)
                else:
                    fetcher = Metrics(session, settings.web_host, run.fetcher_port)
                    summary = await _fetched(site, fetcher, children, timeout_s, update)
            timings["produce" if site is None else "publish and fetch"] = (
                time.monotonic() - produce_began
            )
            console.print(summary.describe(settings.topics.articles, settings.topics.articles_dlq))
            drained = await _drain(worker, tally, summary, run, children, timeout_s, console)
            produced_end = produce_began + max(
                timings.get("produce", 0.0), timings.get("publish and fetch", 0.0)
            )
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


async def _fetched(
    site: DemoSite,
    fetcher: Metrics,
    children: Sequence[Child],
    timeout_s: float,
    update: Callable[[ProduceSummary], None],
) -> ProduceSummary:
    """Publish the site's articles and wait until the fetcher has produced every one."""
    site.publish()
    wanted = len(site.articles)
    summary = ProduceSummary()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(children)
        m = await fetcher.read()
        summary.produced = int(m.get("wirewatch_fetch_articles_total", 0))
        summary.invalid = summary.dead_lettered = int(
            m.get("wirewatch_fetch_dead_letters_total", 0)
        )
        update(summary)
        if summary.produced + summary.invalid >= wanted:
            return summary
        await asyncio.sleep(POLL_S)
    raise DemoError(
        f"the fetcher produced {summary.produced} of {wanted} articles within {timeout_s:g} s; "
        "see fetcher.log in the run's directory"
    )


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
        f"Dashboard: http://{host}:{run.dashboard_port}/\n"
        f"Worker: http://{host}:{run.worker_port}/metrics and /readyz; "
        f"notifier: http://{host}:{run.notifier_port}/metrics and /healthz; "
        f"fetcher (if running): http://{host}:{run.fetcher_port}/metrics, sources in {run.sources_file}\n"
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
