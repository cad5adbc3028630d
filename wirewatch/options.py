"""Pieces every command module shares: the settings passed down from the root command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from schemas import Settings

F = TypeVar("F", bound=Callable[..., Any])

pass_settings = click.make_pass_decorator(Settings)
"""Decorator giving a command the settings the root command built once."""


def format_option(json_help: str) -> Callable[[F], F]:
    """``--format table|json`` (the parameter ``output``), ``json_help`` saying what json gives."""
    return click.option(
        "--format",
        "output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=json_help,
    )


def cli_actor() -> tuple[str, str]:
    """Return who runs this command and where: (login name, host name), for the audit trail."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return user, socket.gethostname()
