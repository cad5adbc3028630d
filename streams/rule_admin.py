"""Publishing, deleting and rolling back owners' rule packs; reading what is in force and what was.

The command line and the dashboard write packs only through here. Every
write is validated first, as a worker would (compiled with the gazetteer, each
pack record under ``WIREWATCH_MAX_MESSAGE_BYTES``, no rule id held by another
pack), then goes through :func:`~schemas.audit_log.write_audited_many`: for
each pack its record on the rules topic (a tombstone for a deletion), the same
record on the rules-history topic, then its audit event.

The first publication after an upgrade also splits the old single rule-set
record (key ``ruleset``) into packs owned by the publishing owner, then
deletes it: workers read both forms, so nothing stops firing in between.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import yaml
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from schemas import ConfigError, Settings
from schemas.audit import AuditEvent, audit_event
from schemas.audit_log import Change, write_audited_many
from schemas.common import utcnow
from schemas.kafka import ensure_topics, pipeline_topics, read_to_end
from schemas.rules import (
    LEGACY_RULESET_KEY,
    PACK_NAME,
    PackAction,
    PackRecord,
    RulePack,
    RuleSetMessage,
    pack_key,
    pack_version,
)
from streams.rulebook import compile_packs
from streams.rules import Gazetteer, SizeLimits, check_sizes

Via = Literal["dashboard", "cli"]

_PACK_NAME = re.compile(PACK_NAME)


@dataclass
class PacksOnTopic:
    """The latest record of every pack on the rules topic, and the old single record if any."""

    records: dict[str, PackRecord] = field(default_factory=dict)
    legacy: RuleSetMessage | None = None
    unreadable: list[str] = field(default_factory=list)

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one record of the rules topic, in order."""
        key = (record.key or b"").decode("utf-8", "replace")
        try:
            if key == LEGACY_RULESET_KEY:
                self.legacy = (
                    RuleSetMessage.model_validate_json(record.value) if record.value else None
                )
            elif record.value is None:
                self.records.pop(key, None)
            else:
                self.records[key] = PackRecord.model_validate_json(record.value)
        except ValidationError:
            self.unreadable.append(key)

    def resolve(self, ref: str, history: Sequence[PackRecord] = ()) -> str:
        """Return the key meant by ``ref``: ``owner/name``, or a name that one owner has.

        Raises:
            ConfigError: no pack, or several owners' packs, go by that name.
        """
        keys = set(self.records) | {r.key for r in history}
        if "/" in ref:
            if ref not in keys:
                raise ConfigError(f"no pack {ref!r}; `wirewatch rules status` lists the packs")
            return ref
        found = sorted(k for k in keys if k.split("/", 1)[1] == ref)
        if not found:
            raise ConfigError(f"no pack named {ref!r}; `wirewatch rules status` lists the packs")
        if len(found) > 1:
            raise ConfigError(
                f"several packs are named {ref!r} ({', '.join(found)}): say OWNER/{ref}"
            )
        return found[0]


async def read_packs(settings: Settings) -> PacksOnTopic:
    """Return the packs on the rules topic now.

    Raises:
        BrokerError: Kafka cannot be reached or the topic not read in time.
    """
    await _ensure(settings, settings.topics.rules)
    found = PacksOnTopic()
    await read_to_end(settings, settings.topics.rules, found.take, client_id="wirewatch-rules")
    return found


async def read_history(settings: Settings, key: str | None = None) -> list[PackRecord]:
    """Return the records of the rules-history topic (of pack ``key`` only, if given), oldest first.

    Raises:
        BrokerError: Kafka cannot be reached or the topic not read in time.
    """
    topic = settings.topics.rules_history
    await _ensure(settings, topic)
    found: list[PackRecord] = []

    def take(record: ConsumerRecord[bytes, bytes]) -> None:
        if key is not None and record.key != key.encode("utf-8"):
            return
        with contextlib.suppress(ValidationError):  # not a pack record: nothing to restore
            found.append(PackRecord.model_validate_json(record.value or b""))

    await read_to_end(settings, topic, take, client_id="wirewatch-rules-history")
    return found


def new_record(
    pack: RulePack,
    *,
    owner: str,
    actor: str,
    previous: PackRecord | None,
    action: PackAction = "published",
) -> PackRecord:
    """Return the record publishing ``pack`` as ``owner``'s pack of the same name.

    Raises:
        ConfigError: the owner or the pack's name cannot be a key.
    """
    try:
        return PackRecord(
            owner=owner,
            name=pack.name,
            version=pack_version(pack.rules),
            action=action,
            previous_version=previous.version if previous else None,
            published_by=actor,
            source=pack.source,
            rules=pack.rules,
        )
    except ValidationError as exc:
        bad = {str(err["loc"][0]) for err in exc.errors()}
        if "name" in bad:
            raise ConfigError(
                f"{pack.source or pack.name}: {pack.name!r} cannot name a pack: use lower-case "
                "letters, digits, '.', '_' and '-' (the file's name is the pack's name)"
            ) from None
        if "owner" in bad:
            raise ConfigError(
                f"{owner!r} cannot own a pack: owners are user ids (lower case, no '/')"
            ) from None
        raise ConfigError(f"{pack.source or pack.name}: {exc}") from None


def record_summary(record: PackRecord) -> dict[str, object]:
    """What the audit trail keeps of a pack record: who, which version, how many rules, not the rules."""
    return {
        "owner": record.owner,
        "name": record.name,
        "version": record.version,
        "rules": len(record.rules),
        "action": record.action,
        "previous_version": record.previous_version,
        "published_by": record.published_by,
        "published_at": record.published_at.isoformat(),
    }


def check_records(
    settings: Settings, records: Sequence[PackRecord], on_topic: PacksOnTopic
) -> None:
    """Refuse records that are too large for Kafka or use rule ids another pack holds.

    Raises:
        ConfigError: naming every pack at fault and what to do.
    """
    problems = []
    limit = settings.max_message_bytes
    for record in records:
        size = len(record.encode())
        if size > limit:
            problems.append(
                f"pack {record.key} ({record.source or record.name}) is {size:,} bytes as a "
                f"record, over WIREWATCH_MAX_MESSAGE_BYTES={limit:,}: split it into smaller packs"
            )
    replaced = {r.key for r in records}
    holder = {
        rule.id: key
        for key, other in on_topic.records.items()
        if key not in replaced
        for rule in other.rules
    }
    for record in records:
        clashes = sorted(rule.id for rule in record.rules if rule.id in holder)
        if clashes:
            owners = sorted({holder[c] for c in clashes})
            problems.append(
                f"pack {record.key}: rule ids already used by pack {', '.join(owners)}: "
                f"{', '.join(clashes[:10])}{' ...' if len(clashes) > 10 else ''}; rename them"
            )
        for rule in record.rules:
            holder.setdefault(rule.id, record.key)
    if problems:
        raise ConfigError("\n".join(problems))


@dataclass(frozen=True)
class Publication:
    """What a publication wrote (and what it left alone because it had not changed)."""

    written: list[PackRecord]
    unchanged: list[PackRecord]
    migrated: list[PackRecord]


async def publish_packs(
    settings: Settings,
    packs: Sequence[RulePack],
    *,
    owner: str,
    actor: str,
    via: Via,
    origin: str,
    gazetteer: Gazetteer | None,
) -> Publication:
    """Publish ``packs`` as ``owner``'s, replacing only the packs of the same names.

    Raises:
        RulePackError: a pack does not compile or is over the size limits.
        ConfigError: names repeat, a record is too large, or a rule id is another pack's.
        DeliveryError: Kafka did not acknowledge a write in time.
    """
    names = [pack.name for pack in packs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"several pack files are named {', '.join(repeated)}: a pack is known by its file's "
            "name, so give each a name of its own"
        )
    check_sizes(packs, SizeLimits.from_settings(settings))
    compile_packs(packs, gazetteer)
    on_topic = await read_packs(settings)
    written, unchanged = [], []
    for pack in packs:
        previous = on_topic.records.get(pack_key(owner, pack.name))
        record = new_record(pack, owner=owner, actor=actor, previous=previous)
        if previous is not None and previous.version == record.version:
            unchanged.append(previous)
        else:
            written.append(record)
    migrated = _migrated(on_topic.legacy, owner, actor, set(names))
    check_records(settings, [*written, *migrated], on_topic)
    writes = [
        _pack_write(settings, r, on_topic.records.get(r.key), actor, via, origin)
        for r in [*written, *migrated]
    ]
    if on_topic.legacy is not None:
        writes.append(_legacy_deletion(settings, on_topic.legacy, actor, via, origin))
    if writes:
        await write_audited_many(settings, writes)
    return Publication(written, unchanged, migrated)


def _migrated(
    legacy: RuleSetMessage | None, owner: str, actor: str, replaced: set[str]
) -> list[PackRecord]:
    """The packs of the old single record that this publication does not replace, as records."""
    if legacy is None:
        return []
    records = []
    for pack in legacy.packs:
        name = re.sub(r"[^a-z0-9_.-]+", "-", pack.name.lower()).strip("-.")[:64] or "pack"
        if name in replaced or not _PACK_NAME.match(name):
            continue
        records.append(
            new_record(
                pack.model_copy(update={"name": name}), owner=owner, actor=actor, previous=None
            )
        )
    return records


def _pack_write(
    settings: Settings,
    record: PackRecord,
    previous: PackRecord | None,
    actor: str,
    via: Via,
    origin: str,
) -> tuple[list[Change], AuditEvent]:
    payload = record.encode()
    key = record.key.encode("utf-8")
    event = audit_event(
        "rules.rolled_back" if record.action == "rolled_back" else "rules.published",
        f"rules:{record.key}",
        actor=actor,
        via=via,
        origin=origin,
        before=record_summary(previous) if previous else None,
        after=record_summary(record),
    )
    topics = settings.topics
    return [Change(topics.rules, key, payload), Change(topics.rules_history, key, payload)], event


def _legacy_deletion(
    settings: Settings, legacy: RuleSetMessage, actor: str, via: Via, origin: str
) -> tuple[list[Change], AuditEvent]:
    before = {
        "version": legacy.version,
        "packs": [pack.name for pack in legacy.packs],
        "rules": sum(len(pack.rules) for pack in legacy.packs),
        "published_by": legacy.published_by,
    }
    event = audit_event(
        "rules.deleted",
        f"rules:{LEGACY_RULESET_KEY}",
        actor=actor,
        via=via,
        origin=origin,
        before=before,
    )
    return [Change(settings.topics.rules, LEGACY_RULESET_KEY.encode(), None)], event


async def delete_pack(
    settings: Settings, ref: str, *, actor: str, via: Via, origin: str
) -> PackRecord:
    """Delete a pack: a tombstone on the rules topic, a ``deleted`` record in its history.

    Returns the record it deleted.

    Raises:
        ConfigError: no such pack is in force.
        DeliveryError: Kafka did not acknowledge a write in time.
    """
    on_topic = await read_packs(settings)
    key = on_topic.resolve(ref)
    current = on_topic.records.get(key)
    if current is None:
        raise ConfigError(f"pack {key} is not in force (it was deleted already)")
    gone = current.model_copy(
        update={
            "action": "deleted",
            "previous_version": current.version,
            "published_by": actor,
            "published_at": utcnow(),
            "rules": (),
        }
    )
    event = audit_event(
        "rules.deleted",
        f"rules:{key}",
        actor=actor,
        via=via,
        origin=origin,
        before=record_summary(current),
    )
    topics = settings.topics
    changes = [
        Change(topics.rules, key.encode(), None),
        Change(topics.rules_history, key.encode(), gone.encode()),
    ]
    await write_audited_many(settings, [(changes, event)])
    return current


def find_version(history: Sequence[PackRecord], version: str) -> PackRecord:
    """Return the latest record of ``history`` with rules whose version starts with ``version``.

    Raises:
        ConfigError: no version, or several, start so.
    """
    found = [r for r in history if r.version.startswith(version) and r.action != "deleted"]
    versions = sorted({r.version for r in found})
    if not versions:
        known = ", ".join(dict.fromkeys(r.version for r in history if r.action != "deleted"))
        raise ConfigError(f"no version {version!r} in the history (versions: {known or 'none'})")
    if len(versions) > 1:
        raise ConfigError(f"{version!r} starts several versions ({', '.join(versions)}): say more")
    return found[-1]


async def rollback_pack(
    settings: Settings,
    ref: str,
    version: str,
    *,
    actor: str,
    via: Via,
    origin: str,
    gazetteer: Gazetteer | None,
) -> PackRecord:
    """Publish again the rules a pack had at ``version`` (a prefix will do); return the record.

    Raises:
        ConfigError: no such pack or version, that version is in force, or it
            no longer validates (rule ids taken since, too large).
        RulePackError: it no longer compiles.
        DeliveryError: Kafka did not acknowledge a write in time.
    """
    on_topic = await read_packs(settings)
    history = await read_history(settings)
    key = on_topic.resolve(ref, history)
    mine = [r for r in history if r.key == key]
    old = find_version(mine, version)
    current = on_topic.records.get(key)
    if current is not None and current.version == old.version:
        raise ConfigError(f"pack {key} is at version {old.version} already")
    pack = old.pack().model_copy(update={"name": old.name, "source": old.source})
    compile_packs([pack], gazetteer)
    record = new_record(pack, owner=old.owner, actor=actor, previous=current, action="rolled_back")
    check_records(settings, [record], on_topic)
    await write_audited_many(settings, [_pack_write(settings, record, current, actor, via, origin)])
    return record


class _PackDumper(yaml.SafeDumper):
    """Indents list items under their key, as packs are written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def pack_yaml(record: PackRecord | None) -> str:
    """Return a pack version as the YAML an owner would write (defaults left out)."""
    if record is None or not record.rules:
        return ""
    rules = [rule.model_dump(mode="json", exclude_defaults=True) for rule in record.rules]
    text: str = yaml.dump(
        {"rules": rules},
        Dumper=_PackDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text


def diff_versions(old: PackRecord | None, new: PackRecord | None) -> list[str]:
    """Return the unified diff, line by line, from one version of a pack to another."""
    return list(
        difflib.unified_diff(
            pack_yaml(old).splitlines(),
            pack_yaml(new).splitlines(),
            fromfile=f"{old.key}@{old.version}" if old else "(none)",
            tofile=f"{new.key}@{new.version}" if new else "(none)",
            lineterm="",
        )
    )


async def _ensure(settings: Settings, topic: str) -> None:
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
