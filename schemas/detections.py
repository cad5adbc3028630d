"""The ``Detection``: one rule firing on one article, with the evidence why."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.articles import ArticleKind, PageRef
from schemas.common import Message, Severity, Span, TextField, Timestamp, utcnow

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

    @property
    def series(self) -> str | None:
        """The series this figure is a point of, or None (not a level, or bound to no commodity).

        A price or a spread with a value and a commodity: ``kind|commodity|benchmark|currency|unit``
        (``spread|commodity:urals|commodity:brent|USD|bbl``). Reports of one series compare.
        """
        if self.kind not in ("price", "spread") or self.value is None or not self.commodity:
            return None
        parts = (self.kind, self.commodity, self.benchmark, self.currency, self.unit)
        return "|".join(part or "" for part in parts)


class FigurePoint(Message):
    """One reported value of a figure series: how much, when, and the article that said so."""

    value: float
    at: Timestamp
    article_id: str
    source: str
    title: str = ""
    url: str | None = None


class FigureChange(Message):
    """A figure compared with its series' history by a change rule (``previous()``...).

    ``current`` is this article's figure; ``reference`` the one it was compared
    with: the previous report, else the one ``since_s`` seconds earlier that
    ``change_pct_since`` used (None when the condition held without one, as
    ``previous(spread) is null`` does on a series' first report). ``delta`` is
    ``current - reference``; ``change_pct`` the change in percent (None when
    the reference is 0).
    """

    series: str
    level: Literal["price", "spread"]
    commodity: str
    benchmark: str | None = None
    currency: str | None = None
    unit: str | None = None
    since_s: float | None = None
    current: FigurePoint
    reference: FigurePoint | None = None
    delta: float | None = None
    change_pct: float | None = None


class ScorePart(Message):
    """One reason for a detection's aboutness score.

    ``evidence`` is one place where the rule's terms matched: a field, and in
    the body the sentence (0 is the first); ``weight`` is what that place is
    worth on its own (where it is, and whether it holds as many distinct terms
    as the rule's evidence as a whole), ``counted`` what it added to the score:
    each further place counts half as much as the one before. ``figures`` and
    ``entities`` are the figures and entities the rule asks for, found.
    """

    kind: Literal["evidence", "figures", "entities"]
    field: TextField | None = None
    sentence: int | None = None
    terms: tuple[str, ...] = ()
    weight: float
    counted: float


class RuleHeader(Message):
    """The rule a detection, an alert or an aggregation group belongs to, as alerts name it."""

    rule_id: str
    rule_version: str
    rule_title: str
    category: str
    severity: Severity
    tags: tuple[str, ...] = ()

    def rule_header(self) -> RuleHeader:
        """The rule alone (of a detection or an alert)."""
        return RuleHeader(**{name: getattr(self, name) for name in RuleHeader.model_fields})


class Detection(RuleHeader):
    """A rule that fired on an article, carrying everything an alert needs.

    ``key`` is ``<article_id>/<rule_id>@<rule_version>``: deterministic, so a
    replay of the same article produces the same detection key. ``score`` is
    how much the article is about the rule's event (the sum of the
    ``counted`` of ``score_parts``); the rule fired because it reached the
    rule's ``min_score``. ``copy_of``
    and ``copy_of_source`` name the article (and its source) whose text this
    one reproduces near-verbatim: a wire reprint counts as that source. A
    detection of a teaser has ``article_kind`` ``teaser`` and ``found_on``
    naming the page it was read on. ``change`` is set on the detection of a
    change rule once its figure was compared with the series' history.
    """

    schema_version: Literal[1] = DETECTION_SCHEMA_VERSION
    key: str
    article_id: str
    story_id: str
    copy_of: str | None = None
    copy_of_source: str | None = None
    url: str | None = None
    source: str
    title: str
    published_at: Timestamp | None = None
    article_kind: ArticleKind = "article"
    found_on: PageRef | None = None
    spans: tuple[Span, ...] = ()
    snippet: str = ""
    snippet_highlights: tuple[tuple[int, int], ...] = ()
    entities: tuple[EntityMention, ...] = ()
    values: tuple[ExtractedValue, ...] = ()
    score: Annotated[float, Field(ge=0)] = 1.0
    score_parts: tuple[ScorePart, ...] = ()
    detected_at: Timestamp = Field(default_factory=utcnow)
    change: FigureChange | None = None
