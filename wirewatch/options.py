"""Pieces every command module shares: the settings passed down from the root command."""

from __future__ import annotations

import click

from schemas import Settings

pass_settings = click.make_pass_decorator(Settings)
"""Decorator giving a command the settings the root command built once."""


def cli_actor() -> tuple[str, str]:
    """Return who runs this command and where: (login name, host name), for the audit trail."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return user, socket.gethostname()
