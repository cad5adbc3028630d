"""Stories: the messages of story clustering, and why an article joined its story.

Three topics carry them (the two internal ones are named after the pipeline's
app id, see :func:`schemas.kafka.story_topics`):

- ``<app>-story-requests`` (one partition): a :class:`StoryRequest` per article
  a rule fired on, from the detect agents to the single cluster agent;
- ``<app>-stories`` (one partition, kept for the story window): a
  :class:`StoryAssignment` per clustered article (its features, its story, why,
  and the stories its arrival merged), from which every worker rebuilds the
  clustering state; and :class:`StoryFence` markers a new owner of the
  requests partition writes to know when it has read all of its predecessor's;
- the detections topic carries, besides detections, :class:`GroupControl`
  records that move aggregation state from an absorbed story's groups to the
  story that absorbed it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter

from schemas.articles import ArticleKind
from schemas.common import Message, Timestamp
from schemas.detections import Detection


class StoryFigure(Message):
    """A figure as clustering compares it: its series and its value.

    ``series`` is ``<kind> <commodity>[/<benchmark>] [<unit>] [<extreme>]``,
    e.g. ``spread commodity:urals/commodity:brent USD/bbl``: two reports of one
    event give close values for a series, two days of a market give different ones.
    """

    series: str
    value: float | None = None
    text: str = ""


class StoryFeatures(Message):
    """What clustering needs of one article: language-independent evidence, terms and times.

    Attributes:
        event_at: when the article reports the event: its publication time,
            else (or when that lies in the future) its record time.
        record_at: the Kafka time of the article's record: clustering's clock,
            so a replay takes the same decisions.
        sketch: the smallest MinHash values of the article's opening (word
            4-shingles): near-verbatim copies share most of them.
        terms: stems of the title and lead, stop words left out.
        numbers: numbers written in the title or lead (``52``, ``19.4``), in any language.
        body_numbers: numbers written only later in the body.
        entities: gazetteer ids mentioned in the title or lead.
        body_entities: gazetteer ids mentioned only later in the body.
        figures: prices, spreads, moves and extremes read from the text.
        categories: the categories of the rules that fired.
        kind: the article's kind: ``teaser`` for a headline read on another page.
        page: the page a teaser was read on, or the article's own id when it
            closes with teasers: a page and its teasers report different
            stories, and never share one (a teaser's figures are not the page's).
    """

    article_id: str
    source: str
    title: str = ""
    url: str | None = None
    language: str | None = None
    event_at: Timestamp
    record_at: Timestamp
    sketch: tuple[int, ...] = ()
    terms: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    body_numbers: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    body_entities: tuple[str, ...] = ()
    figures: tuple[StoryFigure, ...] = ()
    categories: tuple[str, ...] = ()
    kind: ArticleKind = "article"
    page: str | None = None


class StoryRequest(Message):
    """An article a rule fired on, on its way to the cluster agent: its features and detections."""

    type: Literal["request"] = "request"
    features: StoryFeatures
    detections: tuple[Detection, ...]


class Similarity(Message):
    """How an article compares with one story, part by part (each from 0 to 1).

    ``terms`` is None when the article's language is not one of the story's
    (words cannot be compared across languages; entities and numbers can).
    ``specific`` counts the specific things both name: places, people,
    organisations, commodities, numbers and figures (1 for each in both titles
    or leads, half for one named later in the body).
    """

    score: float
    terms: float | None = None
    entities: float = 0.0
    numbers: float = 0.0
    categories: float = 0.0
    time: float = 1.0
    specific: float = 0.0


class StoryDecision(Message):
    """Why an article is in its story: the evidence for it, or against the best other candidate.

    Attributes:
        kind: ``opened`` a story of its own, ``joined`` one as a report of
            the same event, or is a near-verbatim ``copy`` of a member.
        story_id: the story the article is in.
        candidate: the story compared: the one joined, or the best one refused.
        similarity: the comparison with ``candidate``.
        threshold: the score needed to join.
        shared_entities, shared_numbers, shared_terms, shared_figures: what the
            article and ``candidate`` have in common (the heaviest first).
        conflicts: figures of one series whose values disagree (another day's price).
        gap_h: hours between the article's event time and the candidate's reports.
        refused: why ``candidate`` was not joined, when it was not.
        copy_of, copy_similarity: for a copy, the original article and the
            estimated resemblance of their openings.
        merged: stories this article bridged, absorbed into ``story_id``.
    """

    kind: Literal["opened", "joined", "copy"]
    story_id: str
    candidate: str | None = None
    similarity: Similarity | None = None
    threshold: float | None = None
    shared_entities: tuple[str, ...] = ()
    shared_numbers: tuple[str, ...] = ()
    shared_terms: tuple[str, ...] = ()
    shared_figures: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    gap_h: float | None = None
    refused: str | None = None
    copy_of: str | None = None
    copy_similarity: float | None = None
    merged: tuple[str, ...] = ()


class StoryAssignment(Message):
    """An article's place in a story, as the cluster agent decided it (on the stories topic).

    Attributes:
        copy_of_source: the source of the text a copy reproduces (None for an
            original): corroboration counts it instead of the copy's own source.
        story_rules: rules whose detections of this article are grouped by story:
            a merge moves their aggregation state.
    """

    type: Literal["assignment"] = "assignment"
    features: StoryFeatures
    decision: StoryDecision
    copy_of_source: str | None = None
    story_rules: tuple[str, ...] = ()


class StoryFence(Message):
    """A marker a worker writes when it takes over clustering; once it reads it back, it is caught up."""

    type: Literal["fence"] = "fence"
    token: str
    at: Timestamp


StoryRecord = Annotated[StoryAssignment | StoryFence, Field(discriminator="type")]
STORY_RECORD: TypeAdapter[StoryAssignment | StoryFence] = TypeAdapter(StoryRecord)
"""Validates a record of the stories topic: ``STORY_RECORD.validate_json(raw)``."""


class GroupControl(Message):
    """A record on the detections topic that moves one rule's aggregation state after a merge.

    ``story_merge`` goes to the absorbed story's group: its state moves on as
    a ``group_transfer`` to the group of the story that absorbed it, carrying
    that state (``state``, as aggregation stores it), so sources and alerts
    already counted are counted once.
    """

    type: Literal["story_merge", "group_transfer"]
    rule_id: str
    from_group: str
    into_group: str
    at: Timestamp
    state: str | None = None


def _record_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "detection"))
    return str(getattr(value, "type", "detection"))


DetectionsRecord = Annotated[
    Annotated[Detection, Tag("detection")]
    | Annotated[GroupControl, Tag("story_merge")]
    | Annotated[GroupControl, Tag("group_transfer")],
    Discriminator(_record_type),
]
DETECTIONS_RECORD: TypeAdapter[Detection | GroupControl] = TypeAdapter(DetectionsRecord)
"""Validates a record of the detections topic: a :class:`Detection` or a :class:`GroupControl`."""


MAX_MERGE_HOPS = 64
"""Merges followed from an absorbed story to the one it is part of (chains are short)."""


class StoryMerges:
    """Which story each absorbed story is part of now, after the merges clustering announced.

    Bounded: beyond ``capacity`` merges the oldest are forgotten. A merge the
    other way round of one already known (``b`` into ``a`` after ``a`` into
    ``b``) is refused, so no chain loops.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._into: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._into)

    def record(self, absorbed: str, into: str) -> str | None:
        """Note that ``absorbed`` was merged into ``into``; return the story it is part of now.

        Returns:
            None when the merge is refused (``into`` is part of ``absorbed`` already).
        """
        current = self.current(into)
        if current == absorbed:
            return None
        self._into[absorbed] = current
        self._into.move_to_end(absorbed)
        while len(self._into) > self.capacity:
            self._into.popitem(last=False)
        return current

    def current(self, story_id: str) -> str:
        """The story ``story_id`` is part of now: itself, or the one that absorbed it."""
        for _ in range(MAX_MERGE_HOPS):
            into = self._into.get(story_id)
            if into is None:
                break
            story_id = into
        return story_id
