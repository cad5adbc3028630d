"""The ``wirewatch`` command line.

Each command builds the settings once, configures logging once, and calls
into the packages. Heavy imports (faust, aiokafka) happen inside the
commands, so ``wirewatch --help`` stays fast. User mistakes end as one
``error:`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from pydantic import ValidationError

from schemas import Settings, WirewatchError
from wirewatch import __version__


def load_settings() -> Settings:
    """Build the settings from the environment and ``.env``, with a readable error."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"WIREWATCH_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise WirewatchError(f"invalid settings: {problems}") from None


pass_settings = click.make_pass_decorator(Settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="wirewatch")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Wirewatch: a real-time news monitor.

    Articles go into Kafka, stream workers match analyst rules (keywords, Boolean
    queries, entities, numeric facts), and the notifier tells people through
    Slack, email or anything apprise reaches.

    Settings come from WIREWATCH_* environment variables or a .env file; see the
    README for the full list.
    """
    from wirewatch.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = settings


@cli.group()
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


@cli.group()
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


@cli.command()
@pass_settings
def demo(settings: Settings) -> None:
    """Run the whole monitor end to end on the seed articles."""
    from wirewatch.demo import run_demo

    sys.exit(run_demo(settings))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn Wirewatch errors into one line and an exit code."""
    try:
        result: Any = cli.main(args=argv, prog_name="wirewatch", standalone_mode=False)
    except WirewatchError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0
