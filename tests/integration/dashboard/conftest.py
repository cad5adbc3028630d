"""A real monitor for the dashboard's browser tests: worker, notifier and dashboard processes.

They run once per module, on topics of their own, as ``python -m``-style
subprocesses of the CLI (:class:`tests.support.processes.Child` runs each one),
and are killed at the end. The browser is Debian's ``chromium`` driven by
Playwright (never ``playwright install``: there is no browser download here);
every page fails its test on a console error or an uncaught exception.
Screenshots go to a directory under pytest's temporary path, printed at the end.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from schemas import Settings
from tests.integration.alerts.conftest import notifier_settings, write_routes
from tests.integration.pipeline.conftest import Pipeline, keyword_rule, pack_text
from tests.support.processes import Child, settings_env, wirewatch_argv
from tests.support.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

RULES = [
    {**keyword_rule("dash-drones", "drone* NEAR/8 airspace"), "category": "airspace"},
    {
        **keyword_rule("dash-leak", "pipeline AND leak*"),
        "category": "energy",
        "severity": "medium",
    },
    {
        **keyword_rule("dash-quarry", "quarry AND collapse*"),
        "category": "mining",
        "severity": "low",
    },
]


@dataclass
class Monitor:
    """The running processes, the notifier's delivery file, and where screenshots go."""

    pipeline: Pipeline
    worker: Child
    notifier: Child
    dashboard: Child
    delivered: Path
    shots: Path

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://127.0.0.1:{self.dashboard.port}/"

    def produce(self, *records: dict[str, Any]) -> None:
        """Send articles to the articles topic.

        In a thread of its own: Playwright's sync API keeps an event loop
        running in this one, where asyncio.run() is refused.
        """
        with ThreadPoolExecutor(1) as pool:
            pool.submit(self.pipeline.produce, list(records)).result()

    def notifier_metric(self, name: str) -> float:
        """One sample of the notifier's /metrics (0 when absent)."""
        _, body = self.notifier.get("/metrics")
        match = re.search(rf"^{re.escape(name)} (\S+)$", body.decode(), re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def deliveries(self, rule_id: str) -> int:
        """Notifications the notifier wrote to its jsonl receiver for ``rule_id``."""
        if not self.delivered.exists():
            return 0
        lines = [json.loads(line) for line in self.delivered.read_text().splitlines() if line]
        return sum(
            1 for line in lines if any(k.startswith(f"{rule_id}@") for k in line["alert_keys"])
        )

    def screenshot(self, page: Page, name: str) -> Path:
        """Save a screenshot of the viewport as ``<name>.png`` and remember its path."""
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path))
        SCREENSHOTS.append(path)
        return path

    def logs(self) -> str:
        """The tails of every process's output, for a failure message."""
        return "\n".join(
            f"--- {w.name}\n{w.log()}" for w in (self.worker, self.notifier, self.dashboard)
        )


SCREENSHOTS: list[Path] = []
"""Every screenshot taken in this session, listed at the end of the run."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the screenshots the browser tests saved (pytest keeps its last temp dirs)."""
    if SCREENSHOTS:
        terminalreporter.section("dashboard screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="module")
def monitor(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitor]:
    """Worker, notifier (one jsonl receiver) and dashboard on this module's own topics."""
    tmp = tmp_path_factory.mktemp("dashboard")
    prefix = f"t{uuid.uuid4().hex[:12]}."
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=3
    )
    pipeline = Pipeline(settings, tmp)
    pipeline.write_pack(pack_text(*RULES))
    delivered = tmp / "delivered.jsonl"
    routes = write_routes(
        tmp / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_by": ["..."], "group_wait": "0s"},
    )
    notified = notifier_settings(
        settings, routes, {"file": [f"jsonl://{delivered}"]}, notifier_group=f"{prefix}notifier"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    notifier = Child(
        "notifier",
        {**environ, **settings_env(notified), "WIREWATCH_LOG_FORMAT": "json"},
        tmp / "notifier.log",
        notified.notifier_web_port,
        wirewatch_argv("notifier"),
        ready_path="/healthz",
    ).start()
    pipeline.workers.append(notifier)
    worker = pipeline.worker("worker")
    port = free_port()
    dashboard = Child(
        "dashboard",
        pipeline.env(WIREWATCH_DASHBOARD_PORT=str(port)),
        tmp / "dashboard.log",
        port,
        wirewatch_argv("dashboard"),
    ).start()
    pipeline.workers.append(dashboard)
    shots = tmp_path_factory.mktemp("screenshots")
    found = Monitor(pipeline, worker, notifier, dashboard, delivered, shots)
    try:
        worker.wait_ready()
        dashboard.wait_ready()
        notifier.wait_ready()
        yield found
    finally:
        pipeline.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless chromium, driven by Playwright."""
    assert CHROMIUM.exists(), "chromium is not installed (Debian package `chromium`)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at 1280x800."""
    made = browser.new_context(viewport=DESK)
    yield made
    made.close()


class Console:
    """Console errors and uncaught exceptions of the pages of one test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        """Record the errors of ``page``."""
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "assert")
                else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page


class PageErrors(Console):
    """Console errors, except the network errors a refused request is expected to log."""

    def __init__(self, *expected: int) -> None:
        super().__init__()
        self.expected = expected

    def unexpected(self) -> list[str]:
        """Errors that are not 'Failed to load resource' with an expected status."""
        return [
            e for e in self.errors if not any(f"status of {code}" in e for code in self.expected)
        ]


@pytest.fixture
def console() -> Iterator[Console]:
    """Fails the test if any page it opened logged an error."""
    watcher = Console()
    yield watcher
    assert watcher.errors == [], "the page logged errors"


def open_page(browser: Browser, monitor: Monitor, console: Console, **context: Any) -> Page:
    """A new page on the dashboard (1280x800 unless a viewport is given), once it is live."""
    page = console.watch(browser.new_context(**{"viewport": DESK, **context}).new_page())
    page.goto(monitor.url)
    expect(page.locator("#connection")).to_have_text("Live", timeout=15_000)
    return page


@pytest.fixture
def page(browser: Browser, monitor: Monitor, console: Console) -> Iterator[Page]:
    """The dashboard at 1280x800, live."""
    opened = open_page(browser, monitor, console)
    yield opened
    opened.context.close()
