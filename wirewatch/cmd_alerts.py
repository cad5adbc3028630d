"""``wirewatch notifier`` and ``wirewatch silence``: the alerting stage from the command line."""

from __future__ import annotations

import asyncio
import signal

import click

from schemas import ConfigError, Settings
from wirewatch.options import cli_actor, pass_settings


@click.command()
@pass_settings
def notifier(settings: Settings) -> None:
    """Run the notifier: read alerts, route, group and deliver them through apprise.

    Routes come from the routes topic (`wirewatch routes publish`), else from
    WIREWATCH_ROUTES_PATH (seeds/routes.yaml by default); receiver URLs from
    the receivers topic (`wirewatch receivers set`), else WIREWATCH_RECEIVERS
    (JSON: {"name": ["apprise-url"]}) or files in WIREWATCH_RECEIVERS_DIR.
    Both topics are followed: a change is checked and swapped in without a
    restart, or refused (the log says notifier_config_rejected) while the
    configuration in use stays. Health and Prometheus metrics are served
    on WIREWATCH_WEB_HOST:WIREWATCH_NOTIFIER_WEB_PORT (/healthz, /metrics).
    SIGTERM or Ctrl-C stops it cleanly: in-flight sends finish and are recorded.
    """
    from alerts.notifier import Notifier
    from alerts.receivers import receiver_urls, resolve_receivers
    from alerts.routing import load_routes
    from alerts.secrets import make_redactor, settings_secrets
    from wirewatch.logs import configure_logging

    urls = [url.get_secret_value() for values in receiver_urls(settings).values() for url in values]
    redact = make_redactor(settings_secrets(settings, urls))
    # Configure logging again, now with the redactor: secrets must never reach a log line.
    configure_logging(settings.log_level, settings.log_format, redactors=[redact])
    routes = load_routes(settings.routes_path)
    try:
        receivers = resolve_receivers(settings, routes.receivers)
    except ConfigError:
        receivers = None  # the receivers topic may give them; checked once it is read

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Notifier(settings, routes, receivers, redact=redact).run(stop)

    asyncio.run(run())


@click.group()
def silence() -> None:
    """Silence alerts for a while: they are recorded in the ledger, not sent.

    Silences live on the compacted silences topic, so every notifier honours them.
    Labels a matcher can name: category, severity, rule_id, story_id, tag,
    entity, receiver.
    """


@silence.command("add")
@click.option(
    "--match",
    "matches",
    multiple=True,
    required=True,
    metavar="LABEL=VALUE",
    help="A condition; repeat for several (all must hold). != and =~ (regex) work too.",
)
@click.option("--for", "duration", required=True, help="How long: 30m, 2h, 1d.")
@click.option("--comment", required=True, help="Why; shown by `silence list`.")
@click.option(
    "--author",
    default=None,
    help="Who, on the silence and the audit trail; default: the login name.",
)
@pass_settings
def silence_add(
    settings: Settings, matches: tuple[str, ...], duration: str, comment: str, author: str | None
) -> None:
    """Add a silence, e.g. `--match category=sanctions --for 2h --comment "known story"`."""
    from alerts.silence_admin import write_silence
    from alerts.silences import new_silence, parse_matcher
    from schemas.audit import audit_event
    from schemas.rules import parse_duration

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise ConfigError(f"--for: {exc}") from None
    login, host = cli_actor()
    created = new_silence([parse_matcher(m) for m in matches], length, comment, author or login)
    event = audit_event(
        "silence.added",
        f"silence:{created.id}",
        actor=created.created_by,
        via="cli",
        origin=host,
        after=created,
    )
    asyncio.run(write_silence(settings, created, event))
    click.echo(f"{created.id}  until {created.ends_at:%Y-%m-%d %H:%M} UTC  {comment}")


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@pass_settings
def silence_list(settings: Settings, show_all: bool) -> None:
    """List the active silences (and expired ones with --all)."""
    from alerts.silence_admin import read_silences
    from schemas.common import utcnow

    now = utcnow()
    shown = [s for s in asyncio.run(read_silences(settings)) if show_all or s.ends_at > now]
    if not shown:
        click.echo("no active silences" if not show_all else "no silences")
        return
    for s in shown:
        state = "active" if s.active(now) else ("pending" if s.starts_at > now else "expired")
        matchers = " ".join(str(m) for m in s.matchers)
        click.echo(
            f"{s.id}  {state:7}  until {s.ends_at:%Y-%m-%d %H:%M} UTC  {matchers}  "
            f"by {s.created_by}: {s.comment}"
        )


@silence.command("expire")
@click.argument("silence_id")
@click.option("--author", default=None, help="Who, on the audit trail; default: the login name.")
@pass_settings
def silence_expire(settings: Settings, silence_id: str, author: str | None) -> None:
    """End a silence now (it stays listed with --all)."""
    from alerts.silence_admin import read_silences, write_silence
    from alerts.silences import expired
    from schemas.audit import audit_event

    found = {s.id: s for s in asyncio.run(read_silences(settings))}
    if silence_id not in found:
        raise ConfigError(
            f"no silence with id {silence_id!r}; `wirewatch silence list --all` shows the ids"
        )
    before = found[silence_id]
    ended = expired(before)
    login, host = cli_actor()
    event = audit_event(
        "silence.expired",
        f"silence:{silence_id}",
        actor=author or login,
        via="cli",
        origin=host,
        before=before,
        after=ended,
    )
    asyncio.run(write_silence(settings, ended, event))
    click.echo(f"{silence_id} expired")
