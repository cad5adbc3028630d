"""Watches in headless Chromium: an analyst writes one, backtests it, saves it, and gets its alert.

A real monitor (worker, notifier, dashboard processes) on topics of its own,
accounts made with the CLI, a local SMTP server for the analyst's own email
receiver, and articles on the articles topic for the backtest.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect

from schemas import Settings
from schemas.kafka import ensure_topics, pipeline_topics
from tests.integration.alerts.conftest import write_routes
from tests.integration.dashboard.conftest import DESK, SCREENSHOTS, Console
from tests.integration.identity.conftest import PASSWORD, cli
from tests.integration.pipeline.conftest import Pipeline, article, keyword_rule, pack_text, wait_for
from tests.support.processes import Child, wirewatch_argv
from tests.support.servers import SmtpServer, free_port, serve_smtp

pytestmark = pytest.mark.slow  # three processes and two accounts to start: about 80 s

SECONDS = 1_000
BALTIC = "A drone crossed into Baltic airspace near the coast before it was shot down."


@dataclass
class Desk:
    """The processes, the SMTP server and where screenshots go."""

    pipeline: Pipeline
    worker: Child
    notifier: Child
    dashboard: Child
    smtp: SmtpServer
    shots: Path

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://127.0.0.1:{self.dashboard.port}/"

    def produce(self, *records: dict[str, str]) -> None:
        """Send articles to the articles topic."""
        produce(self.pipeline, *records)


def produce(pipeline: Pipeline, *records: dict[str, str]) -> None:
    """Send articles (in a thread: Playwright may hold this thread's event loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(pipeline.produce, list(records)).result()


@pytest.fixture(scope="module")
def desk(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Accounts, a week of articles, then a worker, a notifier and a dashboard."""
    tmp = tmp_path_factory.mktemp("watches")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}.",
        partitions=1,
    )
    for name, role in (("vera", "viewer"), ("ana", "analyst")):
        made = cli(settings, "users", "add", name, "--role", role, stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
    pipeline = Pipeline(settings, tmp)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, ensure_topics(settings, pipeline_topics(settings))).result()
    pipeline.write_pack(pack_text(keyword_rule("files-quarry", "quarry")))
    produce(
        pipeline,
        article("old-1", "Baltic drone shot down", BALTIC),
        article("old-2", "Second Baltic drone", BALTIC.replace("A drone", "Another drone")),
        article("old-3", "Harvest report", "Farmers brought in the wheat early this year."),
    )
    key = Fernet.generate_key().decode()
    routes = write_routes(
        tmp / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_by": ["..."], "group_wait": "0s"},
    )
    with serve_smtp() as smtp:
        common = {
            "WIREWATCH_RECEIVERS_KEY": key,
            "WIREWATCH_ROUTES_PATH": str(routes),
            "WIREWATCH_RECEIVERS": json.dumps({"file": [f"jsonl://{tmp}/file.jsonl"]}),
        }
        worker = pipeline.worker("worker")
        port = free_port()
        notifier = Child(
            "notifier",
            pipeline.env(
                **common,
                WIREWATCH_NOTIFIER_WEB_PORT=str(port),
                WIREWATCH_NOTIFIER_GROUP=f"{settings.topic_prefix}notifier",
            ),
            tmp / "notifier.log",
            port,
            wirewatch_argv("notifier"),
            ready_path="/healthz",
        ).start()
        pipeline.workers.append(notifier)
        port = free_port()
        dashboard = Child(
            "dashboard",
            pipeline.env(
                **common,
                WIREWATCH_DASHBOARD_PORT=str(port),
                WIREWATCH_DASHBOARD_SECRET_KEY="y" * 43,
                WIREWATCH_WATCH_EMAIL_URL=(
                    f"mailto://127.0.0.1:{smtp.port}?from=wirewatch@example.org&mode=insecure"
                ),
            ),
            tmp / "dashboard.log",
            port,
            wirewatch_argv("dashboard"),
        ).start()
        pipeline.workers.append(dashboard)
        try:
            for child in (worker, notifier, dashboard):
                child.wait_ready()
            yield Desk(
                pipeline, worker, notifier, dashboard, smtp, tmp_path_factory.mktemp("shots")
            )
        finally:
            pipeline.close()


def sign_in(page: Page, desk: Desk, user: str) -> None:
    """Sign in and wait for the live page."""
    page.goto(desk.url)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)


def shot(page: Page, desk: Desk, name: str) -> None:
    """Save a screenshot of the watches panel, listed at the end of the run."""
    path = desk.shots / f"{name}.png"
    page.locator("#watches").screenshot(path=str(path))
    SCREENSHOTS.append(path)


def test_an_analyst_writes_backtests_saves_and_receives_a_watch(
    browser: Browser, console: Console, desk: Desk
) -> None:
    """Located errors as she types, a backtest with evidence, a save that publishes, an email alert."""
    page = console.watch(browser.new_context(viewport=DESK).new_page())
    sign_in(page, desk, "ana")
    panel = page.locator("#watches")
    panel.get_by_label("Name").fill("baltic-drones")
    panel.get_by_label("Title").fill("Drones over the Baltic")
    panel.get_by_label("Query").fill("drone* NEAR/8 (airspace OR")
    problems = panel.locator("#watch-check .problems")
    expect(problems).to_contain_text("query", timeout=10 * SECONDS)
    expect(panel.locator("#watch-check pre.caret")).to_contain_text("^")
    panel.get_by_label("Query").fill('drone* NEAR/8 (airspace OR "shot down")')
    expect(panel.locator("#watch-check")).to_contain_text("Valid: ana.baltic-drones")

    panel.get_by_role("button", name="Backtest").click()
    summary = panel.locator("#watch-result .summary")
    expect(summary).to_contain_text("Would have fired 2 times on 3 articles", timeout=30 * SECONDS)
    expect(panel.locator("#watch-result mark").first).to_be_visible()
    shot(page, desk, "watch-backtest")

    panel.get_by_role("button", name="Save watch").click()
    expect(panel.locator("#watch-message")).to_contain_text("Saved", timeout=15 * SECONDS)
    expect(panel.locator("#watch-list")).to_contain_text("ana.baltic-drones")
    panel.get_by_label("Email address").fill("ana@example.org")
    panel.get_by_role("button", name="Set my receiver").click()
    expect(panel.locator("#receiver-state")).to_contain_text(
        "Your email receiver is set", timeout=15 * SECONDS
    )
    assert "ana@example.org" not in panel.inner_text()
    shot(page, desk, "watch-saved")

    assert wait_for(
        lambda: "ana/watches" in desk.worker.readiness().get("rules", {}).get("packs", {}), 60
    ), desk.worker.log()
    assert wait_for(
        lambda: "watch.ana" in desk.notifier.readiness().get("config", {}).get("receivers", []), 60
    ), desk.notifier.log()
    desk.produce(article("new-1", "Drone downed over the Baltic", BALTIC + " Officials confirmed."))
    assert wait_for(
        lambda: any("ana@example.org" in str(m["To"]) for m in desk.smtp.messages), 60
    ), desk.notifier.log()
    [mail] = [m for m in desk.smtp.messages if "ana@example.org" in str(m["To"])]
    assert "Drone downed over the Baltic" in mail.as_string()

    page.goto(f"{desk.url}#audit")
    audit = page.locator("#audit-table")
    expect(audit).to_contain_text("rules.published", timeout=15 * SECONDS)
    expect(audit).to_contain_text("rules:ana/watches")
    expect(audit).to_contain_text("receiver:watch.ana")
    assert "ana@example.org" not in audit.inner_text()
    page.context.close()


def test_a_viewer_cannot_write_watches(browser: Browser, console: Console, desk: Desk) -> None:
    """A viewer sees no watch form, and the server refuses a watch posted anyway."""
    page = console.watch(browser.new_context(viewport=DESK).new_page())
    sign_in(page, desk, "vera")
    expect(page.locator("#watch-denied")).to_be_visible()
    expect(page.locator("#watch-form")).to_be_hidden()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    response = page.context.request.post(
        f"{desk.url}api/watches",
        data=json.dumps({"name": "x", "title": "x", "category": "x", "query": "x"}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": cookies["wirewatch_csrf"]},
    )
    assert response.status == 403
    page.context.close()
