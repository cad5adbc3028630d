"""``wirewatch rules publish|status|history|diff|rollback|delete``: owners' packs on Kafka.

Every pack is one record on the compacted rules topic, keyed ``owner/name``;
every version ever published is on the rules-history topic. A PACK argument
is ``owner/name``, or just the name when one owner has a pack of that name.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemas import Settings
from wirewatch.options import cli_actor, format_option, pass_settings

if TYPE_CHECKING:
    from schemas.rules import PackRecord


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--owner",
    help="Whose packs these are (a user id); default: your login name. The command line "
    "needs access to Kafka rather than a role, so it may publish for anyone.",
)
@click.option(
    "--dry-run", is_flag=True, help="Validate and compile the packs, but publish nothing."
)
@pass_settings
def publish(settings: Settings, path: Path, owner: str | None, dry_run: bool) -> None:
    """Validate the rule packs at PATH and publish them to every running worker.

    PATH is a pack file or a directory of packs (searched recursively); a
    pack is known by its file's name and its owner. Only the packs named are
    replaced: other packs, yours or anyone's, stay as they are, and a pack
    whose rules did not change is left alone. The packs are compiled as a
    worker would, each must fit in one Kafka record
    (WIREWATCH_MAX_MESSAGE_BYTES), and a rule id may belong to one pack only;
    if anything is wrong, nothing is published. Workers swap to the new rule
    set without a restart (their log says rules_installed). Every version is
    kept for `rules history`, `diff` and `rollback`, and each write is on the
    audit trail.
    """
    from streams.rule_admin import publish_packs
    from streams.rulebook import compile_packs
    from streams.rules import SizeLimits, load_gazetteer, load_packs

    packs = load_packs(path, limits=SizeLimits.from_settings(settings))
    gazetteer = load_gazetteer(settings.gazetteer_path)
    actor, host = cli_actor()
    owner = owner or actor.lower()
    if dry_run:
        compiled = compile_packs(packs, gazetteer)
        click.echo(f"{len(compiled.rules)} rules in {len(packs)} packs of {owner}, valid")
        return
    done = asyncio.run(
        publish_packs(
            settings, packs, owner=owner, actor=actor, via="cli", origin=host, gazetteer=gazetteer
        )
    )
    for record in done.written:
        was = f" (was {record.previous_version})" if record.previous_version else " (new)"
        click.echo(f"published {record.key} {record.version}{was}: {len(record.rules)} rules")
    for record in done.unchanged:
        click.echo(f"unchanged {record.key} {record.version}")
    if done.migrated:
        click.echo(
            f"moved {len(done.migrated)} packs of the old single rule set to {owner}: "
            + ", ".join(r.name for r in done.migrated)
        )


@click.command()
@format_option("json: one object per pack.")
@pass_settings
def status(settings: Settings, output: str) -> None:
    """List the packs in force: owner, version, rules, when and by whom published."""
    from streams.rule_admin import read_packs

    on_topic = asyncio.run(read_packs(settings))
    records = sorted(on_topic.records.values(), key=lambda r: r.key)
    if output == "json":
        for record in records:
            click.echo(json.dumps(_row(record)))
    else:
        for record in records:
            click.echo(
                f"{record.key:32} {record.version}  {len(record.rules):6} rules  "
                f"{record.published_at:%Y-%m-%d %H:%M} by {record.published_by}"
                + ("  (rolled back)" if record.action == "rolled_back" else "")
            )
        rules = sum(len(r.rules) for r in records)
        click.echo(f"{len(records)} packs, {rules} rules on {settings.topics.rules}", err=True)
    if on_topic.legacy is not None:
        legacy = on_topic.legacy
        click.secho(
            f"also the old single rule set {legacy.version} ({len(legacy.packs)} packs), which "
            "workers still use; the next `rules publish` splits it into packs of its owner",
            fg="yellow",
            err=True,
        )
    if on_topic.unreadable:
        click.secho(
            f"warning: unreadable records for {', '.join(on_topic.unreadable)}",
            fg="yellow",
            err=True,
        )
    if not records and on_topic.legacy is None:
        click.echo(
            f"no pack is published: workers use the packs at {settings.rules_path}", err=True
        )


@click.command()
@click.argument("pack")
@format_option("json: one object per version.")
@pass_settings
def history(settings: Settings, pack: str, output: str) -> None:
    """List every version of PACK, oldest first: when, what, by whom, how many rules."""
    from streams.rule_admin import read_history, read_packs

    async def run() -> list[PackRecord]:
        on_topic = await read_packs(settings)
        records = await read_history(settings)
        key = on_topic.resolve(pack, records)
        return [r for r in records if r.key == key]

    for record in asyncio.run(run()):
        if output == "json":
            click.echo(json.dumps(_row(record)))
            continue
        click.echo(
            f"{record.published_at:%Y-%m-%d %H:%M:%S}  {record.action:11} {record.version}  "
            f"{len(record.rules):6} rules  by {record.published_by}"
            + (f"  (was {record.previous_version})" if record.previous_version else "")
        )


@click.command()
@click.argument("pack")
@click.argument("versions", nargs=-1)
@pass_settings
def diff(settings: Settings, pack: str, versions: tuple[str, ...]) -> None:
    """Show how PACK changed: from V1 to V2, from V1 to now, or from its previous version to now.

    Versions are those of `rules history` (a unique prefix will do); the
    diff is of the rules as YAML, defaults left out.
    """
    from schemas import ConfigError
    from streams.rule_admin import diff_versions, find_version, read_history, read_packs

    if len(versions) > 2:
        raise ConfigError("give at most two versions: rules diff PACK [V1 [V2]]")

    async def run() -> list[str]:
        on_topic = await read_packs(settings)
        records = await read_history(settings)
        key = on_topic.resolve(pack, records)
        mine = [r for r in records if r.key == key]
        new = on_topic.records.get(key)
        old: PackRecord | None
        if versions:
            old = find_version(mine, versions[0])
            if len(versions) > 1:
                new = find_version(mine, versions[1])
        else:
            now = new.version if new else None
            older = [r for r in mine if r.action != "deleted" and r.version != now]
            old = older[-1] if older else None
        return diff_versions(old, new)

    lines = asyncio.run(run())
    if not lines:
        click.echo("no difference", err=True)
    for line in lines:
        colour = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])
        click.secho(line, fg=colour if not line.startswith(("+++", "---")) else None)


@click.command()
@click.argument("pack")
@click.argument("version")
@pass_settings
def rollback(settings: Settings, pack: str, version: str) -> None:
    """Put PACK back to VERSION (from `rules history`; a unique prefix will do).

    The old rules are published again as a new record (validated as on
    `publish`), so workers swap to them and the history shows the rollback.
    """
    from streams.rule_admin import rollback_pack
    from streams.rules import load_gazetteer

    actor, host = cli_actor()
    record = asyncio.run(
        rollback_pack(
            settings,
            pack,
            version,
            actor=actor,
            via="cli",
            origin=host,
            gazetteer=load_gazetteer(settings.gazetteer_path),
        )
    )
    click.echo(
        f"rolled back {record.key} to {record.version} (was {record.previous_version or 'none'}): "
        f"{len(record.rules)} rules"
    )


@click.command()
@click.argument("pack")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_settings
def delete(settings: Settings, pack: str, yes: bool) -> None:
    """Delete PACK: workers drop its rules; its history stays, so it can be rolled back."""
    from streams.rule_admin import delete_pack

    if not yes:
        click.confirm(f"delete pack {pack} for every worker?", abort=True)
    actor, host = cli_actor()
    record = asyncio.run(delete_pack(settings, pack, actor=actor, via="cli", origin=host))
    click.echo(f"deleted {record.key} (was {record.version}, {len(record.rules)} rules)")


def _row(record: PackRecord) -> dict[str, object]:
    from streams.rule_admin import record_summary

    return {"pack": record.key, **record_summary(record)}


COMMANDS = (publish, status, history, diff, rollback, delete)
"""Registered on the ``rules`` group by the command line."""
