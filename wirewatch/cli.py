"""The ``wirewatch`` command line.

Each command builds the settings once, configures logging once, and calls
into the packages. Heavy imports (faust, aiokafka) happen inside the
commands, so ``wirewatch --help`` stays fast. User mistakes end as one
``error:`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from schemas import Settings, WirewatchError
from wirewatch import (
    __version__,
    cmd_alerts,
    cmd_audit,
    cmd_dashboard,
    cmd_fetch,
    cmd_kafka,
    cmd_live_config,
    cmd_pipeline,
    cmd_produce,
    cmd_rule_packs,
    cmd_rules,
    cmd_users,
)
from wirewatch.options import pass_settings

DEMO_ARTICLES = (Path("seeds/articles"), Path("seeds/articles.jsonl"))


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


@cli.command()
@click.option(
    "--articles",
    "articles",
    multiple=True,
    type=click.Path(path_type=Path),
    default=DEMO_ARTICLES,
    show_default=True,
    help="Files or directories of articles to produce (repeat for several).",
)
@click.option(
    "--notify",
    multiple=True,
    metavar="URL",
    help="Also send every alert to this apprise URL (repeat for several), e.g. "
    "mailto://user:pass@smtp.example.org?to=me@example.org or slack://T/B/C. "
    "WIREWATCH_DEMO_NOTIFY adds more.",
)
@click.option(
    "--rate",
    default="20/s",
    show_default=True,
    metavar="N/s",
    help="Produce at most N articles per second, so alerts arrive as a stream.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="After the seed articles, leave the pipeline up (Ctrl-C stops it) and say how to "
    "produce more.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the pipeline to deliver every alert.",
)
@click.option(
    "--from-files",
    is_flag=True,
    help="Produce the articles straight from the files (as `wirewatch produce` does) instead "
    "of publishing them on a local news site for the fetcher.",
)
@pass_settings
def demo(
    settings: Settings,
    articles: tuple[Path, ...],
    notify: tuple[str, ...],
    rate: str,
    keep_running: bool,
    timeout: float,
    from_files: bool,
) -> None:
    """Run the whole monitor end to end on the seed articles.

    Starts the local Kafka broker (unless WIREWATCH_KAFKA_BOOTSTRAP names one),
    creates the topics of this run, publishes the default rule packs, starts a
    worker, a notifier, the dashboard (its address is printed) and a fetcher,
    publishes the articles on a local news site whose feeds the fetcher polls
    (or produces them from the files with --from-files), and prints each alert
    as it is delivered: to a local file receiver, and to every --notify URL.
    Ends with a summary and stops everything it started; Ctrl-C does the same
    at any time. Exit status: 0 when every alert was delivered, 1 when not in
    time, 130 on Ctrl-C.
    """
    from wirewatch.cmd_produce import parse_rate
    from wirewatch.demo import run_demo

    sys.exit(
        run_demo(
            settings,
            articles=articles,
            notify=notify,
            rate=parse_rate(rate),
            keep_running=keep_running,
            timeout_s=timeout,
            from_files=from_files,
        )
    )


# Each area owns its commands in a module of its own; they are registered here.
cli.add_command(cmd_kafka.broker)
cli.add_command(cmd_kafka.topics)
cli.add_command(cmd_alerts.notifier)
cli.add_command(cmd_alerts.silence)
cli.add_command(cmd_produce.produce)
cli.add_command(cmd_fetch.fetch)
cli.add_command(cmd_fetch.fetcher)
cli.add_command(cmd_fetch.sources)
cli.add_command(cmd_pipeline.worker)
cli.add_command(cmd_rules.rules)
for command in cmd_rule_packs.COMMANDS:
    cmd_rules.rules.add_command(command)
cli.add_command(cmd_rules.scan)
cli.add_command(cmd_dashboard.dashboard)
cli.add_command(cmd_users.users)
cli.add_command(cmd_audit.audit)
for group in cmd_live_config.COMMANDS:
    cli.add_command(group)


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
