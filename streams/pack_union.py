"""The rule set of the rules topic: the union of every owner's latest pack, chosen pack by pack.

Pure (no Kafka, no event loop): :class:`PackUnion` takes the topic's records
in order and says which pack versions the next rule set is made of;
:func:`compile_plan` compiles that choice, and when a pack's new version does
not compile, leaves it out, keeps that pack's version in force (if any), and
compiles again, so one owner's broken pack never takes anyone else's rules
away or stops the others' updates. Every worker reads the same records in the
same order, so they all choose alike.

A rule id belongs to one pack. When a new version of a pack uses an id that
another pack holds (``rules publish`` refuses that, but two publishers can
race), the pack that held the id keeps it; among packs new to the rule set,
the one published first. The record of the rules topic before packs had
owners (:class:`~schemas.rules.RuleSetMessage`, key ``ruleset``) still counts,
its packs below every owned pack.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from schemas.common import utcnow
from schemas.rules import (
    LEGACY_RULESET_KEY,
    PackRecord,
    RulePack,
    RuleSetMessage,
    pack_key,
    pack_version,
)
from streams.rules import RuleSet

LEGACY_OWNER = "(legacy)"
"""Owner shown for the packs of the old single rule-set record."""

Compile = Callable[[Sequence[RulePack], str], RuleSet]
"""Compiles packs into a rule set of the given version (raises on any problem)."""


@dataclass(frozen=True)
class PackEntry:
    """One version of one pack, as the union holds it."""

    key: str
    owner: str
    name: str
    version: str
    pack: RulePack
    published_at: datetime | None
    published_by: str
    offset: int

    @property
    def legacy(self) -> bool:
        """True for a pack of the old single rule-set record."""
        return self.owner == LEGACY_OWNER

    def view(self) -> dict[str, object]:
        """The entry as JSON data (``/readyz``, the dashboard): no rules, only their count."""
        return {
            "pack": self.key,
            "owner": self.owner,
            "name": self.name,
            "version": self.version,
            "rules": len(self.pack.rules),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "published_by": self.published_by,
        }


@dataclass(frozen=True)
class PackFailure:
    """A pack version that is not in force, and why."""

    key: str
    version: str
    error: str
    at: datetime = field(default_factory=utcnow)

    def view(self) -> dict[str, object]:
        """The failure as JSON data."""
        return {
            "pack": self.key,
            "version": self.version,
            "error": self.error,
            "at": self.at.isoformat(),
        }


def union_version(entries: Sequence[PackEntry]) -> str:
    """Return the rule set's version: a hash of its packs' keys and versions."""
    text = "\n".join(sorted(f"{e.key}@{e.version}" for e in entries))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entry_of(record: PackRecord, offset: int) -> PackEntry:
    """Return the union's entry for a record read at ``offset``."""
    return PackEntry(
        key=record.key,
        owner=record.owner,
        name=record.name,
        version=record.version,
        pack=record.pack(),
        published_at=record.published_at,
        published_by=record.published_by,
        offset=offset,
    )


def legacy_entries(message: RuleSetMessage, offset: int) -> list[PackEntry]:
    """Return the packs of an old single rule-set record as entries of their own."""
    entries = []
    for pack in message.packs:
        key = pack_key(LEGACY_OWNER, pack.name)
        entries.append(
            PackEntry(
                key=key,
                owner=LEGACY_OWNER,
                name=pack.name,
                version=pack_version(pack.rules),
                pack=pack.model_copy(update={"name": key}),
                published_at=None,
                published_by=message.published_by,
                offset=offset,
            )
        )
    return entries


@dataclass(frozen=True)
class Plan:
    """The packs the next rule set is made of, and what was left out before compiling.

    ``trial`` holds the keys whose chosen version is not in force yet; their
    previous versions are in ``fallback``.
    """

    chosen: tuple[PackEntry, ...]
    trial: frozenset[str]
    fallback: dict[str, PackEntry]
    refused: tuple[PackFailure, ...]

    @property
    def version(self) -> str:
        """The version the chosen packs make."""
        return union_version(self.chosen)


@dataclass(frozen=True)
class Outcome:
    """What compiling a plan gave: the rule set (None if none could be built) and failures."""

    rules: RuleSet | None
    chosen: tuple[PackEntry, ...]
    failures: tuple[PackFailure, ...]
    settled: frozenset[str]
    """Keys whose latest record was decided on (installed or refused)."""


class PackUnion:
    """The packs on the rules topic, and which version of each is in force.

    ``in_force`` holds the entries of the rule set installed last;
    ``failures`` the latest version of each pack that is not in force, and why.
    """

    def __init__(self) -> None:
        self._latest: dict[str, PackEntry | None] = {}
        self._legacy: list[PackEntry] = []
        self.in_force: dict[str, PackEntry] = {}
        self.failures: dict[str, PackFailure] = {}

    def take(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        """Take one record of the rules topic (in order); a tombstone deletes its pack."""
        name = (key or b"").decode("utf-8", "replace")
        if name == LEGACY_RULESET_KEY:
            self._take_legacy(value, offset)
            return
        if value is None:
            self._latest[name] = None
            self.failures.pop(name, None)
            return
        try:
            record = PackRecord.model_validate_json(value)
            if record.key != name:
                raise ValueError(f"the record holds pack {record.key!r}, not {name!r}")
        except ValueError as exc:  # ValidationError too: the key keeps the version it had
            self.failures[name] = PackFailure(name, "?", f"unreadable record: {_short(exc)}")
            return
        self._latest[name] = entry_of(record, offset)

    def _take_legacy(self, value: bytes | None, offset: int) -> None:
        if value is None:
            self._legacy = []
            self.failures.pop(LEGACY_RULESET_KEY, None)
            return
        try:
            self._legacy = legacy_entries(RuleSetMessage.model_validate_json(value), offset)
        except ValidationError as exc:
            self.failures[LEGACY_RULESET_KEY] = PackFailure(
                LEGACY_RULESET_KEY, "?", f"unreadable record: {_short(exc)}"
            )

    @property
    def has_packs(self) -> bool:
        """True when the topic holds at least one pack (else workers use the pack files)."""
        return bool(self._legacy) or any(e is not None for e in self._latest.values())

    def plan(self) -> Plan:
        """Choose each pack's latest version, unless a rule id of it is held by another pack."""
        candidates = [e for e in self._latest.values() if e is not None] + self._legacy

        def priority(entry: PackEntry) -> tuple[int, int]:
            current = self.in_force.get(entry.key)
            unchanged = current is not None and current.version == entry.version
            return (2 if entry.legacy else 0 if unchanged else 1, entry.offset)

        holder: dict[str, str] = {}
        chosen: list[PackEntry] = []
        refused: list[PackFailure] = []
        for entry in sorted(candidates, key=priority):
            taken = _taken(entry, holder)
            if taken and entry.legacy:
                continue  # a migrated pack replaces its old copy
            if taken:
                refused.append(PackFailure(entry.key, entry.version, taken))
                previous = self.in_force.get(entry.key)
                if previous is None or previous.version == entry.version:
                    continue
                if _taken(previous, holder):
                    continue
                entry = previous
            for rule in entry.pack.rules:
                holder[rule.id] = entry.key
            chosen.append(entry)
        chosen.sort(key=lambda e: (e.legacy, e.key))
        trial = frozenset(
            e.key
            for e in chosen
            if (current := self.in_force.get(e.key)) is None or current.version != e.version
        )
        fallback = {k: self.in_force[k] for k in trial if k in self.in_force}
        return Plan(tuple(chosen), trial, fallback, tuple(refused))

    def apply(self, outcome: Outcome) -> list[PackFailure]:
        """Record what compiling gave; return the failures not reported before."""
        if outcome.rules is not None:
            self.in_force = {e.key: e for e in outcome.chosen}
        fresh = []
        for key in outcome.settled:
            self.failures.pop(key, None)
        for failure in outcome.failures:
            known = self.failures.get(failure.key)
            if known is None or (known.version, known.error) != (failure.version, failure.error):
                fresh.append(failure)
            self.failures[failure.key] = failure
        return fresh


def compile_plan(plan: Plan, compile_packs: Compile, in_force: str | None = None) -> Outcome:
    """Compile the plan's packs; a new version that fails is replaced by its previous one.

    When the union does not compile, each new version is compiled alone to
    find the ones at fault; those fall back to the version in force (or are
    left out), and the rest is compiled again, unless that is the rule set
    of version ``in_force`` (the one installed): then the outcome has no
    rule set, meaning "keep it". Runs off the event loop.
    """
    failures = list(plan.refused)
    settled = plan.trial | {f.key for f in plan.refused}
    chosen = list(plan.chosen)
    try:
        return Outcome(
            compile_packs([e.pack for e in chosen], plan.version),
            tuple(chosen),
            tuple(failures),
            settled,
        )
    except Exception as exc:  # any error of any pack: find whose
        whole = exc
    faulty: dict[str, str] = {}
    for entry in chosen:
        if entry.key not in plan.trial:
            continue
        try:
            compile_packs([entry.pack], entry.version)
        except Exception as exc:  # this pack's own error, reported with its key
            faulty[entry.key] = _short(exc)
    if not faulty:
        failures += [PackFailure(k, _version(chosen, k), _short(whole)) for k in sorted(plan.trial)]
        return Outcome(None, tuple(chosen), tuple(failures), settled)
    failures += [PackFailure(k, _version(chosen, k), error) for k, error in faulty.items()]
    kept = [plan.fallback.get(e.key) if e.key in faulty else e for e in chosen]
    chosen = [e for e in kept if e is not None]
    if union_version(chosen) == in_force:
        return Outcome(None, tuple(chosen), tuple(failures), settled)
    try:
        rules = compile_packs([e.pack for e in chosen], union_version(chosen))
    except Exception as exc:  # unexplained: keep the rule set in force
        failures += [
            PackFailure(k, _version(plan.chosen, k), _short(exc))
            for k in sorted(plan.trial - faulty.keys())
        ]
        return Outcome(None, tuple(chosen), tuple(failures), settled)
    return Outcome(rules, tuple(chosen), tuple(failures), settled)


def _taken(entry: PackEntry, holder: dict[str, str]) -> str:
    """Say which of ``entry``'s rule ids other packs hold ('' when none)."""
    clashes = sorted({rule.id for rule in entry.pack.rules if rule.id in holder})
    if not clashes:
        return ""
    owners = sorted({holder[rule_id] for rule_id in clashes})
    shown = ", ".join(clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
    return f"rule ids already used by pack {', '.join(owners)}: {shown}"


def _version(entries: Sequence[PackEntry], key: str) -> str:
    return next((e.version for e in entries if e.key == key), "?")


def _short(exc: BaseException, limit: int = 2_000) -> str:
    problems = getattr(exc, "problems", None)  # a RulePackError: its located problems, no heading
    text = "; ".join(problems) if problems else str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
