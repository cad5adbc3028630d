"""The ``Silence``: a period during which matching alerts are recorded but not sent.

Silences travel on the compacted ``silences`` topic keyed by their id, so
every notifier instance reads the same set. Expiring a silence writes it
again with ``ends_at`` set to the moment of expiry: the history stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.common import Message, Timestamp, utcnow
from schemas.patterns import compile_pattern

SILENCE_SCHEMA_VERSION: Literal[1] = 1

SILENCE_LABELS = ("category", "severity", "rule_id", "story_id", "tag", "entity", "receiver")
"""The alert labels a matcher can name; ``tag`` and ``entity`` match any of an alert's."""


class Matcher(Message):
    """One condition on an alert label: ``name=value``, ``name!=value`` or ``name=~regex``.

    A regex is RE2 syntax and must match the whole value (as in Alertmanager).
    It is compiled when the matcher is made, so a pattern RE2 refuses is an
    error at creation (command line, dashboard) and a silence holding one is
    never applied.
    """

    name: Literal["category", "severity", "rule_id", "story_id", "tag", "entity", "receiver"]
    op: Literal["=", "!=", "=~"] = "="
    value: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.op == "=~":
            compile_pattern(self.value)  # its ValueError is the validation error
        return self

    def matches(self, labels: Mapping[str, Set[str]]) -> bool:
        """Return True if the label values satisfy this matcher.

        A multi-valued label (``tag``, ``entity``) satisfies ``=`` and ``=~``
        when any value does, and ``!=`` when no value equals ``value``.
        """
        values = labels.get(self.name, frozenset())
        if self.op == "=":
            return self.value in values
        if self.op == "!=":
            return self.value not in values
        pattern = compile_pattern(self.value)
        return any(pattern.fullmatch(value) for value in values)

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


class Silence(Message):
    """A silence: every matcher must hold for an alert to be silenced."""

    schema_version: Literal[1] = SILENCE_SCHEMA_VERSION
    id: Annotated[str, Field(min_length=1)]
    matchers: Annotated[tuple[Matcher, ...], Field(min_length=1)]
    starts_at: Timestamp = Field(default_factory=utcnow)
    ends_at: Timestamp
    comment: Annotated[str, Field(min_length=1)]
    created_by: str = "unknown"
    created_at: Timestamp = Field(default_factory=utcnow)

    def active(self, now: datetime) -> bool:
        """Return True if the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at

    def silences(self, labels: Mapping[str, Set[str]], now: datetime) -> bool:
        """Return True if the silence is active and every matcher holds for ``labels``."""
        return self.active(now) and all(m.matches(labels) for m in self.matchers)
