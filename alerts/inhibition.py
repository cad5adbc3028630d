"""Inhibition, as Alertmanager's ``inhibit_rules``: a firing alert mutes related ones.

A rule of the route file names source matchers, target matchers, the labels
both alerts must share (``equal``) and how long a source mutes (``for``)::

    inhibit_rules:
      - source_matchers: [category=military_offensive, severity=high]
        target_matchers: [category=peace_talks]
        equal: [story_id]
        for: 6h

An alert matching every source matcher mutes, for ``for`` after it was
created, every alert that matches every target matcher and shares a value of
each ``equal`` label (``story_id``, ``entity``, ``category``...; for the
multi-valued ``entity`` and ``tag``, one shared value is enough). A target is
muted when it has not been sent yet: on arrival, and again just before its
group is sent, so a source arriving while the target waits in a group still
mutes it. An alert never mutes itself. Muted alerts are recorded in the
delivery ledger as ``inhibited``, naming the source, and are never lost.

Pure data, with time passed in: :class:`Inhibitor` remembers the sources of
the last ``for`` (at most :data:`MAX_SOURCES`, oldest forgotten first). The
notifier feeds it every alert it reads, and at start the alerts of the
longest ``for`` back (:func:`alerts.compacted.read_since`), so a restart
forgets no source.

When clustering merges story B into story A (an assignment on the stories
topic naming B in ``merged``, :func:`story_merges`), a source keyed to B moves
to A as the aggregation state does: its ``story_id`` counts as A's, so it
mutes A's alerts, and an alert of B arriving later is compared as A's too.
Once a rule compares ``story_id``, the notifier reads the merges of the
longest ``for`` back and follows the topic; at most :data:`MAX_MERGES` are
kept, oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.labels import Labels, alert_labels
from alerts.silences import parse_matcher
from schemas import Alert, ConfigError, Matcher
from schemas.rules import parse_duration
from schemas.stories import STORY_RECORD, StoryAssignment, StoryMerges

MAX_SOURCES = 10_000
MAX_MERGES = 100_000
EQUAL_LABELS = ("category", "severity", "rule_id", "story_id", "policy", "tag", "entity")
"""Labels an inhibit rule may require to be shared."""


def _matchers(value: Any) -> Any:
    """Accept matchers as text (``category=sanctions``) or as mappings."""
    if not isinstance(value, list | tuple):
        return value
    parsed = []
    for item in value:
        if isinstance(item, str):
            try:
                item = parse_matcher(item)
            except ConfigError as exc:
                raise ValueError(str(exc).replace("--match ", "")) from None
        parsed.append(item)
    return parsed


class InhibitRule(BaseModel):
    """One entry of ``inhibit_rules:`` in the route file."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source_matchers: tuple[Matcher, ...] = Field(min_length=1)
    target_matchers: tuple[Matcher, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()
    for_: timedelta = Field(default=timedelta(hours=1), alias="for")

    @field_validator("source_matchers", "target_matchers", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _matchers(value)

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _no_receiver(cls, value: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
        if any(m.name == "receiver" for m in value):
            raise ValueError("inhibition applies to every receiver: a matcher cannot name one")
        return value

    @field_validator("equal")
    @classmethod
    def _known_labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in EQUAL_LABELS]
        if unknown:
            raise ValueError(f"cannot require equal {unknown}; use some of {list(EQUAL_LABELS)}")
        return value

    @field_validator("for_", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("for must be a positive duration such as 30m or 6h")
        return duration


@dataclass(frozen=True)
class Muting:
    """Why an alert is muted: the rule (its index in the file) and the source alert."""

    rule: int
    source_key: str
    source_rule: str

    def __str__(self) -> str:
        return f"inhibit_rules[{self.rule}]: source {self.source_key} ({self.source_rule})"


@dataclass(frozen=True)
class _Source:
    key: str
    rule_id: str
    labels: Labels
    created_at: datetime


class Inhibitor:
    """The inhibit rules and the source alerts that are firing."""

    def __init__(self, rules: Sequence[InhibitRule], max_sources: int = MAX_SOURCES) -> None:
        self.rules = tuple(rules)
        self.longest = max((rule.for_ for rule in self.rules), default=timedelta(0))
        self._max = max_sources
        self._sources: list[OrderedDict[str, _Source]] = [OrderedDict() for _ in self.rules]
        self._merges = StoryMerges(MAX_MERGES)

    def __len__(self) -> int:
        return sum(len(sources) for sources in self._sources)

    @property
    def compares_stories(self) -> bool:
        """True when a rule requires an equal ``story_id``: story merges matter then."""
        return any("story_id" in rule.equal for rule in self.rules)

    def reconfigured(self, rules: Sequence[InhibitRule]) -> Inhibitor:
        """An inhibitor of ``rules`` (a routes file published anew) that keeps the sources of rules it had.

        A rule that is new starts with no source: alerts that fired before it
        was published do not mute.
        """
        fresh = Inhibitor(rules, self._max)
        fresh._merges = self._merges
        for index, rule in enumerate(fresh.rules):
            if rule in self.rules:
                fresh._sources[index] = self._sources[self.rules.index(rule)]
        return fresh

    def observe(self, alert: Alert, now: datetime) -> None:
        """Remember ``alert`` as a source of every rule whose source matchers it meets."""
        if not self.rules:
            return
        labels = alert_labels(alert)
        for index, rule in enumerate(self.rules):
            if alert.created_at + rule.for_ <= now:
                continue
            if all(m.matches(labels) for m in rule.source_matchers):
                sources = self._sources[index]
                sources[alert.key] = _Source(alert.key, alert.rule_id, labels, alert.created_at)
                while len(sources) > self._max:
                    sources.popitem(last=False)

    def merge(self, absorbed: str, into: str) -> None:
        """Story ``absorbed`` was merged into ``into``: its sources and alerts are ``into``'s now."""
        self._merges.record(absorbed, into)

    def _shared(self, name: str, target: Labels, source: Labels) -> bool:
        if name != "story_id" or not self._merges:
            return bool(target[name] & source[name])
        current = self._merges.current
        return bool({current(s) for s in target[name]} & {current(s) for s in source[name]})

    def muting(self, alert: Alert, now: datetime) -> Muting | None:
        """The first source muting ``alert`` now (see the module docs), or None."""
        if not self.rules:
            return None
        labels = alert_labels(alert)
        for index, rule in enumerate(self.rules):
            if not all(m.matches(labels) for m in rule.target_matchers):
                continue
            sources = self._sources[index]
            for key in [k for k, s in sources.items() if s.created_at + rule.for_ <= now]:
                del sources[key]  # expired
            for source in sources.values():
                if source.key == alert.key or source.created_at + rule.for_ <= alert.created_at:
                    continue
                if all(self._shared(name, labels, source.labels) for name in rule.equal):
                    return Muting(index, source.key, source.rule_id)
        return None


def story_merges(value: bytes | None) -> list[tuple[str, str]]:
    """The (absorbed, into) story merges a record of the stories topic announces (none if unreadable)."""
    try:
        record = STORY_RECORD.validate_json(value or b"")
    except ValidationError:
        return []
    if not isinstance(record, StoryAssignment):
        return []
    decision = record.decision
    return [(absorbed, decision.story_id) for absorbed in decision.merged]
