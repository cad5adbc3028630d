"""Building blocks shared by every message model."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every model that travels on a Wirewatch topic: frozen and strict."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Severity(StrEnum):
    """How urgent a detection or alert is, lowest first."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order of severities: info=0 ... critical=4."""
        return list(Severity).index(self)


class TextField(StrEnum):
    """The article fields a rule can match and a span can point into."""

    TITLE = "title"
    SUMMARY = "summary"
    BODY = "body"


class Span(Message):
    """A matched piece of an article: ``article.<field>[start:end] == text``."""

    field: TextField
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]
    text: str
    term: str = ""


Timestamp = AwareDatetime
