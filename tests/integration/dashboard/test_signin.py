"""Sign-in, roles and the audit page in headless Chromium, with accounts on the real broker."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from schemas import Settings
from tests.integration.dashboard.conftest import SCREENSHOTS, Console, PageErrors
from tests.integration.identity.conftest import PASSWORD, cli
from tests.integration.pipeline.conftest import Pipeline, keyword_rule, pack_text
from tests.support.processes import Child, wirewatch_argv
from tests.support.servers import free_port

SECONDS = 1_000


@dataclass
class Desk:
    """A dashboard process with a viewer (vera) and analysts (ana, dora), and its topics."""

    dashboard: Child
    shots: Path
    settings: Settings

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://127.0.0.1:{self.dashboard.port}/"

    def screenshot(self, page: Page, name: str) -> None:
        """Save a screenshot of the viewport, listed at the end of the run."""
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path))
        SCREENSHOTS.append(path)


@pytest.fixture(scope="module")
def desk(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Accounts made with `wirewatch users add`, then a dashboard on the same topics."""
    tmp = tmp_path_factory.mktemp("signin")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}.",
        partitions=1,
    )
    for name, role in (("vera", "viewer"), ("ana", "analyst"), ("dora", "analyst")):
        made = cli(settings, "users", "add", name, "--role", role, stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
    pipeline = Pipeline(settings, tmp)
    pipeline.write_pack(pack_text(keyword_rule("signin-drones", "drone*")))
    port = free_port()
    env = pipeline.env(WIREWATCH_DASHBOARD_PORT=str(port), WIREWATCH_DASHBOARD_SECRET_KEY="x" * 43)
    dashboard = Child("dashboard", env, tmp / "dashboard.log", port, wirewatch_argv("dashboard"))
    pipeline.workers.append(dashboard.start())
    try:
        dashboard.wait_ready()
        yield Desk(dashboard, tmp_path_factory.mktemp("signin-screenshots"), settings)
    finally:
        pipeline.close()


def sign_in(page: Page, desk: Desk, user: str, password: str = PASSWORD) -> None:
    """Open the dashboard (which sends the visitor to the sign-in page) and sign in."""
    page.goto(desk.url)
    expect(page).to_have_url(f"{desk.url}signin")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_and_a_wrong_password(context: BrowserContext, desk: Desk) -> None:
    """A wrong password is refused on the page; the right one opens the live dashboard."""
    errors = PageErrors(401)
    page = errors.watch(context.new_page())
    sign_in(page, desk, "ana", "wrong-" + PASSWORD)
    expect(page.locator("#signin-error")).to_have_text("wrong user name or password")
    expect(page.get_by_label("Password")).to_have_value("")
    desk.screenshot(page, "signin-wrong-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(desk.url)
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    expect(page.locator("#session")).to_contain_text("Signed in as ana")
    expect(page.locator("#session .badge.role")).to_have_text("analyst")
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["wirewatch_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["secure"] is False  # plain http on loopback; Secure over HTTPS
    assert cookies["wirewatch_csrf"]["httpOnly"] is False
    assert PASSWORD not in page.content()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{desk.url}signin")
    assert errors.unexpected() == []


def test_viewer_sees_no_silence_form_and_a_forged_post_is_refused(
    context: BrowserContext, desk: Desk
) -> None:
    """A viewer has no silence form; a POST forged with their own session and token gets 403."""
    errors = PageErrors(403)
    page = errors.watch(context.new_page())
    sign_in(page, desk, "vera")
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    expect(page.locator("#session .badge.role")).to_have_text("viewer")
    expect(page.locator("#silence-form")).to_be_hidden()
    expect(page.locator("#silences")).to_be_visible()
    forged = page.evaluate(
        """async () => {
            const token = document.cookie.split("; ").find((c) => c.startsWith("wirewatch_csrf="))
                .split("=")[1];
            const response = await fetch("/api/silences", {
                method: "POST",
                headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
                body: JSON.stringify({ matchers: [{ name: "tag", value: "x" }], duration: "1h",
                                       comment: "forged by a viewer" }),
            });
            return [response.status, (await response.json()).error];
        }"""
    )
    assert forged == [403, "a viewer cannot add silences; ask an analyst or admin"]
    desk.screenshot(page, "signin-viewer")
    assert errors.unexpected() == []


def test_analyst_adds_a_silence_and_the_audit_page_shows_it(
    context: BrowserContext, desk: Desk, console: Console
) -> None:
    """The analyst's silence carries their name, and the Audit panel lists it with its author."""
    page = console.watch(context.new_page())
    sign_in(page, desk, "ana")
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    why = f"drone story known, desk told {uuid.uuid4().hex[:6]}"
    form = page.locator("#silence-form")
    form.get_by_label("Label").select_option("rule_id")
    form.get_by_label("Value").fill("signin-drones")
    form.get_by_label("For").fill("1h")
    form.get_by_label("Why").fill(why)
    form.get_by_role("button", name="Create silence").click()
    expect(page.locator("#silence-message")).to_contain_text("created")
    mine = page.locator("#silence-list li.silence.active", has_text=why)
    expect(mine).to_contain_text("by ana")
    expect(mine.get_by_role("button", name="Expire now")).to_be_visible()

    audit = page.locator("#audit")
    row = audit.locator("#audit-table tbody tr", has_text="silence.added")
    expect(row).to_have_count(1, timeout=10 * SECONDS)
    expect(row.locator(".actor")).to_contain_text("ana")
    expect(row.locator(".actor")).to_contain_text("dashboard")
    expect(row).to_contain_text("127.0.0.1")
    audit.get_by_label("What").select_option("user")
    expect(audit.locator("#audit-table tbody tr", has_text="user.added")).to_have_count(3)
    expect(audit.locator("#audit-table tbody tr", has_text="silence.added")).to_have_count(0)
    audit.get_by_label("What").select_option("silence")
    row.locator("summary").click()
    expect(row.locator("dl.changes")).to_contain_text(why)
    audit.scroll_into_view_if_needed()
    desk.screenshot(page, "signin-audit")


def test_a_disabled_account_is_sent_back_to_sign_in(context: BrowserContext, desk: Desk) -> None:
    """Disabling an account with `wirewatch users disable` ends its open page's session."""
    errors = PageErrors(401)
    page = errors.watch(context.new_page())
    sign_in(page, desk, "dora")
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    disabled = cli(desk.settings, "users", "disable", "dora")
    assert disabled.returncode == 0, disabled.stderr
    expect(page).to_have_url(f"{desk.url}signin", timeout=40 * SECONDS)
    assert errors.unexpected() == []


def test_cross_site_post_is_refused(context: BrowserContext, desk: Desk, tmp_path: Path) -> None:
    """A form on another site, posting to the dashboard in a signed-in browser, creates nothing."""
    page = context.new_page()
    sign_in(page, desk, "ana")
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    (tmp_path / "index.html").write_text(
        f"""<!doctype html><title>Prize</title>
        <form id="f" method="POST" action="{desk.url}api/silences" enctype="text/plain">
        <input name='{{"matchers":[{{"name":"tag","value":"x"}}],"duration":"1h","comment":"cross-site","x":"' value='"}}'>
        </form><script>document.getElementById("f").submit()</script>"""
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        attack = context.new_page()
        with attack.expect_navigation(url=f"{desk.url}api/silences"):
            attack.goto(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
        expect(attack.locator("body")).to_contain_text("cross-origin writes are refused")
    finally:
        evil.shutdown()
        evil.server_close()
    status = page.evaluate("async () => (await (await fetch('/api/status')).json()).silences")
    assert all(s["comment"] != "cross-site" for s in status)


def test_passwords_appear_in_no_log_line_or_page(context: BrowserContext, desk: Desk) -> None:
    """After every sign-in above, the dashboard's log and pages hold no password."""
    page = context.new_page()
    sign_in(page, desk, "ana")
    expect(page.locator("#connection")).to_have_text("Live", timeout=15 * SECONDS)
    pages = [page.content()]
    for path in ("api/session", "api/status", "api/audit", "signin"):
        pages.append(page.evaluate(f"async () => (await fetch('/{path}')).text()"))
    log = desk.dashboard.log_path.read_text()
    assert "signed_in" in log
    assert "signin_failed" in log
    for text in (*pages, log):
        assert PASSWORD not in text
        assert "$argon2" not in text
