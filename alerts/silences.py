"""Silences: parse the command line's matchers, and decide whether an alert is silenced."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import re2
from pydantic import ValidationError

from alerts.labels import alert_labels
from schemas import Alert, ConfigError
from schemas.common import utcnow
from schemas.patterns import re2_options
from schemas.silences import SILENCE_LABELS, Matcher, Silence

# RE2, as the text is a person's: no input makes it backtrack.
_MATCHER = re2.compile(r"([a-z_]+)\s*(=~|!=|=)\s*(\S.*)", re2_options())


def parse_matcher(text: str) -> Matcher:
    """Parse ``category=sanctions``, ``severity!=low`` or ``rule_id=~oil\\..*``.

    Raises:
        ConfigError: the text is not ``label<op>value`` with a known label.
    """
    match = _MATCHER.fullmatch(text.strip())
    shown = text if len(text) <= 80 else f"{text[:77]}..."
    if not match or match.group(1) not in SILENCE_LABELS:
        raise ConfigError(
            f"--match {shown!r}: write LABEL=VALUE (or != , =~ for a regex) with LABEL one of "
            f"{', '.join(SILENCE_LABELS)}"
        )
    name, op, value = match.groups()
    try:
        return Matcher.model_validate({"name": name, "op": op, "value": value})
    except ValidationError as exc:
        raise ConfigError(f"--match {shown!r}: {exc.errors()[0]['msg']}") from None


def new_silence(
    matchers: list[Matcher],
    duration: timedelta,
    comment: str,
    author: str,
    now: datetime | None = None,
) -> Silence:
    """Return a new silence starting at ``now`` and lasting ``duration``.

    Raises:
        ConfigError: no matcher, an empty comment, or a duration that is not positive.
    """
    if not matchers:
        raise ConfigError("a silence needs at least one --match LABEL=VALUE")
    if duration <= timedelta(0):
        raise ConfigError("--for must be a positive duration such as 30m, 2h or 1d")
    if not comment.strip():
        raise ConfigError("--comment must say why the alerts are silenced")
    start = now or utcnow()
    return Silence(
        id=uuid.uuid4().hex[:12],
        matchers=tuple(matchers),
        starts_at=start,
        ends_at=start + duration,
        comment=comment,
        created_by=author,
        created_at=start,
    )


def expired(silence: Silence, now: datetime | None = None) -> Silence:
    """Return ``silence`` ending at ``now`` (no change if it already ended)."""
    at = now or utcnow()
    if silence.ends_at <= at:
        return silence
    return silence.model_copy(update={"ends_at": max(at, silence.starts_at)})


class SilenceSet:
    """The silences known to this process, latest version of each id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Silence] = {}

    def put(self, silence: Silence) -> None:
        """Add or replace a silence (an expiry is a replacement)."""
        self._by_id[silence.id] = silence

    def remove(self, silence_id: str) -> None:
        """Forget a silence (a tombstone on the compacted topic)."""
        self._by_id.pop(silence_id, None)

    def silencing(self, alert: Alert, receiver: str, now: datetime) -> Silence | None:
        """Return the first active silence matching ``alert`` for ``receiver``, or None."""
        labels = alert_labels(alert, receiver)
        for silence in self._by_id.values():
            if silence.silences(labels, now):
                return silence
        return None

    def all(self) -> list[Silence]:
        """Every silence, newest first."""
        return sorted(self._by_id.values(), key=lambda s: s.created_at, reverse=True)
