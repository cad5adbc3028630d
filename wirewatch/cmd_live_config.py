"""``wirewatch routes``, ``receivers`` and ``gazetteer``: configuration running processes reload.

Each is published to a compacted topic after the same checks a notifier or
worker makes, and is on the audit trail; while a topic holds nothing, the
files and settings stay the default.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from schemas import ConfigError, Settings
from wirewatch.options import cli_actor, pass_settings

MAX_URL_INPUT = 64 * 1024


@click.group()
def routes() -> None:
    """Publish the notifier's route tree; every notifier swaps to it without a restart."""


@routes.command("publish")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file, publish nothing.")
@pass_settings
def routes_publish(settings: Settings, path: Path, dry_run: bool) -> None:
    """Check the routes file at PATH as a notifier would, and publish it.

    Every receiver it routes to must have URLs on the receivers topic (`wirewatch
    receivers set`) or in this command's settings. Notifiers follow the routes
    topic and swap to the new tree; until something is published they use
    WIREWATCH_ROUTES_PATH.
    """
    from alerts.config_admin import publish_routes, routes_record

    actor, host = cli_actor()
    record, table = routes_record(path, actor)
    if dry_run:
        click.echo(f"{path}: valid, {len(table.receivers)} receivers (version {record.version})")
        return
    done = asyncio.run(publish_routes(settings, record, table, actor=actor, via="cli", origin=host))
    click.echo(
        f"published routes {record.version} to {settings.topics.routes}"
        if done
        else f"unchanged: the routes in force are {record.version}"
    )


@click.group()
def receivers() -> None:
    """Give receivers their apprise URLs on the receivers topic (secrets, encrypted).

    URLs are read from a prompt, standard input or a file, never from the
    command line (other users of the machine see it and shells keep it); they
    are never printed, logged or put on the audit trail.
    """


@receivers.command("set")
@click.argument("name")
@click.option(
    "--url-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the URLs, one per line, from this file ('-': standard input). Without it: a "
    "prompt on a terminal, else standard input.",
)
@click.option(
    "--plaintext",
    is_flag=True,
    help="Without WIREWATCH_RECEIVERS_KEY: publish the URLs unencrypted (topic ACLs must "
    "protect the receivers topic).",
)
@pass_settings
def receivers_set(settings: Settings, name: str, url_file: Path | None, plaintext: bool) -> None:
    """Set receiver NAME's apprise URLs; notifiers use them without a restart.

    Each URL must be usable (a known apprise scheme, or jsonl://). They are
    encrypted with WIREWATCH_RECEIVERS_KEY; give the notifiers the same key.
    """
    from alerts.config_admin import set_receiver

    urls = read_urls(url_file)
    actor, host = cli_actor()
    record = asyncio.run(
        set_receiver(settings, name, urls, actor=actor, via="cli", origin=host, plaintext=plaintext)
    )
    sealed = "encrypted" if record.encrypted else "NOT encrypted"
    click.echo(f"receiver {name}: {len(urls)} URL(s) published, {sealed}")


@receivers.command("list")
@pass_settings
def receivers_list(settings: Settings) -> None:
    """List the receivers on the topic: name, how many URLs, encrypted or not, by whom (no URL)."""
    from alerts.config_admin import read_receivers

    found = asyncio.run(read_receivers(settings))
    for name, record in sorted(found.items()):
        click.echo(
            f"{name:24} {len(record.urls)} URL(s)  "
            f"{'encrypted' if record.encrypted else 'plain text'}  "
            f"{record.updated_at:%Y-%m-%d %H:%M} by {record.updated_by}"
        )
    if not found:
        click.echo("no receiver is published: notifiers use WIREWATCH_RECEIVERS(_DIR)", err=True)


@receivers.command("delete")
@click.argument("name")
@pass_settings
def receivers_delete(settings: Settings, name: str) -> None:
    """Remove receiver NAME from the topic (the published routes must not declare it)."""
    from alerts.config_admin import delete_receiver

    actor, host = cli_actor()
    asyncio.run(delete_receiver(settings, name, actor=actor, via="cli", origin=host))
    click.echo(f"receiver {name} removed")


@receivers.command("key")
def receivers_key() -> None:
    """Print a new key for WIREWATCH_RECEIVERS_KEY (keep it secret, give it to every notifier)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


def read_urls(url_file: Path | None) -> list[str]:
    """Return apprise URLs from a hidden prompt, standard input or a file; never from argv."""
    if url_file is None and sys.stdin.isatty():
        text: str = click.prompt("Apprise URL", hide_input=True)
    elif url_file is None or str(url_file) == "-":
        text = sys.stdin.read(MAX_URL_INPUT)
    else:
        try:
            with url_file.open(encoding="utf-8") as handle:
                text = handle.read(MAX_URL_INPUT)
        except OSError as exc:
            raise ConfigError(f"--url-file {url_file}: {exc.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@click.group()
def gazetteer() -> None:
    """Publish the gazetteer; workers and dashboards use it without a restart."""


@gazetteer.command("publish")
@click.argument("path", type=click.Path(path_type=Path))
@pass_settings
def gazetteer_publish(settings: Settings, path: Path) -> None:
    """Check the gazetteer files at PATH (a directory of *.yaml, or one file) and publish them.

    Once the topic holds files, they are the whole gazetteer workers use, so
    publish the whole directory first; a later file replaces the one of the
    same name. Files are checked together with those already published (an id
    or an alias belongs to one entity). Workers recompile their rules with it.
    """
    from streams.gazetteer_admin import gazetteer_records, publish_gazetteers

    actor, host = cli_actor()
    records = gazetteer_records(path, actor)
    written, unchanged = asyncio.run(
        publish_gazetteers(settings, records, actor=actor, via="cli", origin=host)
    )
    for record in written:
        click.echo(f"published {record.name} {record.version}")
    for record in unchanged:
        click.echo(f"unchanged {record.name} {record.version}")


COMMANDS = (routes, receivers, gazetteer)
"""Registered on the root command."""
