"""The ``Detection``: one rule firing on one article, with the evidence why."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.articles import ArticleKind, PageRef
from schemas.common import Message, Severity, Span, Timestamp, utcnow

DETECTION_SCHEMA_VERSION: Literal[1] = 1


class EntityMention(Message):
    """An entity found in an article, by its normalised id (``country:RU``)."""

    id: str
    kind: str
    name: str
    spans: tuple[Span, ...] = ()


class ExtractedValue(Message):
    """A numeric fact read from the text: a price, a spread, a percent move or an extreme.

    ``kind`` is ``price``, ``spread``, ``change_pct`` or ``extreme``. ``commodity``
    is the entity id the figure is bound to (the nearest commodity mention),
    ``benchmark`` the second one of a spread (``Brent`` in "Urals to Brent").
    """

    kind: Literal["price", "spread", "change_pct", "extreme"]
    value: float | None = None
    currency: str | None = None
    unit: str | None = None
    commodity: str | None = None
    benchmark: str | None = None
    extreme: str | None = None
    direction: Literal["up", "down"] | None = None
    span: Span


class Detection(Message):
    """A rule that fired on an article, carrying everything an alert needs.

    ``key`` is ``<article_id>/<rule_id>@<rule_version>``: deterministic, so a
    replay of the same article produces the same detection key. A detection
    of a teaser has ``article_kind`` ``teaser`` and ``found_on`` naming the
    page it was read on.
    """

    schema_version: Literal[1] = DETECTION_SCHEMA_VERSION
    key: str
    article_id: str
    story_id: str
    url: str | None = None
    source: str
    title: str
    published_at: Timestamp | None = None
    article_kind: ArticleKind = "article"
    found_on: PageRef | None = None
    rule_id: str
    rule_version: str
    rule_title: str
    category: str
    severity: Severity
    tags: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()
    snippet: str = ""
    snippet_highlights: tuple[tuple[int, int], ...] = ()
    entities: tuple[EntityMention, ...] = ()
    values: tuple[ExtractedValue, ...] = ()
    score: Annotated[float, Field(ge=0)] = 1.0
    detected_at: Timestamp = Field(default_factory=utcnow)
