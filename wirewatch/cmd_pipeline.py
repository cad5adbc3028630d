"""``wirewatch worker`` and ``wirewatch rules publish``: the stream workers and their rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemas import Settings
from wirewatch.options import cli_actor, pass_settings

if TYPE_CHECKING:
    from schemas.rules import RuleSetMessage


@click.command()
@pass_settings
def worker(settings: Settings) -> None:
    """Run a stream worker: articles -> detect -> aggregate -> alerts.

    Start as many as the articles topic has partitions (WIREWATCH_PARTITIONS,
    6 by default); workers with the same WIREWATCH_PIPELINE_ID share the
    partitions, and a survivor takes over those of a worker that stops. The
    worker creates missing topics, reads its rules from the rules topic (or
    WIREWATCH_RULES_PATH while that is empty), and serves /healthz, /readyz and
    /metrics on WIREWATCH_WEB_HOST:WIREWATCH_WORKER_WEB_PORT (127.0.0.1:6066).
    Stop it with Ctrl-C or SIGTERM: it commits what it has processed and leaves
    the group cleanly.
    """
    from streams.app import run_worker

    run_worker(settings)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Validate and compile the packs, but publish nothing."
)
@pass_settings
def publish(settings: Settings, path: Path, dry_run: bool) -> None:
    """Validate the rule packs at PATH and publish them to every running worker.

    PATH is a pack file or a directory of packs (searched recursively). The
    packs are loaded and compiled exactly as a worker would; if any problem is
    found nothing is published. Otherwise they go, as one versioned rule set,
    to the compacted rules topic, and each worker swaps to the new set without
    a restart (its log says rules_installed with the version).
    """
    from streams.rulebook import (
        compile_packs,
        publish_ruleset,
        publisher_name,
        ruleset_message,
    )
    from streams.rules import SizeLimits, load_gazetteer, load_packs

    packs = load_packs(path, limits=SizeLimits.from_settings(settings))
    compiled = compile_packs(packs, load_gazetteer(settings.gazetteer_path))
    message = ruleset_message(packs, published_by=publisher_name())
    rules = len(compiled.rules)
    if dry_run:
        click.echo(f"rule set {message.version}: {rules} rules in {len(packs)} packs, valid")
        return
    actor, host = cli_actor()

    async def run() -> None:
        previous = await current_ruleset(settings)
        await publish_ruleset(settings, message, previous=previous, actor=actor, origin=host)

    asyncio.run(run())
    click.echo(
        f"published rule set {message.version}: {rules} rules in {len(packs)} packs "
        f"to {settings.topics.rules}"
    )


async def current_ruleset(settings: Settings) -> RuleSetMessage | None:
    """Return the rule set on the rules topic now (None if there is none or it is unreadable)."""
    from pydantic import ValidationError

    from alerts.compacted import CompactedReader
    from schemas.kafka import ensure_topics, pipeline_topics
    from schemas.rules import RuleSetMessage

    topic = settings.topics.rules
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
    latest: list[bytes] = []

    def keep(_key: bytes | None, value: bytes | None) -> None:
        if value is not None:
            latest[:] = [value]

    reader = CompactedReader(settings, topic, keep, client_id="wirewatch-rules-publisher")
    await reader.start()
    try:
        await reader.catch_up()
    finally:
        await reader.stop()
    try:
        return RuleSetMessage.model_validate_json(latest[0]) if latest else None
    except ValidationError:
        return None
