"""Sign-in, sessions, CSRF and roles on the dashboard's routes (aiohttp's test client, no Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from pydantic import SecretStr
from structlog.testing import capture_logs

from alerts.silences import new_silence, parse_matcher
from schemas import Settings
from schemas.audit import AuditEvent
from schemas.kafka import encode
from schemas.silences import Silence
from schemas.users import Role, User
from wirewatch.dashboard.admin_api import install_admin
from wirewatch.dashboard.auth import Gate
from wirewatch.dashboard.hub import Hub
from wirewatch.dashboard.state import DashboardState
from wirewatch.dashboard.web import create_app
from wirewatch.identity.accounts import changed_user
from wirewatch.identity.directory import UserDirectory
from wirewatch.identity.passwords import Passwords
from wirewatch.identity.throttle import SignInThrottle

PASSWORD = "quince-harbour-7731"
SILENCE = {"matchers": [{"name": "tag", "value": "x"}], "duration": "1h", "comment": "known"}
CHEAP = PasswordHasher.from_parameters(CHEAPEST)


class Desk:
    """A dashboard with three accounts, a client, and what it wrote."""

    def __init__(self, client: TestClient, gate: Gate, state: DashboardState) -> None:
        self.client = client
        self.gate = gate
        self.state = state
        self.written: list[tuple[Silence, AuditEvent]] = []

    def csrf(self) -> dict[str, str]:
        """The header the page sends: the session's token from its readable cookie."""
        jar = self.client.session.cookie_jar.filter_cookies(self.client.make_url("/"))
        return {"X-CSRF-Token": jar["wirewatch_csrf"].value} if "wirewatch_csrf" in jar else {}

    async def post(self, path: str, body: Any, **headers: str) -> ClientResponse:
        """POST JSON with the session's CSRF token."""
        return await self.client.post(path, json=body, headers={**self.csrf(), **headers})

    async def sign_in(self, user: str, password: str = PASSWORD) -> ClientResponse:
        """Open the sign-in page (which sets the session), then post the form."""
        await self.client.get("/signin")
        return await self.post("/api/signin", {"user": user, "password": password})

    def put(self, user: User) -> None:
        """Change an account, as a record arriving on the users topic does."""
        self.gate.users.on_record(user.id.encode(), encode(user))


def account(user_id: str, role: Role, passwords: Passwords) -> User:
    """An enabled account with the shared test password."""
    return User(id=user_id, role=role, password_hash=passwords.hash(PASSWORD))


@asynccontextmanager
async def desk(settings: Settings, *, accounts: bool = True) -> AsyncIterator[Desk]:
    """Serve the dashboard with a viewer, an analyst and an admin (unless ``accounts`` is False)."""
    passwords = Passwords(CHEAP)
    users = UserDirectory()
    if accounts:
        for name, role in (("vera", Role.VIEWER), ("ana", Role.ANALYST), ("ada", Role.ADMIN)):
            users.put(account(name, role, passwords))
    gate = Gate(settings, users, passwords=passwords, throttle=SignInThrottle())
    gate.users_read = True
    hub = Hub()
    state = DashboardState(settings, on_new_alert=hub.publish_story)
    found: list[Desk] = []

    async def write(silence: Silence, event: AuditEvent) -> None:
        found[0].written.append((silence, event))

    app = create_app(settings, state, hub, gate=gate, write_silence=write, heartbeat_s=0.1)
    install_admin(app, settings, gate)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        found.append(Desk(client, gate, state))
        yield found[0]


@pytest.fixture
def settings(unit_settings: Settings) -> Settings:
    """Settings with a fixed session key."""
    return unit_settings.model_copy(update={"dashboard_secret_key": SecretStr("s" * 40)})


async def test_everything_but_the_sign_in_page_needs_a_session(settings: Settings) -> None:
    """With accounts, the page redirects to /signin and the API answers 401; probes stay open."""
    async with desk(settings) as d:
        page = await d.client.get("/", allow_redirects=False)
        assert page.status == 303
        assert page.headers["Location"] == "/signin"
        for path in ("/api/status", "/api/alerts", "/api/audit", "/api/stream"):
            assert (await d.client.get(path)).status == 401, path
        assert (await d.client.get("/healthz")).status == 200
        assert (await d.client.get("/signin")).status == 200
        assert (await d.client.get("/static/js/signin.js")).status == 200
        assert (await (await d.client.get("/api/session")).json())["user"] is None


async def test_sign_in_sets_a_protected_cookie(settings: Settings) -> None:
    """A right password gives a session cookie that is HttpOnly and SameSite (not Secure over http)."""
    async with desk(settings) as d:
        before = d.csrf()
        response = await d.sign_in("Ana")
        assert response.status == 200, await response.text()
        assert await response.json() == {"user": "ana", "role": "analyst"}
        cookies = response.headers.getall("Set-Cookie")
        session = next(c for c in cookies if c.startswith("wirewatch_session="))
        assert "HttpOnly" in session
        assert "SameSite=Lax" in session
        assert "Secure" not in session
        assert "HttpOnly" not in next(c for c in cookies if c.startswith("wirewatch_csrf="))
        assert d.csrf() != before  # a new session on sign-in: no fixation
        me = await (await d.client.get("/api/session")).json()
        assert (me["user"], me["role"], me["via"]) == ("ana", "analyst", "password")
        assert (await d.client.get("/api/status")).status == 200


async def test_cookie_is_secure_behind_an_https_proxy(settings: Settings) -> None:
    """Served through a trusted TLS proxy (X-Forwarded-Proto: https), the cookies are Secure."""
    tls = settings.model_copy(update={"dashboard_proxy_addresses": ["127.0.0.1/32"]})
    async with desk(tls) as d:
        response = await d.client.get("/signin", headers={"X-Forwarded-Proto": "https"})
        assert all("Secure" in c for c in response.headers.getall("Set-Cookie"))


async def test_wrong_password_is_refused_and_never_shown(settings: Settings) -> None:
    """A wrong password or an unknown name is one generic 401; the password is in no log line."""
    async with desk(settings) as d:
        with capture_logs() as logs:
            wrong = await d.sign_in("ana", "not-the-password-123")
            unknown = await d.sign_in("nobody", PASSWORD)
        assert wrong.status == unknown.status == 401
        assert (
            (await wrong.json())
            == (await unknown.json())
            == {"error": "wrong user name or password"}
        )
        assert "not-the-password-123" not in repr(logs)
        assert PASSWORD not in repr(logs)
        assert [entry["event"] for entry in logs] == ["signin_failed", "signin_failed"]
        assert (await d.client.get("/api/status")).status == 401


async def test_sign_in_attempts_are_rate_limited(settings: Settings) -> None:
    """After five wrong passwords the account is paused (429, Retry-After), even for the right one."""
    async with desk(settings) as d:
        for _ in range(5):
            assert (await d.sign_in("ana", "guess-guess-guess")).status == 401
        paused = await d.sign_in("ana")
        assert paused.status == 429
        assert int(paused.headers["Retry-After"]) > 0
        assert "too many sign-in attempts" in (await paused.json())["error"]
        assert (await d.sign_in("ada")).status == 200


async def test_sign_in_needs_the_csrf_token_too(settings: Settings) -> None:
    """Even the sign-in form is refused without its session's CSRF token (login CSRF)."""
    async with desk(settings) as d:
        await d.client.get("/signin")
        response = await d.client.post("/api/signin", json={"user": "ana", "password": PASSWORD})
        assert response.status == 403


async def test_viewer_cannot_write(settings: Settings) -> None:
    """A viewer reads the panels, but a silence posted in their name (even with the token) is refused."""
    async with desk(settings) as d:
        await d.sign_in("vera")
        assert (await d.client.get("/api/status")).status == 200
        me = await (await d.client.get("/api/session")).json()
        assert me["may"] == {
            "add_silence": False,
            "expire_any_silence": False,
            "write_watches": False,
            "admin": False,
        }
        refused = await d.post("/api/silences", SILENCE)
        assert refused.status == 403
        assert "viewer cannot add silences" in (await refused.json())["error"]
        assert d.written == []
        assert (
            await d.post("/api/playground", {"title": "x"})
        ).status == 503  # no rules: read-only


async def test_analyst_adds_and_expires_own_silences_only(settings: Settings) -> None:
    """An analyst's silence is authored by them and audited; someone else's they cannot expire."""
    async with desk(settings) as d:
        await d.sign_in("ana")
        created = await d.post("/api/silences", SILENCE)
        assert created.status == 201
        silence, event = d.written[0]
        assert silence.created_by == "ana"
        assert (event.actor, event.via, event.action) == ("ana", "dashboard", "silence.added")
        assert event.origin == "127.0.0.1"
        theirs = new_silence([parse_matcher("tag=y")], timedelta(hours=1), "why", "bob")
        d.state.on_silence(theirs.id.encode(), encode(theirs))
        refused = await d.post(f"/api/silences/{theirs.id}/expire", {})
        assert refused.status == 403
        assert "by bob" in (await refused.json())["error"]
        assert (await d.post(f"/api/silences/{silence.id}/expire", {})).status == 200


async def test_admin_expires_anyones_silence(settings: Settings) -> None:
    """An admin may end a silence an analyst made."""
    async with desk(settings) as d:
        theirs = new_silence([parse_matcher("tag=y")], timedelta(hours=1), "why", "ana")
        d.state.on_silence(theirs.id.encode(), encode(theirs))
        await d.sign_in("ada")
        assert (await d.post(f"/api/silences/{theirs.id}/expire", {})).status == 200
        assert d.written[0][1].actor == "ada"


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"role": Role.VIEWER}, {"password_hash": "$argon2id$other"}],
)
async def test_account_change_ends_its_sessions(settings: Settings, change: dict[str, Any]) -> None:
    """Disabling an account, or changing its role or password, ends its session at once."""
    async with desk(settings) as d:
        await d.sign_in("ana")
        assert (await d.client.get("/api/status")).status == 200
        user = d.gate.users.get("ana")
        assert user is not None
        d.put(changed_user(user, "root", **change))
        assert (await d.client.get("/api/status")).status == 401
        assert (await d.post("/api/silences", SILENCE)).status in (401, 403)


async def test_event_stream_stops_for_a_disabled_account(settings: Settings) -> None:
    """An open event stream ends when its account is disabled."""
    async with desk(settings) as d:
        await d.sign_in("ana")
        stream = await d.client.get("/api/stream")
        assert stream.status == 200
        user = d.gate.users.get("ana")
        assert user is not None
        d.put(changed_user(user, "root", disabled=True))

        async def drain() -> None:
            while await stream.content.readany():
                pass

        await asyncio.wait_for(drain(), 5)


async def test_sign_out_ends_the_session(settings: Settings) -> None:
    """After signing out, the old cookie no longer works here."""
    async with desk(settings) as d:
        await d.sign_in("ana")
        old = d.client.session.cookie_jar.filter_cookies(d.client.make_url("/"))[
            "wirewatch_session"
        ]
        assert (await d.post("/api/signout", {})).status == 200
        assert (await d.client.get("/api/status")).status == 401
        replay = await d.client.get("/api/status", cookies={"wirewatch_session": old.value})
        assert replay.status == 401


async def test_sessions_cross_instances_with_the_same_key(settings: Settings) -> None:
    """A session made on one instance works on another that has the same key and accounts."""
    async with desk(settings) as first, desk(settings) as second:
        await first.sign_in("ana")
        cookie = first.client.session.cookie_jar.filter_cookies(first.client.make_url("/"))
        response = await second.client.get(
            "/api/status", cookies={"wirewatch_session": cookie["wirewatch_session"].value}
        )
        assert response.status == 200


@pytest.mark.parametrize(
    ("addresses", "header", "role", "expected"),
    [
        (["127.0.0.1/32"], "ana", "viewer", ("ana", "analyst")),  # an account gives its role
        (["127.0.0.1/32"], "newcomer@example.org", "viewer", ("newcomer@example.org", "viewer")),
        (["127.0.0.1/32"], "newcomer@example.org", "none", None),
        (["10.0.0.0/8"], "ada", "viewer", None),  # not from the proxy: the header is ignored
    ],
)
async def test_single_sign_on_through_a_trusted_proxy(
    settings: Settings,
    addresses: list[str],
    header: str,
    role: str,
    expected: tuple[str, str] | None,
) -> None:
    """The proxy's user header counts only from its addresses; the role is the account's or the default."""
    sso = settings.model_copy(
        update={
            "dashboard_proxy_header": "X-Forwarded-User",
            "dashboard_proxy_addresses": addresses,
            "dashboard_proxy_role": role,
        }
    )
    async with desk(sso) as d:
        headers = {"X-Forwarded-User": header}
        me = await (await d.client.get("/api/session", headers=headers)).json()
        status = (await d.client.get("/api/status", headers=headers)).status
        if expected is None:
            assert me["user"] is None
            assert status == 401
        else:
            assert (me["user"], me["role"], me["via"]) == (*expected, "proxy")
            assert status == 200
            # The proxy session also carries a CSRF token, checked on writes.
            assert (
                await d.client.post("/api/silences", json=SILENCE, headers=headers)
            ).status == 403


async def test_disabled_account_is_refused_through_the_proxy(settings: Settings) -> None:
    """Single sign-on does not let a disabled account in."""
    sso = settings.model_copy(
        update={
            "dashboard_proxy_header": "X-Forwarded-User",
            "dashboard_proxy_addresses": ["127.0.0.1/32"],
        }
    )
    async with desk(sso) as d:
        user = d.gate.users.get("ana")
        assert user is not None
        d.put(changed_user(user, "root", disabled=True))
        response = await d.client.get("/api/status", headers={"X-Forwarded-User": "ana"})
        assert response.status == 401


async def test_no_account_means_local_admin_on_loopback_only(settings: Settings) -> None:
    """Without accounts, loopback visitors are the local admin; on a wider bind, nobody is."""
    async with desk(settings, accounts=False) as d:
        me = await (await d.client.get("/api/session")).json()
        assert (me["mode"], me["user"], me["role"]) == ("open", "local", "admin")
        assert (await d.post("/api/silences", SILENCE)).status == 201
        assert d.written[0][0].created_by == "local"
    wide = settings.model_copy(update={"web_host": "0.0.0.0"})
    async with desk(wide, accounts=False) as d:
        me = await (await d.client.get("/api/session", headers={"Host": "127.0.0.1"})).json()
        assert (me["mode"], me["user"]) == ("accounts", None)


async def test_nothing_is_served_before_the_accounts_are_read(settings: Settings) -> None:
    """Until the users topic is read, nobody is let in (not even as the local admin)."""
    async with desk(settings, accounts=False) as d:
        d.gate.users_read = False
        response = await d.client.get("/api/status")
        assert response.status == 503
        assert "reading its accounts" in (await response.json())["error"]
