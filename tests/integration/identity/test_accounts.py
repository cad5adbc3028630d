"""Accounts on the real broker: the users CLI, dashboards sharing them, revocation, the audit trail."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from schemas import ConfigError, Settings
from schemas.audit import AuditEvent
from tests.integration.identity.conftest import (
    PASSWORD,
    Browser,
    cli,
    dashboards,
    raw_values,
    until,
)
from wirewatch.dashboard.server import serve


def audit_events(settings: Settings, *args: str) -> list[AuditEvent]:
    """``wirewatch audit --format json ARGS``, decoded."""
    done = cli(settings, "audit", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return [AuditEvent.model_validate_json(line) for line in done.stdout.splitlines()]


def test_users_commands_and_their_audit_trail(kafka_settings: Settings, tmp_path: Path) -> None:
    """add, passwd, role, disable and list work; each change is audited with the hash redacted."""
    added = cli(kafka_settings, "users", "add", "Ana", "--role", "analyst", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added ana (analyst)" in added.stdout
    again = cli(kafka_settings, "users", "add", "ana", "--role", "viewer", stdin=PASSWORD + "\n")
    assert again.returncode == 2
    assert again.stderr.startswith("error: user 'ana' exists")
    weak = cli(kafka_settings, "users", "add", "bob", "--role", "viewer", stdin="short\n")
    assert weak.returncode == 2
    assert "at least 10 characters" in weak.stderr
    secret_file = tmp_path / "new-password"
    secret_file.write_text("second-" + PASSWORD + "\n")
    steps = [
        cli(kafka_settings, "users", "passwd", "ana", "--password-file", str(secret_file)),
        cli(kafka_settings, "users", "role", "ana", "admin"),
        cli(kafka_settings, "users", "add", "sso@example.org", "--role", "viewer", "--sso"),
        cli(kafka_settings, "users", "disable", "ana"),
    ]
    assert all(step.returncode == 0 for step in steps), [s.stderr for s in steps]
    listed = cli(kafka_settings, "users", "list", "--format", "json")
    rows = {row["id"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows["ana"]["role"] == "admin"
    assert rows["ana"]["state"] == "disabled"
    assert rows["sso@example.org"]["sign_in"] == "single sign-on"
    assert "argon2" not in listed.stdout

    events = audit_events(kafka_settings, "--action", "user")
    assert [e.action for e in events] == [
        "user.added",
        "user.password_set",
        "user.changed",
        "user.added",
        "user.disabled",
    ]
    assert {e.actor for e in events} == {getpass.getuser()}
    assert all(e.via == "cli" for e in events)
    changed = events[2]
    assert changed.before is not None
    assert changed.after is not None
    assert (changed.before["role"], changed.after["role"]) == ("analyst", "admin")
    assert changed.after["password_hash"] == "[redacted]"
    table = cli(kafka_settings, "audit", "--target", "user:ana", "--since", "1h")
    assert table.stdout.count("user:ana") == 4

    outputs = "".join(r.stdout + r.stderr for r in (added, again, weak, *steps, listed, table))
    trail = asyncio.run(raw_values(kafka_settings, kafka_settings.topics.audit))
    users = asyncio.run(raw_values(kafka_settings, kafka_settings.topics.users))
    for text in (outputs.encode(), trail, users):
        assert PASSWORD.encode() not in text
    assert b"argon2" not in trail
    assert b"$argon2id$" in users  # the users topic holds hashes, never passwords


def test_silence_and_rules_commands_are_audited(kafka_settings: Settings, tmp_path: Path) -> None:
    """silence add/expire and rules publish each leave one event, with before and after."""
    add = cli(
        kafka_settings,
        *("silence", "add", "--match", "category=sanctions", "--for", "1h"),
        *("--comment", "desk knows", "--author", "ana"),
    )
    assert add.returncode == 0, add.stderr
    silence_id = add.stdout.split()[0]
    assert cli(kafka_settings, "silence", "expire", silence_id).returncode == 0
    pack = tmp_path / "pack.yaml"
    rule = {"id": "r1", "title": "R", "category": "c", "severity": "low", "query": "alpha"}
    pack.write_text(json.dumps({"rules": [rule]}))
    assert cli(kafka_settings, "rules", "publish", str(pack)).returncode == 0
    pack.write_text(json.dumps({"rules": [rule, {**rule, "id": "r2", "query": "bravo"}]}))
    assert cli(kafka_settings, "rules", "publish", str(pack)).returncode == 0

    added, expired = audit_events(kafka_settings, "--target", silence_id)
    assert (added.action, added.actor, added.before) == ("silence.added", "ana", None)
    assert added.after is not None
    assert added.after["created_by"] == "ana"
    assert (expired.action, expired.actor) == ("silence.expired", getpass.getuser())
    assert expired.before is not None
    assert expired.after is not None
    assert expired.after["ends_at"] < expired.before["ends_at"]
    first, second = audit_events(kafka_settings, "--action", "rules")
    assert first.before is None
    assert second.before is not None
    assert second.after is not None
    assert (second.before["rules"], second.after["rules"]) == (1, 2)
    assert second.before["version"] == first.after["version"]  # type: ignore[index]
    assert audit_events(kafka_settings, "--actor", "nobody-at-all") == []


async def test_dashboards_share_accounts_and_a_disabled_account_is_out_everywhere(
    kafka_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """An account added once signs in on two dashboards; disabling it ends its sessions on both."""
    settings = kafka_settings.model_copy(update={"dashboard_secret_key": SecretStr("k" * 40)})
    seed = await asyncio.to_thread(
        cli, settings, "users", "add", "ada", "--role", "admin", stdin=PASSWORD
    )
    assert seed.returncode == 0, seed.stderr
    browser, other = Browser(), Browser()
    try:
        async with dashboards(settings, 2) as (first, second):
            added = await asyncio.to_thread(
                cli, settings, "users", "add", "ana", "--role", "analyst", stdin=PASSWORD
            )
            assert added.returncode == 0, added.stderr

            async def signs_in_on_second() -> bool:
                return await other.sign_in(second, "ana") == 200

            await until(signs_in_on_second, what="ana's account on the second dashboard")
            assert await browser.sign_in(first, "ana") == 200
            assert await browser.sign_in(first, "ana", "wrong-" + PASSWORD) == 401
            assert await browser.sign_in(first, "ana") == 200
            # One session, both instances: the cookie is signed with the shared key.
            assert await browser.status(first) == await browser.status(second) == 200

            disabled = await asyncio.to_thread(cli, settings, "users", "disable", "ana")
            assert disabled.returncode == 0, disabled.stderr

            async def out_everywhere() -> bool:
                codes = {await b.status(d) for b in (browser, other) for d in (first, second)}
                return codes == {401}

            await until(out_everywhere, what="ana's sessions to end on both dashboards")
            assert await browser.sign_in(second, "ana") == 401
    finally:
        await browser.close()
        await other.close()
    logs = capsys.readouterr()
    assert "signed_in" in logs.out + logs.err
    assert PASSWORD not in logs.out + logs.err


async def test_wide_bind_without_accounts_is_refused(kafka_settings: Settings) -> None:
    """Asked to serve every interface with no account and no single sign-on, it refuses to start."""
    settings = kafka_settings.model_copy(update={"web_host": "0.0.0.0", "dashboard_port": 1})
    with pytest.raises(ConfigError, match=r"refusing to serve the dashboard on 0\.0\.0\.0"):
        await asyncio.wait_for(serve(settings, asyncio.Event()), 60)
