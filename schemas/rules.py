"""Rule packs: what analysts write, and what travels on the compacted rules topic.

A rule is plain data here. Compiling it (parsing the query, building the
automaton) is the rule engine's job in ``streams.rules``; deciding when its
detections become alerts is aggregation's, driven by :class:`AlertPolicy`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Final, Literal

from pydantic import Field, TypeAdapter, field_validator, model_validator

from schemas.common import Message, Severity, TextField, Timestamp, utcnow
from schemas.users import USER_ID

RULE_ID = r"^[a-z0-9][a-z0-9_.-]{0,127}$"
DEFAULT_MIN_SCORE: Final = 1.0
"""The aboutness score a detection needs unless its rule says otherwise.

Evidence that the query matched whole in the title, the lead or the first
sentence of the body is worth 1 on its own; a lone match in a later sentence
is worth 0.4 to 0.8 and needs repetition, or the figures and entities the
rule asks for, to reach 1 (see ``streams.rules.aboutness``).
"""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Parse ``"30m"``, ``"6h"``, ``"2d"`` (or seconds as a number) into a timedelta.

    Raises:
        ValueError: the text is not a number followed by one of s, m, h, d, w.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    match = _DURATION.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a duration; write a number and a unit: 90s, 30m, 6h, 2d, 1w"
        )
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


SPIKE_DEFAULTS: dict[str, object] = {
    "group_by": "rule",
    "within": "1h",
    "count": 5,
    "sources": 3,
}
"""What a ``spike`` policy assumes for the fields it does not set."""
_SPIKE_GROUPS = ("rule", "category", "commodity", "entity")


class AlertPolicy(Message):
    """When detections of a rule become an alert.

    - ``immediate``: every detection of a new story is an alert (the default).
    - ``threshold``: ``count`` detections ``within`` a window, grouped by ``story``;
      by ``entity`` (each entity the article names); by ``entity:<kind>`` (each
      entity of that kind); or by ``commodity`` (each commodity a figure of the
      detection is bound to: "two reports of a Brent move", not every commodity a
      related headline names).
    - ``corroboration``: ``sources`` distinct sources report the same story.
    - ``spike``: breaking news. The articles of the last ``within`` (1h) on a
      key are counted against the key's usual volume at that hour of the week
      (the same window one, two... weeks back, over ``baseline``; the same hour
      on the previous days while less than a week is known). It alerts when
      the count reaches ``ratio`` times that baseline, ``count`` articles and
      ``sources`` distinct sources (5 and 3 unless set). The key is
      ``group_by``: ``rule`` (the default: the rule's own articles),
      ``category`` (every article a rule of the rule's category fired on),
      ``entity``, ``entity:<kind>`` (``entity:country``) or ``commodity``.

    ``renotify_after`` is the cooldown: one alert per story per rule until the
    story changes materially (a new extracted figure, more sources) or the
    cooldown has passed. A spike in cooldown alerts again, as an update, when
    its count has doubled.
    """

    policy: Literal["immediate", "threshold", "corroboration", "spike"] = "immediate"
    count: Annotated[int, Field(ge=1)] = 1
    within: timedelta = timedelta(minutes=30)
    group_by: Annotated[
        str, Field(pattern=r"^(story|rule|category|commodity|entity(:[a-z_]+)?)$")
    ] = "story"
    sources: Annotated[int, Field(ge=1)] = 1
    renotify_after: timedelta = timedelta(hours=6)
    ratio: Annotated[float, Field(gt=1, le=1000)] = 3.0
    baseline: timedelta = timedelta(weeks=4)

    @model_validator(mode="before")
    @classmethod
    def _spike_defaults(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("policy") == "spike":
            return {**SPIKE_DEFAULTS, **data}
        return data

    @field_validator("within", "renotify_after", "baseline", mode="before")
    @classmethod
    def _duration(cls, value: str | int | float | timedelta) -> str | timedelta:
        # JSON dumps of this model carry ISO 8601 durations ("PT30M"): let
        # pydantic read those back, so a RuleSetMessage survives the rules topic.
        if isinstance(value, str) and value.strip().upper().startswith("P"):
            return value.strip()
        return parse_duration(value)

    @model_validator(mode="after")
    def _coherent(self) -> AlertPolicy:
        kind = self.group_by.partition(":")[0]
        if self.policy == "spike":
            if kind not in _SPIKE_GROUPS:
                raise ValueError(
                    f"a spike cannot group_by {self.group_by}: use rule, category, commodity, "
                    "entity or entity:<kind>"
                )
            if not timedelta(minutes=5) <= self.within <= timedelta(days=1):
                raise ValueError("a spike's window (within) must be between 5m and 1d")
            if not timedelta(days=1) <= self.baseline <= timedelta(weeks=12):
                raise ValueError("a spike's baseline must be between 1d and 12w")
        elif kind in ("rule", "category"):
            raise ValueError(f"group_by {self.group_by} is for the spike policy only")
        return self


class EntityRequirement(Message):
    """Entities a rule needs: at least one of ``any``, all of ``all``, none of ``none``."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()


class RuleExamples(Message):
    """Texts the rule must match and must not match; ``wirewatch rules test`` enforces them."""

    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


class RuleSpec(Message):
    """One analyst rule as written in a pack.

    ``query`` is the Boolean query; ``queries`` optionally adds per-language
    queries (``{ru: ..., uk: ...}``) used for articles in that language.
    ``where`` is a condition over extracted figures, in the engine's small
    expression language (``abs(change_pct) >= 2 or extreme is not null``).
    ``min_score`` is the aboutness score a detection needs: 0 fires on any
    match, as a plain keyword alert would.
    """

    id: Annotated[str, Field(pattern=RULE_ID)]
    title: Annotated[str, Field(min_length=1)]
    category: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    severity: Severity
    query: Annotated[str, Field(min_length=1)]
    queries: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ()
    # at least one: with none, NOT x holds on every article and nothing positive can fire
    fields: Annotated[tuple[TextField, ...], Field(min_length=1)] = (
        TextField.TITLE,
        TextField.SUMMARY,
        TextField.BODY,
    )
    language: str | None = None
    entities: EntityRequirement = EntityRequirement()
    extract: tuple[Literal["price", "spread", "change_pct", "extreme"], ...] = ()
    where: str | None = None
    min_score: Annotated[float, Field(ge=0, le=100)] = DEFAULT_MIN_SCORE
    examples: RuleExamples = RuleExamples()
    alert: AlertPolicy = AlertPolicy()
    enabled: bool = True


class RulePack(Message):
    """A YAML file of rules, as loaded: its origin and its rules."""

    name: str
    source: str = ""
    rules: tuple[RuleSpec, ...]


class RuleSetMessage(Message):
    """The rules topic's record before packs had owners: every pack under one key.

    Still read (key :data:`LEGACY_RULESET_KEY`), so a worker upgraded before
    anyone publishes again keeps the rules in force; the first publication of
    packs splits it into :class:`PackRecord` s and deletes it. ``version`` is
    a hash of the packs' content.
    """

    schema_version: Literal[1] = 1
    version: str
    packs: tuple[RulePack, ...]
    published_by: str = ""


PACK_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
"""Pack names: a pack file's stem, lower case; no ``/``, which separates owner and name."""

LEGACY_RULESET_KEY = "ruleset"
"""The one key of the rules topic before packs had owners (:class:`RuleSetMessage`)."""

PackAction = Literal["published", "rolled_back", "deleted"]


def pack_key(owner: str, name: str) -> str:
    """Return the rules-topic key of ``owner``'s pack ``name``: ``owner/name``."""
    return f"{owner}/{name}"


_RULES_JSON: TypeAdapter[tuple[RuleSpec, ...]] = TypeAdapter(tuple[RuleSpec, ...])


def pack_version(rules: Sequence[RuleSpec]) -> str:
    """Return a short hash of a pack's rules: the same rules always have the same version."""
    # pydantic writes fields in their declared order, so the JSON is canonical for a model.
    return hashlib.sha256(_RULES_JSON.dump_json(tuple(rules))).hexdigest()[:12]


class PackRecord(Message):
    """One owner's rule pack as published, under the key ``owner/name``.

    The rules topic (compacted) keeps the latest record of every pack, and a
    deleted pack is a tombstone there; the rules-history topic (not compacted)
    keeps every record, deletions included (``action`` ``deleted``, no rules),
    for ``rules history``, ``diff`` and ``rollback``. A rule set is the union
    of the packs on the rules topic.
    """

    schema_version: Literal[1] = 1
    owner: Annotated[str, Field(pattern=USER_ID)]
    name: Annotated[str, Field(pattern=PACK_NAME)]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    action: PackAction = "published"
    previous_version: str | None = None
    published_at: Timestamp = Field(default_factory=utcnow)
    published_by: Annotated[str, Field(min_length=1, max_length=200)]
    source: str = ""
    rules: tuple[RuleSpec, ...] = ()

    @property
    def key(self) -> str:
        """The record's key on both topics: ``owner/name``."""
        return pack_key(self.owner, self.name)

    def pack(self) -> RulePack:
        """The pack to compile, named by its key so errors say whose pack it is."""
        return RulePack(name=self.key, source=self.source or self.key, rules=self.rules)

    def encode(self) -> bytes:
        """The record's bytes on the topics: defaults left out, so large packs stay small."""
        return self.model_dump_json(exclude_defaults=True).encode("utf-8")
