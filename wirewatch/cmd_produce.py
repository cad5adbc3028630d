"""``wirewatch produce``: files, directories or stdin to the articles topic."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import click

from schemas import ConfigError, DeliveryError, Settings
from wirewatch.options import pass_settings

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")


def parse_rate(text: str | None) -> float | None:
    """Return records per second from ``"200"`` or ``"200/s"``; None for no limit.

    Raises:
        ConfigError: the rate is not a positive number.
    """
    if text is None:
        return None
    match = _RATE.match(text)
    rate = float(match.group(1)) if match else 0.0
    if rate <= 0:
        raise ConfigError(f"--rate {text!r} is not a positive rate: write it as N/s, e.g. 200/s")
    return rate


@click.command()
@click.argument(
    "paths",
    nargs=-1,
    type=click.Path(exists=True, allow_dash=True, path_type=str),
)
@click.option(
    "--follow",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="After PATHS, watch this spool directory and produce files as they land (Ctrl-C stops).",
)
@click.option("--rate", metavar="N/s", help="Send at most N records per second (e.g. 500/s).")
@click.option(
    "--strict", is_flag=True, help="Exit 1 when any record was invalid (it is still dead-lettered)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Processes that each validate and send part of a large JSON Lines file "
    "(default: one per CPU, at most 4; 0: all in this process). Ranges of the file are "
    "sent concurrently, so their relative order is not kept.",
)
@pass_settings
def produce(
    settings: Settings,
    paths: tuple[str, ...],
    follow: Path | None,
    rate: str | None,
    strict: bool,
    workers: int | None,
) -> None:
    """Validate articles from PATH... (files, directories, or - for stdin) and produce them.

    Reads text pages (.txt: headline, standfirst, body; optional Source:/Date:/URL:
    header lines), JSON Lines (.jsonl), JSON arrays (.json) and RSS or Atom feeds
    (.xml, .rss, .atom); other files are recognised by their first bytes. Each
    article goes to the articles topic keyed by its stable id; each invalid record
    goes to articles.dlq with the reason and its origin (file:line).

    Exit status: 0 when everything reached Kafka, 1 with --strict when a record
    was invalid, 4 when something could not be delivered.
    """
    from ingest.producer import produce
    from ingest.sender import ProduceSummary
    from wirewatch.progress import produce_progress

    per_second = parse_rate(rate)
    if not paths and follow is None:
        raise ConfigError(
            "nothing to produce: give PATH... (files, directories, - for stdin) or --follow DIR"
        )
    if "-" in paths and sys.stdin.isatty():
        raise ConfigError("'-' reads articles from stdin, but stdin is a terminal: pipe a file in")

    progress, update = produce_progress() if sys.stderr.isatty() else (None, None)

    stop = asyncio.Event()

    async def run() -> ProduceSummary:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await produce(
            settings,
            paths,
            stdin=sys.stdin.buffer,
            follow=follow,
            rate=per_second,
            stop=stop,
            on_progress=update,
            workers=workers,
        )

    if progress is not None:
        with progress:
            summary = asyncio.run(run())
    else:
        summary = asyncio.run(run())
    topics = settings.topics
    click.echo(summary.describe(topics.articles, topics.articles_dlq), err=True)
    if not summary.delivered_all:
        raise DeliveryError(
            f"{summary.failed} records were not acknowledged by Kafka at "
            f"{settings.bootstrap_servers}; see the delivery_failed log events, then produce again "
            "(ids are stable, so a rerun does not duplicate keys)"
        )
    if stop.is_set() and follow is None:
        click.echo("interrupted: the records above were sent; the rest were not read", err=True)
        sys.exit(130)
    if strict and summary.invalid:
        sys.exit(1)
