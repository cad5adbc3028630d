"""``wirewatch broker`` and ``wirewatch topics``: the local broker and the pipeline's topics."""

from __future__ import annotations

import asyncio
import sys

import click

from schemas import Settings
from wirewatch.options import pass_settings


@click.group()
def broker() -> None:
    """Control the local development Kafka broker (Java 17+ and Maven needed).

    The broker listens on 127.0.0.1 (port WIREWATCH_LOCAL_BROKER_PORT, 19092 by
    default). Its jars, data and log live in WIREWATCH_LOCAL_BROKER_HOME
    (~/.cache/wirewatch/kafka). When WIREWATCH_KAFKA_BOOTSTRAP is set, that
    cluster is used and nothing is started.
    """


@broker.command("start")
@click.option("--fresh", is_flag=True, help="Wipe the broker's data first (all topics are lost).")
@pass_settings
def broker_start(settings: Settings, fresh: bool) -> None:
    """Start the local broker and wait until it answers (idempotent)."""
    from wirewatch.broker import LocalBroker

    if not settings.uses_local_broker:
        click.echo(
            f"WIREWATCH_KAFKA_BOOTSTRAP={settings.kafka_bootstrap} is set: using it, nothing started."
        )
        return
    local = LocalBroker(settings)
    already = local.pid() is not None and not fresh
    seconds = local.start(fresh=fresh)
    verb = "already running" if already else f"started in {seconds:.1f} s"
    click.echo(f"Kafka {local.version} {verb} on {local.bootstrap} (pid {local.pid()})")


@broker.command("stop")
@pass_settings
def broker_stop(settings: Settings) -> None:
    """Stop the local broker (SIGTERM, then SIGKILL after 30 s; idempotent)."""
    from wirewatch.broker import LocalBroker

    stopped = LocalBroker(settings).stop()
    click.echo("local Kafka broker stopped" if stopped else "local Kafka broker was not running")


@broker.command("status")
@pass_settings
def broker_status(settings: Settings) -> None:
    """Say whether the local broker runs and answers. Exit 0 if it does, 3 if not."""
    from wirewatch.broker import LocalBroker

    if not settings.uses_local_broker:
        click.echo(
            f"using the configured cluster {settings.kafka_bootstrap}; no local broker is managed"
        )
        return
    status = LocalBroker(settings).status()
    click.echo(status.describe())
    if not (status.running and status.answering):
        sys.exit(3)


@click.group()
def topics() -> None:
    """Manage the pipeline's Kafka topics."""


@topics.command("create")
@pass_settings
def topics_create(settings: Settings) -> None:
    """Create the pipeline's topics that do not exist yet (idempotent).

    Partition counts come from WIREWATCH_PARTITIONS; existing topics are left
    untouched, since changing partitions would move keys between partitions.
    """
    from schemas.kafka import ensure_topics, pipeline_topics

    specs = pipeline_topics(settings)
    created = asyncio.run(ensure_topics(settings, specs))
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        click.echo(f"{state:8} {spec.name} ({spec.partitions} partitions)")
