"""The CLI: help everywhere, a version, and user mistakes as one line, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from wirewatch.cli import cli, main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "wirewatch")
def test_every_command_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works on every command and says something."""
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: wirewatch" in out
    assert len(out.splitlines()) > 3


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package version."""
    assert main(["--version"]) == 0
    assert "wirewatch, version" in capsys.readouterr().out


def test_invalid_setting_is_one_line_error() -> None:
    """A bad WIREWATCH_ variable names itself and exits 1, without a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "wirewatch.broker", "status"],
        env={"WIREWATCH_PARTITIONS": "zero", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "WIREWATCH_PARTITIONS" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command exits 2 with click's usage message."""
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
