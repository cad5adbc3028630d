"""Detection of one record: decode, validate, drop repeats, run the rules, describe it for clustering.

No Kafka here: the detect agent hands each record to :meth:`Detector.detect`
and sends what comes back. Every refusal is an :class:`InvalidRecordError`
with a short reason, which the agent turns into a dead letter. An article a
rule fired on leaves as a :class:`~schemas.stories.StoryRequest` (its
detections and story features) for the cluster agent, which gives it a story.

A record is validated as ``wirewatch produce`` validates its input, teasers
included: a page written to the topic by another client with its related
headlines still in the body is split here (:func:`schemas.article_input.build_articles`),
and its teasers are detected as the articles they would have been.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from schemas import Article, Detection, InvalidRecordError, Settings
from schemas.article_input import build_articles
from schemas.stories import StoryRequest
from streams.dedup import RecentIds
from streams.rules import RuleSet
from streams.rules.ruleset import ArticleFacts
from streams.stories.features import story_features


@dataclass(frozen=True)
class Outcome:
    """What detection made of one record.

    Attributes:
        article: the validated article.
        repeat: the article (its id and text) was seen recently; nothing else was done.
        request: the article's detections and story features, when a rule fired.
        teasers: the outcomes of the teasers split off the record's page here.
    """

    article: Article
    repeat: bool = False
    request: StoryRequest | None = None
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


def story_request(
    article: Article, detections: Sequence[Detection], facts: ArticleFacts, record_time: datetime
) -> StoryRequest:
    """Return the request that sends ``article``'s detections to clustering.

    Args:
        facts: the entities and figures the rules found (computed here if no rule needed them).
        record_time: the Kafka time of the article's record: the detections'
            ``detected_at``, so a replay yields the same alert windows and keys.
    """
    placed = tuple(d.model_copy(update={"detected_at": record_time}) for d in detections)
    features = story_features(article, placed, facts.mentions, facts.values, record_time)
    return StoryRequest(features=features, detections=placed)


def _text_digest(article: Article) -> str:
    """A short digest of the words rules read (title, summary, body)."""
    text = "\x00".join((article.title, article.summary or "", article.body))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class Detector:
    """Per-worker detection state (recent ids) around the current rule set.

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
        self._max_body_bytes = settings.max_body_bytes
        self.recent = RecentIds(settings.dedup_window_s, settings.dedup_max_ids, clock)

    def detect(
        self, raw: bytes | None, *, origin: str, record_time: datetime | None = None
    ) -> Outcome:
        """Return the outcome of one raw articles record.

        Args:
            record_time: the Kafka timestamp of the record. It becomes the
                detections' ``detected_at`` and the clock of clustering (and the
                article's ``received_at`` when the record has none), so a replay
                of the record yields the same times, hence the same stories,
                alert windows and keys.

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
        # An article is a repeat when its id and its text come again: a publisher's
        # edit (a new headline under the same URL) is read again, so a rule its new
        # words fire is not missed; what fired before keeps its detection key.
        if self.recent.check_and_add(f"{article.id}#{_text_digest(article)}"):
            return Outcome(article, repeat=True)
        rules = self._rules()
        facts = ArticleFacts(article, rules.gazetteer)
        # A change rule fires on every report of its series: its condition is
        # judged where the series' history is (streams.series).
        found = rules.evaluate(article, facts=facts, defer_history=True)
        if not found:
            # Stories serve alerts: an article no rule fires on is not clustered,
            # which keeps the cluster agent's load to a fraction of the articles.
            return Outcome(article)
        at = record_time or article.received_at
        return Outcome(article, request=story_request(article, found, facts, at))
