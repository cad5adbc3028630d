"""``wirewatch users``: the dashboard's accounts on the users topic.

Passwords are never taken on the command line (it is visible to other users
of the machine and kept in shell history): they are asked for at a prompt, or
read from the first line of standard input or of ``--password-file``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from schemas import ConfigError, Settings
from schemas.audit import AuditAction
from schemas.users import Role, User
from wirewatch.options import cli_actor, format_option, pass_settings

_PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Read the password from the first line of this file ('-': standard input). "
    "Without it: a prompt on a terminal, else standard input.",
)
_ROLE = click.Choice([r.value for r in Role])
MAX_PASSWORD_FILE = 64 * 1024


def read_password(password_file: Path | None) -> str:
    """Return a new password from a prompt (asked twice), stdin or a file; never from argv."""
    from wirewatch.identity.passwords import check_new_password

    if password_file is None and sys.stdin.isatty():
        password: str = click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password"
        )
    else:
        if password_file is None or str(password_file) == "-":
            text = sys.stdin.read(MAX_PASSWORD_FILE)
        else:
            try:
                with password_file.open(encoding="utf-8") as handle:
                    text = handle.read(MAX_PASSWORD_FILE)
            except OSError as exc:
                raise ConfigError(f"--password-file {password_file}: {exc.strerror}") from None
        lines = text.splitlines()
        password = lines[0] if lines else ""
    check_new_password(password)
    return password


def _find(settings: Settings, name: str) -> User:
    from wirewatch.identity.accounts import find_user

    return asyncio.run(find_user(settings, name))


def _change(settings: Settings, name: str, action: AuditAction, **updates: Any) -> User:
    """Apply ``updates`` to the account NAME and save it with its audit event."""
    from wirewatch.identity.accounts import change_user

    actor, host = cli_actor()
    return asyncio.run(
        change_user(settings, name, action, actor=actor, origin=host, via="cli", **updates)
    )


@click.group()
def users() -> None:
    """Manage the dashboard's accounts (viewer, analyst, admin).

    Accounts live on the compacted users topic, so every dashboard instance
    knows them. Once one exists, the dashboard asks everyone to sign in.
    Every change is recorded on the audit trail (`wirewatch audit`).
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="viewer, analyst or admin.")
@click.option(
    "--sso",
    is_flag=True,
    help="No password: the user signs in only through the single sign-on proxy, with this role.",
)
@_PASSWORD_FILE
@click.option(
    "--if-missing",
    is_flag=True,
    help="If the account exists, leave it as it is and exit 0 (for provisioning scripts).",
)
@pass_settings
def users_add(
    settings: Settings,
    name: str,
    role: str,
    sso: bool,
    password_file: Path | None,
    if_missing: bool,
) -> None:
    """Add an account NAME with a role; its password is asked for (or read, see --password-file)."""
    from wirewatch.identity.accounts import add_user, exists, read_users, user_id

    if asyncio.run(read_users(settings)).get(user_id(name)) is not None:  # before the prompt
        if not if_missing:
            raise exists(name)
        click.echo(f"{user_id(name)} exists; left as it is")
        return
    from wirewatch.identity.passwords import Passwords

    password_hash = None if sso else Passwords().hash(read_password(password_file))
    actor, host = cli_actor()
    user = asyncio.run(
        add_user(settings, name, Role(role), password_hash, actor=actor, origin=host, via="cli")
    )
    click.echo(f"added {user.id} ({user.role}{', single sign-on only' if sso else ''})")


@users.command("passwd")
@click.argument("name")
@_PASSWORD_FILE
@pass_settings
def users_passwd(settings: Settings, name: str, password_file: Path | None) -> None:
    """Set or reset the password of NAME; the account's open sessions end."""
    from wirewatch.identity.passwords import Passwords

    _find(settings, name)  # before asking for a password
    password_hash = Passwords().hash(read_password(password_file))
    user = _change(settings, name, "user.password_set", password_hash=password_hash)
    click.echo(f"password of {user.id} set; its sessions have ended")


@users.command("role")
@click.argument("name")
@click.argument("role", type=_ROLE)
@pass_settings
def users_role(settings: Settings, name: str, role: str) -> None:
    """Give NAME another ROLE; the account's open sessions end."""
    user = _change(settings, name, "user.changed", role=Role(role))
    click.echo(f"{user.id} is now {role}")


@users.command("disable")
@click.argument("name")
@pass_settings
def users_disable(settings: Settings, name: str) -> None:
    """Stop NAME from signing in; the account's open sessions end on every dashboard."""
    user = _change(settings, name, "user.disabled", disabled=True)
    click.echo(f"{user.id} disabled")


@users.command("enable")
@click.argument("name")
@pass_settings
def users_enable(settings: Settings, name: str) -> None:
    """Let a disabled NAME sign in again."""
    user = _change(settings, name, "user.enabled", disabled=False)
    click.echo(f"{user.id} enabled")


@users.command("list")
@format_option("json: one JSON object per account (never the password hash).")
@pass_settings
def users_list(settings: Settings, output: str) -> None:
    """List the accounts: role, state, how they sign in, last change."""
    from wirewatch.identity.accounts import read_users, user_row

    found = asyncio.run(read_users(settings)).all()
    for user in found:
        row = user_row(user)
        if output == "json":
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['id']:24} {row['role']:8} {row['state']:9} {row['sign_in']:15} "
                f"changed {user.updated_at:%Y-%m-%d %H:%M} UTC by {user.updated_by}"
            )
    if not found and output == "table":
        click.echo("no accounts: the dashboard serves 127.0.0.1 only, without sign-in")
