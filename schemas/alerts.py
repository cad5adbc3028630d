"""The ``Alert``: what aggregation decided a person should be told, with its evidence."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.articles import ArticleKind, PageRef
from schemas.common import Message, Timestamp, utcnow
from schemas.detections import EntityMention, ExtractedValue, FigureChange, RuleHeader

ALERT_SCHEMA_VERSION: Literal[1] = 1


class Evidence(Message):
    """One article behind an alert, with the snippet that shows why the rule fired.

    ``kind`` ``teaser``: the article is a headline read on the page ``found_on``.
    """

    article_id: str
    url: str | None = None
    source: str
    title: str
    published_at: Timestamp | None = None
    kind: ArticleKind = "article"
    found_on: PageRef | None = None
    snippet: str = ""
    snippet_highlights: tuple[tuple[int, int], ...] = ()


class StoryCount(Message):
    """One story of a spike: how many of the window's articles it has, from how many sources."""

    story_id: str
    title: str
    url: str | None = None
    articles: Annotated[int, Field(ge=1)]
    sources: Annotated[int, Field(ge=1)]


class SpikeFigures(Message):
    """Why a spike alert fired: the window's count against its baseline.

    ``baseline`` is the mean count of the same window ``slots`` weeks back
    (``reference`` ``week``), or on the previous days while less than a week
    is known (``day``). ``ratio`` is ``current`` over the baseline, a baseline
    under one article counting as one.
    """

    key: str
    window_s: float
    current: Annotated[int, Field(ge=0)]
    baseline: Annotated[float, Field(ge=0)]
    ratio: Annotated[float, Field(ge=0)]
    sources: Annotated[int, Field(ge=0)]
    reference: Literal["week", "day"]
    slots: Annotated[int, Field(ge=1)]
    top_stories: tuple[StoryCount, ...] = ()


class Alert(RuleHeader):
    """An alert on the alerts topic.

    ``key`` is the idempotency key: ``rule_id@rule_version/story_id/window``. A
    replay after a crash yields the same key, so receivers and the delivery
    ledger can drop repeats. ``is_update`` marks a re-notification of a story
    that changed materially (a new figure, more sources). ``change`` is the
    comparison a change rule made (both figures, their sources and times);
    ``spike`` the counts behind a spike alert.
    """

    schema_version: Literal[1] = ALERT_SCHEMA_VERSION
    key: Annotated[str, Field(min_length=1)]
    story_id: str
    policy: Literal["immediate", "threshold", "corroboration", "spike"] = "immediate"
    window_start: Timestamp | None = None
    evidence: tuple[Evidence, ...]
    entities: tuple[EntityMention, ...] = ()
    values: tuple[ExtractedValue, ...] = ()
    article_count: Annotated[int, Field(ge=1)] = 1
    source_count: Annotated[int, Field(ge=1)] = 1
    is_update: bool = False
    created_at: Timestamp = Field(default_factory=utcnow)
    change: FigureChange | None = None
    spike: SpikeFigures | None = None

    @property
    def headline(self) -> str:
        """The title of the first article behind the alert."""
        return self.evidence[0].title if self.evidence else self.rule_title
