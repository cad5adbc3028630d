"""The users and audit commands' input handling: passwords never from argv, --since."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas import ConfigError
from wirewatch.cli import cli
from wirewatch.cmd_audit import parse_since
from wirewatch.cmd_users import read_password

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def test_password_from_the_first_line_of_a_file(tmp_path: Path) -> None:
    """--password-file takes the first line, without its newline."""
    path = tmp_path / "secret"
    path.write_text("lantern orchard 9\nignored second line\n")
    assert read_password(path) == "lantern orchard 9"


def test_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no file and no terminal, the first line of standard input ('-' says so too)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("lantern orchard 9\n"))
    assert read_password(None) == "lantern orchard 9"
    monkeypatch.setattr("sys.stdin", io.StringIO("lantern orchard 9"))
    assert read_password(Path("-")) == "lantern orchard 9"


def test_weak_or_missing_password_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty or short password, or an unreadable file, is a ConfigError."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(ConfigError, match="at least 10"):
        read_password(None)
    with pytest.raises(ConfigError, match="--password-file"):
        read_password(tmp_path / "missing")


def test_no_command_takes_a_password_argument() -> None:
    """No option of the users commands is a password value: it would land in shell history."""
    users = cli.commands["users"]
    assert hasattr(users, "commands")
    for command in users.commands.values():
        for param in command.params:
            assert (
                param.name is None
                or param.name in {"password_file"}
                or "password" not in param.name
            )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-09T08:00+00:00", datetime(2026, 11, 9, 8, 0, tzinfo=UTC)),
    ],
)
def test_since(text: str, expected: datetime) -> None:
    """--since is a duration back from now, or a time with its timezone."""
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"), [("yesterday", "duration"), ("2026-11-09T08:00", "timezone")]
)
def test_since_mistakes(text: str, message: str) -> None:
    """Anything else says what to write."""
    with pytest.raises(ConfigError, match=message):
        parse_since(text, NOW)
