"""The admin endpoints' checks made before any Kafka write: roles, passwords, one's own account."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from schemas import Settings
from tests.unit.dashboard.test_auth import PASSWORD, desk

READS = ("/api/admin/users", "/api/admin/packs", "/api/admin/routes")
WRITES = (
    ("/api/admin/users", {"name": "eve", "role": "admin", "sso": True}),
    ("/api/admin/users/ana/role", {"role": "admin"}),
    ("/api/admin/users/ana/disable", {}),
    ("/api/admin/users/ana/enable", {}),
    ("/api/admin/users/ana/password", {"password": PASSWORD, "password_again": PASSWORD}),
    ("/api/admin/packs/ana/watches/delete", {}),
    ("/api/admin/routes", {"text": "route: {receiver: x}"}),
)


@pytest.mark.parametrize("user", ["vera", "ana"])
async def test_viewers_and_analysts_get_403_everywhere(unit_settings: Settings, user: str) -> None:
    """Every admin endpoint, read or write, refuses a viewer and an analyst."""
    async with desk(unit_settings) as d:
        await d.sign_in(user)
        for path in READS:
            assert (await d.client.get(path)).status == 403, path
        for path, body in WRITES:
            answer = await d.post(path, body)
            assert answer.status == 403, path
            assert "cannot manage accounts" in (await answer.json())["error"]


async def test_the_admin_lists_accounts_without_hashes(unit_settings: Settings) -> None:
    """The Users panel's list has each account's role and state, never a password hash."""
    async with desk(unit_settings) as d:
        await d.sign_in("ada")
        answer = await d.client.get("/api/admin/users")
        body = await answer.text()
        assert answer.status == 200
        assert "$argon2" not in body
        rows = (await answer.json())["users"]
        assert [(r["id"], r["role"], r["state"]) for r in rows] == [
            ("ada", "admin", "enabled"),
            ("ana", "analyst", "enabled"),
            ("vera", "viewer", "enabled"),
        ]


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        (PASSWORD, PASSWORD + "x", "the two passwords differ"),
        ("short", "short", "at least 10 characters"),
        (" " + PASSWORD, " " + PASSWORD, "starts or ends with a space"),
    ],
)
async def test_a_bad_new_password_is_refused_without_repeating_it(
    unit_settings: Settings, password: str, again: str, message: str
) -> None:
    """Passwords that differ or break the rules get 400; neither the answer nor the log shows them."""
    async with desk(unit_settings) as d:
        await d.sign_in("ada")
        with capture_logs() as logs:
            for path in ("/api/admin/users", "/api/admin/users/ana/password"):
                body = {"password": password, "password_again": again}
                if path == "/api/admin/users":
                    body |= {"name": "eve", "role": "viewer"}
                answer = await d.post(path, body)
                assert answer.status == 400
                text = await answer.text()
                assert message in text
                assert password.strip() not in text
        assert password.strip() not in repr(logs)


async def test_an_admin_cannot_demote_or_disable_themselves(unit_settings: Settings) -> None:
    """The signed-in admin's own role and state are refused (another admin or the CLI may)."""
    async with desk(unit_settings) as d:
        await d.sign_in("ada")
        for name, path, body in (("ada", "role", {"role": "viewer"}), ("ADA", "disable", {})):
            answer = await d.post(f"/api/admin/users/{name}/{path}", body)
            assert answer.status == 400
            assert "your own role" in (await answer.json())["error"]


async def test_a_write_without_the_csrf_token_is_refused(unit_settings: Settings) -> None:
    """An admin's write without the session's CSRF token is refused like every other write."""
    async with desk(unit_settings) as d:
        await d.sign_in("ada")
        answer = await d.client.post("/api/admin/users/ana/disable", json={})
        assert answer.status == 403
        assert "CSRF" in (await answer.json())["error"]
