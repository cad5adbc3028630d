"""Detection of one record: decode, validate, drop repeats, assign a story, run the rules.

No Kafka here: the detect agent hands each record to :meth:`Detector.detect`
and sends what comes back. Every refusal is an :class:`InvalidRecordError`
with a short reason, which the agent turns into a dead letter.

A record is validated as ``wirewatch produce`` validates its input, teasers
included: a page written to the topic by another client with its related
headlines still in the body is split here (:func:`schemas.article_input.build_articles`),
and its teasers are detected as the articles they would have been.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from schemas import Article, Detection, InvalidRecordError, Settings
from schemas.article_input import build_articles
from schemas.teasers import teaser_id
from streams.aggregate import detection_key, group_keys
from streams.dedup import RecentIds
from streams.rules import RuleSet
from streams.series import series_keys
from streams.stories import StoryEntry, StoryIndex, sketch_text


@dataclass(frozen=True)
class Outcome:
    """What detection made of one record.

    Attributes:
        article: the validated article.
        repeat: the article id was seen recently; nothing else was done.
        story: the article's story entry when it was newly indexed (to publish);
            only articles that fire a rule are indexed.
        detections: ``(key, detection)`` pairs to send, keyed by rule and group.
        series: ``(series, detection)`` pairs of change rules, to be judged
            against the series' history (:mod:`streams.series`).
        teasers: the outcomes of the teasers split off the record's page here.
    """

    article: Article
    repeat: bool = False
    story: StoryEntry | None = None
    detections: list[tuple[str, Detection]] = field(default_factory=list)
    series: list[tuple[str, Detection]] = field(default_factory=list)
    teasers: tuple[Outcome, ...] = ()

    @property
    def parts(self) -> tuple[Outcome, ...]:
        """This outcome and those of its teasers: everything to send."""
        return (self, *self.teasers)


def decode_articles(
    raw: bytes | None, *, origin: str, max_body_bytes: int, received_at: datetime | None = None
) -> list[Article]:
    """Turn the raw bytes of an articles record into its :class:`Article`, then its teasers.

    Raises:
        InvalidRecordError: reason ``empty``, ``invalid_utf8``, ``invalid_json``,
            or one of :func:`~schemas.article_input.build_article`'s reasons.
    """
    if not raw:
        raise InvalidRecordError("empty", "the record has no value", origin)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecordError("invalid_utf8", f"the value is not UTF-8: {exc}", origin) from None
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRecordError("invalid_json", f"the value is not JSON: {exc}", origin) from None
    return build_articles(
        record, origin=origin, max_body_bytes=max_body_bytes, received_at=received_at
    )


class Detector:
    """Per-worker detection state (recent ids, story index) around the current rule set.

    Args:
        settings: windows and limits.
        rules: returns the rule set to use now (it can be swapped between calls).
        clock: Unix seconds; injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        rules: Callable[[], RuleSet],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules = rules
        self._clock = clock
        self._max_body_bytes = settings.max_body_bytes
        self.recent = RecentIds(settings.dedup_window_s, settings.dedup_max_ids, clock)
        self.stories = StoryIndex(
            settings.story_window_s, settings.story_similarity, settings.story_max_entries
        )

    def detect(
        self, raw: bytes | None, *, origin: str, record_time: datetime | None = None
    ) -> Outcome:
        """Return the outcome of one raw articles record.

        Args:
            record_time: the Kafka timestamp of the record. It becomes the
                detections' ``detected_at`` (and the article's ``received_at``
                when the record has none), so a replay of the record yields
                the same times, hence the same alert windows and keys.

        Raises:
            InvalidRecordError: the record is not a valid article.
        """
        page, *teasers = decode_articles(
            raw, origin=origin, max_body_bytes=self._max_body_bytes, received_at=record_time
        )
        outcome = self.detect_article(page, record_time)
        if not teasers:
            return outcome
        parts = tuple(self.detect_article(teaser, record_time) for teaser in teasers)
        return replace(outcome, teasers=parts)

    def detect_article(self, article: Article, record_time: datetime | None = None) -> Outcome:
        """Return the outcome of one validated article (see :meth:`detect`)."""
        if self.recent.check_and_add(article.id):
            return Outcome(article, repeat=True)
        rules = self._rules()
        found = rules.evaluate(article, defer_history=True)
        if not found:
            # A story matters only for alerts: an article no rule fires on is not
            # sketched or indexed, which halves the cost of the common case.
            return Outcome(article)
        is_new = article.id not in self.stories
        text = "\n".join(filter(None, (article.title, article.summary, article.body)))
        story = self.stories.assign(
            article.id, sketch_text(text), self._clock(), apart_from=_kept_apart(article)
        )
        update: dict[str, object] = {"story_id": story.story_id}
        if record_time is not None:
            update["detected_at"] = record_time
        keyed: list[tuple[str, Detection]] = []
        by_series: list[tuple[str, Detection]] = []
        for detection in found:
            spec = rules.rules.get(detection.rule_id)
            if spec is None:
                continue
            detection = detection.model_copy(update=update)
            condition = rules.condition(detection.rule_id)
            if condition is not None and condition.level is not None:
                by_series.extend((s, detection) for s in series_keys(detection, condition.level))
                continue
            for group in group_keys(detection, spec.alert):
                keyed.append((detection_key(detection.rule_id, group), detection))
        keyed.extend(_category_spike_counts(rules, keyed))
        return Outcome(article, story=story if is_new else None, detections=keyed, series=by_series)


def _category_spike_counts(
    rules: RuleSet, keyed: list[tuple[str, Detection]]
) -> list[tuple[str, Detection]]:
    """The article once for each spike rule counting its category that did not fire on it itself.

    A spike ``group_by: category`` counts every article any rule of its
    category fired on; the detection is the first of that category.
    """
    fired = {detection.rule_id for _, detection in keyed}
    first: dict[str, Detection] = {}
    for _, detection in keyed:
        first.setdefault(detection.category, detection)
    return [
        (detection_key(spike, f"category:{category}"), detection)
        for category, detection in first.items()
        for spike in rules.category_spikes(category)
        if spike not in fired
    ]


def _kept_apart(article: Article) -> frozenset[str]:
    """The articles ``article`` must not share a story with: a page and its own teasers.

    A teaser is another story; in its page's story its figures would be
    taken for the page's (and the page's for the teaser's).
    """
    if article.found_on is not None:
        return frozenset({article.found_on.id})
    related = article.meta.get("related_headlines")
    if not isinstance(related, str):
        return frozenset()
    return frozenset(teaser_id(article.id, line) for line in related.split("\n") if line)
