"""``wirewatch audit``: the trail of every write people made, with filters."""

from __future__ import annotations

import asyncio
from datetime import datetime

import click

from schemas import ConfigError, Settings
from wirewatch.options import format_option, pass_settings


def parse_since(text: str, now: datetime) -> datetime:
    """Return the start of the window: ``now`` minus a duration (2h, 7d), or an ISO time.

    Raises:
        ConfigError: neither a duration nor a time with a timezone.
    """
    from schemas.rules import parse_duration

    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: give a duration (30m, 2h, 7d) or a time (2026-11-10T09:00+00:00)"
        ) from None
    if when.tzinfo is None:
        raise ConfigError(f"--since {text!r}: add the timezone, e.g. {text}+00:00")
    return when


@click.command()
@click.option("--actor", help="Only this person's writes (a user id or login name).")
@click.option(
    "--action", help="Only this action (silence.added) or kind of record (silence, user, rules)."
)
@click.option("--target", help="Only records whose name contains this (user:ana, a silence id).")
@click.option("--since", help="Only writes since a duration ago (2h, 7d) or a time (ISO 8601).")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Show the newest this many.",
)
@format_option("json: one event per line, with its before and after.")
@pass_settings
def audit(
    settings: Settings,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    limit: int,
    output: str,
) -> None:
    """Show the audit trail: who published rules, added or expired silences, changed accounts.

    Events come from the audit topic, oldest first, each with its time, actor
    (a dashboard user, or the login name of who ran a command), how
    (dashboard or cli) and from where, the action and the record; --format
    json adds the record before and after (secrets redacted).
    """
    from schemas.audit import AUDIT_ACTIONS, AuditQuery
    from schemas.audit_log import read_audit
    from schemas.common import utcnow

    kinds = {a.split(".", 1)[0] for a in AUDIT_ACTIONS}
    if action is not None and action not in AUDIT_ACTIONS and action not in kinds:
        raise ConfigError(
            f"--action {action!r}: use one of {', '.join(sorted(kinds | set(AUDIT_ACTIONS)))}"
        )
    query = AuditQuery(
        actor=actor,
        action=action,
        target=target,
        since=parse_since(since, utcnow()) if since else None,
    )
    page = asyncio.run(read_audit(settings, query, limit))
    for event in page.events:
        if output == "json":
            click.echo(event.model_dump_json())
        else:
            click.echo(
                f"{event.at:%Y-%m-%d %H:%M:%S}  {event.actor:20} {event.via:9} "
                f"{event.action:18} {event.target}  from {event.origin or '-'}"
            )
    if output == "table":
        shown = len(page.events)
        more = f" (the newest {shown} of {page.matched})" if page.matched > shown else ""
        click.echo(f"{page.matched} events{more}", err=True)
    if page.unreadable:
        click.secho(f"warning: {page.unreadable} records could not be read", fg="yellow", err=True)
