"""The Admin panel in headless Chromium: accounts, another analyst's watch, the route tree.

One dashboard process on topics of its own, accounts made with `wirewatch
users add`, and bob's watch pack published with `wirewatch rules publish`.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from schemas import Settings
from streams.rule_admin import read_packs
from tests.integration.alerts.conftest import write_routes
from tests.integration.dashboard.conftest import DESK, SCREENSHOTS, Console, PageErrors
from tests.integration.identity.conftest import PASSWORD, cli, raw_values
from tests.integration.pipeline.conftest import Pipeline, keyword_rule, pack_text
from tests.support.processes import Child, wirewatch_argv
from tests.support.servers import free_port

SECONDS = 1_000
SLOW = 20 * SECONDS
"""For what waits on Kafka (a read of a topic, a write): a busy machine takes more than 5 s."""
NEW_PASSWORD = "lantern-fjord-2046"
"""The password the admin gives the account they add (searched for afterwards)."""
BAD_ROUTES = """receivers:
  file: {template: text}
route:
  receiver: file
  group_wait: soon
"""
GOOD_ROUTES = """receivers:
  file: {template: text}
route:
  receiver: file
  group_by: ['...']
  group_wait: 5s
"""


@dataclass
class Desk:
    """The dashboard process, its settings and where screenshots go."""

    dashboard: Child
    settings: Settings
    shots: Path

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://127.0.0.1:{self.dashboard.port}/"

    def screenshot(self, page: Page, name: str) -> None:
        """Save a screenshot of the Admin panel, listed at the end of the run."""
        path = self.shots / f"{name}.png"
        page.locator("#admin").screenshot(path=str(path))
        SCREENSHOTS.append(path)

    def run(self, job: Any) -> Any:
        """Run a coroutine in a thread (Playwright holds this thread's event loop)."""
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, job).result()


@pytest.fixture(scope="module")
def desk(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """An admin (ada), analysts ana and bob, bob's watch pack, and a dashboard."""
    tmp = tmp_path_factory.mktemp("admin")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}.",
        partitions=1,
    )
    for name, role in (("ada", "admin"), ("ana", "analyst"), ("bob", "analyst")):
        made = cli(settings, "users", "add", name, "--role", role, stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
    watch = {
        **keyword_rule("bob.quarry", "quarry AND collapse*"),
        "title": "Quarry collapses",
        "tags": ["watch:bob"],
    }
    (tmp / "bob").mkdir()
    (tmp / "bob" / "watches.yaml").write_text(pack_text(watch))
    made = cli(settings, "rules", "publish", str(tmp / "bob" / "watches.yaml"), "--owner", "bob")
    assert made.returncode == 0, made.stderr
    pipeline = Pipeline(settings, tmp)
    pipeline.write_pack(pack_text(keyword_rule("admin-drones", "drone*")))
    routes = write_routes(
        tmp / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_wait": "0s"},
    )
    port = free_port()
    env = pipeline.env(
        WIREWATCH_DASHBOARD_PORT=str(port),
        WIREWATCH_DASHBOARD_SECRET_KEY="z" * 43,
        WIREWATCH_ROUTES_PATH=str(routes),
        WIREWATCH_RECEIVERS=json.dumps({"file": [f"jsonl://{tmp}/file.jsonl"]}),
    )
    dashboard = Child("dashboard", env, tmp / "dashboard.log", port, wirewatch_argv("dashboard"))
    pipeline.workers.append(dashboard.start())
    try:
        dashboard.wait_ready()
        yield Desk(dashboard, settings, tmp_path_factory.mktemp("admin-screenshots"))
    finally:
        pipeline.close()


def sign_in(page: Page, desk: Desk, user: str, password: str = PASSWORD) -> None:
    """Sign in and wait for the live page."""
    page.goto(desk.url)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)


def test_an_admin_adds_a_user_who_can_then_sign_in(
    browser: Browser, context: BrowserContext, console: Console, desk: Desk
) -> None:
    """The Users panel adds an account with a password typed twice; its owner signs in with it."""
    page = console.watch(context.new_page())
    sign_in(page, desk, "ada")
    admin = page.locator("#admin")
    expect(admin).to_be_visible()
    expect(admin.locator("#users-table tbody tr")).to_have_count(3, timeout=SLOW)
    form = admin.locator("#user-form")
    form.get_by_label("Name").fill("cara")
    form.get_by_label("Role").select_option("analyst")
    form.get_by_label("Initial password").fill(NEW_PASSWORD)
    form.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add account").click()
    expect(admin.locator("#users-message")).to_have_text("Added cara (analyst).", timeout=SLOW)
    expect(form.get_by_label("Initial password")).to_have_value("")
    row = admin.locator("#users-table tr[data-user=cara]")
    expect(row).to_contain_text("enabled", timeout=SLOW)
    expect(row.locator(".actions")).to_contain_text("Reset password")
    desk.screenshot(page, "admin-users")

    newcomer = browser.new_context(viewport=DESK)
    try:
        cara = console.watch(newcomer.new_page())
        sign_in(cara, desk, "cara", NEW_PASSWORD)
        expect(cara.locator("#session")).to_contain_text("Signed in as cara")
        expect(cara.locator("#session .badge.role")).to_have_text("analyst")
        expect(cara.locator("#admin")).to_be_hidden()
    finally:
        newcomer.close()

    audit = page.locator("#audit-table tbody tr", has_text="user:cara")
    expect(audit).to_have_count(1, timeout=10 * SECONDS)
    expect(audit.locator(".actor")).to_contain_text("ada")
    expect(audit.locator(".actor")).to_contain_text("dashboard")
    assert_no_secret(desk, page)


def assert_no_secret(desk: Desk, page: Page) -> None:
    """No password (nor hash) is in the dashboard's log, its admin pages, or the topics."""
    pages = [page.content()]
    for path in ("api/admin/users", "api/audit", "api/session", "api/admin/routes"):
        pages.append(page.evaluate(f"async () => (await fetch('/{path}')).text()"))
    log = desk.dashboard.log_path.read_text()
    assert "user_added" in log
    topics = [
        desk.run(raw_values(desk.settings, topic)).decode("utf-8", "replace")
        for topic in (desk.settings.topics.users, desk.settings.topics.audit)
    ]
    for text in (*pages, log, *topics):
        for secret in (NEW_PASSWORD, PASSWORD):
            assert secret not in text
    for text in (*pages, log):
        assert "$argon2" not in text


ADMIN_CALLS = [
    ("GET", "api/admin/users", None),
    ("GET", "api/admin/packs", None),
    ("GET", "api/admin/routes", None),
    ("GET", "api/watches?owner=bob", None),
    ("POST", "api/admin/users", {"name": "mallory", "role": "admin", "sso": True}),
    ("POST", "api/admin/users/ana/role", {"role": "admin"}),
    ("POST", "api/admin/users/bob/disable", {}),
    ("POST", "api/admin/users/bob/enable", {}),
    ("POST", "api/admin/users/bob/password", {"password": "x" * 12, "password_again": "x" * 12}),
    ("POST", "api/admin/packs/bob/watches/delete", {}),
    ("POST", "api/admin/routes", {"text": GOOD_ROUTES}),
    ("POST", "api/watches?owner=bob", {"name": "q", "title": "q", "category": "q", "query": "q"}),
    ("POST", "api/watches/quarry/delete?owner=bob", {}),
]


def plain_request(desk: Desk, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    """The status of one request made outside the browser (http.client)."""
    connection = http.client.HTTPConnection("127.0.0.1", desk.dashboard.port, timeout=10)
    try:
        connection.request(
            method,
            "/" + path,
            body=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **headers},
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_analyst_gets_403_from_every_admin_endpoint(context: BrowserContext, desk: Desk) -> None:
    """An analyst sees no Admin panel; every admin call is 403 from the page and from plain HTTP."""
    page = context.new_page()
    sign_in(page, desk, "ana")
    expect(page.locator("#admin")).to_be_hidden()
    expect(page.locator("#admin-link")).to_be_hidden()
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    session = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "X-CSRF-Token": cookies["wirewatch_csrf"],
    }
    for method, path, body in ADMIN_CALLS:
        answer = context.request.fetch(
            desk.url + path,
            method=method,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRF-Token": session["X-CSRF-Token"]},
        )
        assert answer.status == 403, (method, path, answer.text())
        assert plain_request(desk, method, path, body, session) == 403, (method, path)
        assert plain_request(desk, method, path, body, {}) in (401, 403), (method, path)
    packs = desk.run(read_packs(desk.settings))
    assert "bob/watches" in packs.records  # nothing was deleted


def test_an_admin_edits_another_analysts_watch(
    context: BrowserContext, console: Console, desk: Desk
) -> None:
    """Ada opens bob's watch, edits and saves it: bob keeps the pack, the audit names ada."""
    page = console.watch(context.new_page())
    sign_in(page, desk, "ada")
    row = page.locator("#packs-table tr[data-pack='bob/watches']")
    expect(row).to_contain_text("bob", timeout=SLOW)
    row.get_by_role("button", name="Open watches").click()
    panel = page.locator("#watches")
    expect(panel.locator("#watch-owner")).to_contain_text("Editing bob's watches")
    watch = panel.locator("#watch-list li", has_text="bob.quarry")
    watch.get_by_role("button", name="Edit").click()
    expect(panel.get_by_label("Title")).to_have_value("Quarry collapses")
    panel.get_by_label("Title").fill("Quarry collapses and mine floods")
    expect(panel.locator("#watch-check")).to_contain_text("Valid: bob.quarry", timeout=SLOW)
    panel.get_by_role("button", name="Save watch").click()
    expect(panel.locator("#watch-message")).to_contain_text(
        "Saved: bob's watches are published", timeout=15 * SECONDS
    )
    panel.locator("#watch-owner").screenshot(path=str(desk.shots / "admin-watch.png"))
    SCREENSHOTS.append(desk.shots / "admin-watch.png")

    record = desk.run(read_packs(desk.settings)).records["bob/watches"]
    assert (record.owner, record.published_by) == ("bob", "ada")
    [rule] = record.rules
    assert rule.title == "Quarry collapses and mine floods"
    assert rule.tags == ("watch:bob",)

    page.goto(f"{desk.url}#audit")
    audit = page.locator("#audit")
    audit.get_by_label("Record").fill("rules:bob/watches")
    event = audit.locator("#audit-table tbody tr", has_text="rules.published").filter(
        has_text="ada"
    )
    expect(event).to_have_count(1, timeout=10 * SECONDS)
    expect(event.locator(".actor")).to_contain_text("ada")
    event.locator("summary").click()
    changes = event.locator("dl.changes")
    expect(changes).to_contain_text("published_by")
    expect(changes).to_contain_text('"ada"')
    expect(changes).not_to_contain_text("owner")  # unchanged: still bob's
    answer = page.evaluate(
        "async () => (await fetch('/api/audit?target=rules:bob/watches')).json()"
    )
    mine = [e for e in answer["events"] if e["actor"] == "ada"]
    assert mine, answer
    assert mine[0]["after"]["owner"] == "bob"


def test_an_admin_publishes_a_route_tree_with_an_error_then_a_valid_one(
    context: BrowserContext, desk: Desk
) -> None:
    """A wrong tree is refused with its line and nothing is written; a right one is published."""
    errors = PageErrors(400)
    page = errors.watch(context.new_page())
    sign_in(page, desk, "ada")
    routes = page.locator("#admin-routes")
    expect(routes.locator("#routes-source")).to_contain_text("the routes file", timeout=SLOW)
    expect(routes.get_by_label("Route tree (YAML)")).to_have_value(
        (desk.dashboard.log_path.parent / "routes.yaml").read_text()
    )
    expect(routes.locator("#routes-receivers")).to_contain_text("file (1)", timeout=SLOW)
    expect(routes).not_to_contain_text("jsonl://")
    routes.get_by_label("Route tree (YAML)").fill(BAD_ROUTES)
    routes.get_by_role("button", name="Check and publish").click()
    expect(routes.locator("#routes-error")).to_contain_text(
        "line 5: route.group_wait: Value error, 'soon' is not a duration", timeout=SLOW
    )
    desk.screenshot(page, "admin-routes-error")
    routes.get_by_label("Route tree (YAML)").fill(GOOD_ROUTES.replace("file", "desk-slack", 1))
    routes.get_by_role("button", name="Check and publish").click()
    expect(routes.locator("#routes-error")).to_contain_text("not declared", timeout=SLOW)
    routes.get_by_label("Route tree (YAML)").fill(GOOD_ROUTES)
    routes.get_by_role("button", name="Check and publish").click()
    expect(routes.locator("#routes-message")).to_contain_text("Published routes", timeout=SLOW)
    expect(routes.locator("#routes-error")).to_be_hidden()
    expect(routes.locator("#routes-source")).to_contain_text(
        "from the routes topic, published by ada", timeout=SLOW
    )
    events = page.evaluate("async () => (await fetch('/api/audit?action=route')).json()")
    changed = [e for e in events["events"] if e["action"] == "route.changed"]
    assert len(changed) == 1, events  # the wrong trees wrote nothing
    assert changed[0]["actor"] == "ada"
    assert errors.unexpected() == []
