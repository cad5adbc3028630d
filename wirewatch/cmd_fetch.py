"""``wirewatch fetch``, ``wirewatch fetcher`` and ``wirewatch sources``: live sources."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError

from schemas import ConfigError, Settings
from wirewatch.options import pass_settings


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--kind",
    type=click.Choice(["auto", "feed", "sitemap", "section"]),
    default="auto",
    show_default=True,
    help="What the URLs are: auto reads a feed as a feed, an article page as one article, and a "
    "section page by following its article links.",
)
@click.option(
    "--full-text",
    is_flag=True,
    help="Fetch each feed item's page and take its main text (when the feed has only summaries).",
)
@pass_settings
def fetch(settings: Settings, urls: tuple[str, ...], kind: str, full_text: bool) -> None:
    """Fetch feeds or pages once, produce what is new, and say what each gave.

    Each URL keeps its state on the fetch state topic, so a second run asks
    conditionally (ETag, Last-Modified) and produces only new or edited items.
    The safety rules of the fetcher apply: private, loopback, link-local and
    multicast addresses are refused unless WIREWATCH_FETCH_ALLOW_NETWORKS holds
    them, robots.txt is honoured, sizes and content types are checked.

    Exit status: 0 when every URL was read, 1 when one failed or was refused,
    4 when Kafka did not acknowledge what was produced.
    """
    from ingest.fetch_once import fetch_urls, summarize
    from ingest.source_list import SourceKind, SourceSpec

    for url in urls:
        try:
            SourceSpec.model_validate({"id": "x", "name": "x", "url": url})
        except ValidationError as exc:
            raise ConfigError(f"{url!r}: {exc.errors()[0]['msg']}") from None
    chosen: SourceKind = kind  # type: ignore[assignment]  # click.Choice holds the Literal's values
    outcomes = asyncio.run(fetch_urls(settings, urls, kind=chosen, full_text=full_text))
    for outcome in outcomes:
        click.echo(outcome.describe())
    click.echo(summarize(outcomes), err=True)
    if any(o.status in ("failed", "refused", "rate_limited") for o in outcomes):
        sys.exit(1)


@click.command()
@pass_settings
def fetcher(settings: Settings) -> None:
    """Run the fetcher: poll the sources of WIREWATCH_SOURCES_PATH and produce their articles.

    Fetchers with the same WIREWATCH_FETCH_GROUP share the sources: a source
    belongs to the partition of its id on the fetch state topic, and Kafka's
    group membership decides which fetcher polls it; when one stops or dies
    the others take its sources over with their state. It serves /healthz,
    /readyz, /metrics and the WebSub callback on
    WIREWATCH_WEB_HOST:WIREWATCH_FETCH_WEB_PORT (127.0.0.1:6069). Ctrl-C or
    SIGTERM stops it cleanly.
    """
    from ingest.fetcher import Fetcher
    from ingest.source_list import load_sources

    sources = load_sources(settings.sources_path)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Fetcher(settings, sources).run(stop)

    asyncio.run(run())


@click.group()
def sources() -> None:
    """Check the sources file and show each source's health."""


@sources.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@pass_settings
def sources_check(settings: Settings, path: Path | None) -> None:
    """Validate a sources file (default WIREWATCH_SOURCES_PATH); every problem is located."""
    from ingest.source_list import load_sources

    path = path or settings.sources_path
    found = load_sources(path)
    counts = Counter(spec.kind for spec in found)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "none"
    click.echo(f"{path}: {len(found)} sources valid ({kinds})")


@sources.command("list")
@pass_settings
def sources_list(settings: Settings) -> None:
    """Show each source of WIREWATCH_SOURCES_PATH with its health from the fetch state topic."""
    from rich.console import Console
    from rich.table import Table

    from ingest.fetch_store import read_states
    from ingest.source_list import describe_interval, load_sources

    found = load_sources(settings.sources_path)
    states = asyncio.run(read_states(settings))
    now = datetime.now(UTC)
    table = Table(title=f"Sources of {settings.sources_path}", title_justify="left")
    for column in (
        "source",
        "kind",
        "status",
        "last fetch",
        "last new item",
        "items/day",
        "interval",
        "error",
    ):
        table.add_column(column, overflow="fold")
    for spec in found:
        state = states.get(spec.id)
        if state is None:
            table.add_row(spec.id, spec.kind, "never fetched", "", "", "", "", "")
            continue
        status: str = state.last_status
        if state.health_alert:
            status += " (alerting)"
        table.add_row(
            spec.id,
            spec.kind,
            status,
            _ago(state.last_fetch_at, now),
            _ago(state.last_new_item_at, now),
            f"{state.items_per_day(now):.1f}",
            describe_interval(state.interval_s),
            (state.last_error or "")[:120],
        )
    Console().print(table)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
