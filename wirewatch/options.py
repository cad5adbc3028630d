"""Pieces every command module shares: the settings passed down from the root command."""

from __future__ import annotations

import click

from schemas import Settings

pass_settings = click.make_pass_decorator(Settings)
"""Decorator giving a command the settings the root command built once."""
