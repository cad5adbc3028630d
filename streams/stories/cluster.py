"""Story clustering: which open story an article a rule fired on belongs to, and why.

One :class:`Clusterer` decides at a time (the cluster agent that owns the
story-requests partition), in the order of that partition, from state every
worker rebuilds by applying the decisions in the order of the stories topic.
A decision is therefore the same whoever makes it, and a replayed request
gets the answer it got the first time.

For each article:

1. **Copies first** (cheap): an article whose opening resembles an original
   member of an open story (MinHash, :mod:`streams.stories.copies`) is a
   near-verbatim copy: it joins that story, and counts as the source of the
   text it copies (a wire reprint on two domains is one source).
2. **Same event**: otherwise the open stories that share its rarest entities,
   numbers, figures or words are compared with it (:mod:`streams.stories.compare`);
   it joins the best one that scores at least the join score, or opens a story
   of its own, whose id is its own article id.
3. **Merges**: when it scores :data:`MERGE_MARGIN` above the join score with
   several stories, it bridges them: the younger ones are absorbed into the
   oldest, whose id they take. The aggregation state of the absorbed stories'
   story-grouped rules follows (a ``story_merge`` control per rule), so what
   was counted or alerted under the old id is not counted or sent again.

A page and the teasers read on it (:attr:`~schemas.stories.StoryFeatures.page`)
never share a story, by joining, copying or merging: a teaser reports another
story, and its figures are not the page's. The refusal is explained like the
others. The full article a teaser announced is not related to that page: it
may join the teaser's story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from schemas import Detection, Settings
from schemas.rules import AlertPolicy
from schemas.stories import (
    GroupControl,
    StoryAssignment,
    StoryDecision,
    StoryFeatures,
    StoryFence,
    StoryRequest,
)
from streams.aggregate import detection_key, group_keys
from streams.routes import Routed
from streams.stories.compare import SHOWN, ArticleView, Comparison, compare, tolerance
from streams.stories.copies import resemblance
from streams.stories.index import OpenStory, Placement, StoryIndex

CANDIDATES: Final = 12
"""Stories compared in full with each article (those sharing the most rare features)."""
PROBES: Final = 12
"""The article's rarest features looked up in the index."""
MERGE_MARGIN: Final = 0.05
MAX_MERGES: Final = 3

Policies = Callable[[str], AlertPolicy | None]
"""Rule id -> its alert policy, or None when the rule is gone."""
Router = Callable[[Sequence[Detection]], Routed]
"""Keys an article's placed detections (:func:`streams.routes.route` with the current rules)."""


@dataclass(frozen=True)
class ClusterOutcome:
    """What clustering made of one request.

    Attributes:
        assignment: the decision to publish on the stories topic; None for a
            replayed request (its decision is published already).
        detections: ``(key, detection)`` pairs to send, with the story id set.
        series: ``(series, detection)`` pairs of change rules, to be judged
            against their figure series' history first (:mod:`streams.series`).
        controls: ``(key, control)`` pairs to send for the stories absorbed.
        full: stories this article filled up (they absorb nothing more).
    """

    assignment: StoryAssignment | None
    detections: list[tuple[str, Detection]] = field(default_factory=list)
    controls: list[tuple[str, GroupControl]] = field(default_factory=list)
    full: list[str] = field(default_factory=list)
    series: list[tuple[str, Detection]] = field(default_factory=list)


class Clusterer:
    """Assigns articles to stories; holds the open stories of the window.

    Args:
        window_s: a story closes when nothing joined it for this long.
        max_open: the most stories kept open.
        max_articles: a story stops absorbing at this many articles.
        join_score: the score an article needs to join a story.
        copy_similarity: the resemblance of openings that makes an article a copy.
        policies: the alert policy of each rule (decides how detections are keyed).
        route: keys the detections instead (change rules by series, spike
            counts); without it, each is keyed by its rule's policy.
    """

    def __init__(
        self,
        *,
        window_s: float,
        max_open: int,
        max_articles: int,
        join_score: float,
        copy_similarity: float,
        policies: Policies,
        route: Router | None = None,
    ) -> None:
        self.index = StoryIndex(window_s=window_s, max_open=max_open, max_articles=max_articles)
        self.join_score = join_score
        self.copy_similarity = copy_similarity
        self._policies = policies
        self._route = route

    @classmethod
    def from_settings(
        cls, settings: Settings, policies: Policies, route: Router | None = None
    ) -> Clusterer:
        """Return a clusterer configured by ``settings`` (``story_*``)."""
        return cls(
            window_s=settings.story_window_s,
            max_open=settings.story_max_open,
            max_articles=settings.story_max_articles,
            join_score=settings.story_join_score,
            copy_similarity=settings.story_copy_similarity,
            policies=policies,
            route=route,
        )

    def assign(self, request: StoryRequest) -> ClusterOutcome:
        """Decide the story of ``request``'s article, apply the decision, and key its detections."""
        features = request.features
        known = self.index.known.get(features.article_id)
        if known is not None:
            routed = self._keyed(request.detections, known)
            return ClusterOutcome(None, routed.detections, series=routed.series)
        self.index.expire(features.record_at.timestamp())
        story_rules = self._story_rules(request.detections)
        decision, copy_source = self.decide(features)
        controls = [
            (detection_key(rule_id, f"story:{absorbed}"), control)
            for absorbed in decision.merged
            for rule_id in self.index.stories[absorbed].rules
            for control in [
                GroupControl(
                    type="story_merge",
                    rule_id=rule_id,
                    from_group=f"story:{absorbed}",
                    into_group=f"story:{decision.story_id}",
                    at=features.record_at,
                )
            ]
        ]
        assignment = StoryAssignment(
            features=features,
            decision=decision,
            copy_of_source=copy_source,
            story_rules=story_rules,
        )
        full = self.index.apply(assignment)
        placement = Placement(decision.story_id, decision.copy_of, copy_source)
        routed = self._keyed(request.detections, placement)
        return ClusterOutcome(assignment, routed.detections, controls, full, routed.series)

    def observe(self, record: StoryAssignment | StoryFence) -> list[str]:
        """Apply a record of the stories topic (another worker's decision, or this one's read back)."""
        if isinstance(record, StoryFence):
            return []
        return self.index.apply(record)

    def decide(self, features: StoryFeatures) -> tuple[StoryDecision, str | None]:
        """Return the decision for an article and, for a copy, the source of its original.

        Pure: the state is not changed (:meth:`assign` applies the decision).
        """
        copy = self._copy_of(features)
        if copy is not None:
            return copy
        view = ArticleView.of(features, self.index)
        comparisons = [
            compare(view, story, self.index, self.join_score)
            for story in self.index.candidates(view.weights, CANDIDATES, PROBES)
        ]
        comparisons.sort(key=lambda c: (-c.score, c.story.seq))
        joinable = [c for c in comparisons if c.refused is None]
        if not joinable:
            best = comparisons[0] if comparisons else None
            return _decision("opened", features.article_id, best, self.join_score), None
        best = joinable[0]
        into, merged = self._bridge(best, joinable)
        decision = _decision("joined", into.story_id, best, self.join_score)
        return decision.model_copy(update={"merged": merged}), None

    def _copy_of(self, features: StoryFeatures) -> tuple[StoryDecision, str | None] | None:
        if not features.sketch:
            return None
        found: tuple[float, int, OpenStory, str, str] | None = None
        for story in self.index.copy_candidates(features.sketch):
            if story.members >= self.index.max_articles or story.keeps_apart(
                features.kind, features.page
            ):
                continue
            for sketch, original, source in story.sketches:
                score = resemblance(features.sketch, sketch)
                if score >= self.copy_similarity and (
                    found is None or (-score, story.seq) < (-found[0], found[1])
                ):
                    found = (score, story.seq, story, original, source)
        if found is None:
            return None
        score, _, story, original, source = found
        decision = StoryDecision(
            kind="copy",
            story_id=story.story_id,
            candidate=story.story_id,
            copy_of=original,
            copy_similarity=round(score, 4),
            gap_h=round(abs(features.event_at.timestamp() - story.last_at) / 3600, 2),
        )
        return decision, source

    def _bridge(
        self, best: Comparison, joinable: list[Comparison]
    ) -> tuple[OpenStory, tuple[str, ...]]:
        """The story the article joins, and the stories it bridges into it (youngest absorbed)."""
        bridged = [c.story for c in joinable if c.score >= self.join_score + MERGE_MARGIN]
        if best.story not in bridged or len(bridged) < 2:
            return best.story, ()
        bridged.sort(key=lambda s: s.seq)
        into = bridged[0]
        size = into.members
        merged: list[str] = []
        for story in bridged[1:]:
            if len(merged) >= MAX_MERGES or size + story.members >= self.index.max_articles:
                continue
            if _figures_disagree(into, story) or _pages_apart(into, story):
                continue
            merged.append(story.story_id)
            size += story.members
        return into, tuple(merged)

    def _story_rules(self, detections: tuple[Detection, ...]) -> tuple[str, ...]:
        rules: dict[str, None] = {}
        for detection in detections:
            policy = self._policies(detection.rule_id)
            if policy is not None and any(
                group.startswith("story:") for group in group_keys(detection, policy)
            ):
                rules.setdefault(detection.rule_id)
        return tuple(rules)

    def _keyed(self, detections: tuple[Detection, ...], placement: Placement) -> Routed:
        update = {
            "story_id": placement.story_id,
            "copy_of": placement.copy_of,
            "copy_of_source": placement.copy_of_source,
        }
        placed = [detection.model_copy(update=update) for detection in detections]
        if self._route is not None:
            return self._route(placed)
        keyed: list[tuple[str, Detection]] = []
        for detection in placed:
            policy = self._policies(detection.rule_id)
            if policy is None:
                continue
            for group in group_keys(detection, policy):
                keyed.append((detection_key(detection.rule_id, group), detection))
        return Routed(keyed)


def _decision(
    kind: str, story_id: str, comparison: Comparison | None, threshold: float
) -> StoryDecision:
    if comparison is None:
        return StoryDecision(kind="opened", story_id=story_id, threshold=threshold)
    return StoryDecision(
        kind="joined" if kind == "joined" else "opened",
        story_id=story_id,
        candidate=comparison.story.story_id,
        similarity=comparison.similarity,
        threshold=threshold,
        shared_entities=comparison.heaviest("e"),
        shared_numbers=comparison.heaviest("n"),
        shared_terms=comparison.heaviest("t"),
        shared_figures=tuple(comparison.agreeing[:SHOWN]),
        conflicts=tuple(comparison.conflicts[:SHOWN]),
        gap_h=comparison.gap_h,
        refused=comparison.refused if kind == "opened" else None,
    )


def _pages_apart(a: OpenStory, b: OpenStory) -> bool:
    """True when one story holds a page and the other a teaser read on it."""
    return any(b.keeps_apart(*entry.split(":", 1)) for entry in a.pages)


def _figures_disagree(a: OpenStory, b: OpenStory) -> bool:
    """True when two stories report different values for one figure series."""
    for series, value, _ in a.figures:
        if value is None:
            continue
        for other_series, other, _ in b.figures:
            if (
                other_series == series
                and other is not None
                and abs(value - other) > tolerance(series, value, other)
            ):
                return True
    return False
