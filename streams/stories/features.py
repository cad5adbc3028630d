"""An article's story features: what clustering compares, computed once where the rules ran.

The entities and figures are the ones the rule engine already found for the
article (:class:`~streams.rules.ruleset.ArticleFacts`); terms and numbers come
from the title and lead (:mod:`streams.stories.terms`); the sketch finds
near-verbatim copies (:mod:`streams.stories.copies`). Everything is bounded,
so a 1 MB body costs what a short one does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from schemas import Article, Detection, EntityMention, ExtractedValue
from schemas.common import TextField
from schemas.stories import StoryFeatures, StoryFigure
from streams.stories.copies import sketch_text
from streams.stories.terms import MAX_NUMBERS, numbers_of, terms_of

LEAD_CHARS: Final = 400
"""The lead: the title, the summary and this much of the body."""
MAX_ENTITIES: Final = 16
MAX_FIGURES: Final = 8
FUTURE_SLACK: Final = timedelta(hours=1)
"""A publication time later than the record time by more than this is not believed."""


def lead_of(article: Article) -> str:
    """Return the title, summary and opening of the body, one per line."""
    return "\n".join(filter(None, (article.title, article.summary, article.body[:LEAD_CHARS])))


def event_time(article: Article, record_at: datetime) -> datetime:
    """Return when the article reports its event: its publication time, unless absent or in the future."""
    published = article.published_at
    if published is None or published > record_at + FUTURE_SLACK:
        return record_at
    return published


def story_features(
    article: Article,
    detections: Sequence[Detection],
    mentions: Iterable[EntityMention],
    values: Iterable[ExtractedValue],
    record_at: datetime,
) -> StoryFeatures:
    """Return the features clustering compares for ``article``.

    Args:
        detections: the rules that fired on the article (their categories count).
        mentions: the article's entities, as the gazetteer found them.
        values: the figures the extractors read from the article.
        record_at: the Kafka time of the article's record.
    """
    lead = lead_of(article)
    opening = "\n".join(filter(None, (article.title, article.summary, article.body)))
    lead_numbers = numbers_of(lead, article.language)
    in_lead: list[str] = []
    later: list[str] = []
    for mention in mentions:
        (
            in_lead if any(_in_lead(span.field, span.start) for span in mention.spans) else later
        ).append(mention.id)
    return StoryFeatures(
        article_id=article.id,
        source=article.source,
        title=article.title,
        url=article.url,
        language=article.language,
        event_at=event_time(article, record_at),
        record_at=record_at,
        sketch=sketch_text(opening),
        terms=terms_of(lead, article.language),
        numbers=lead_numbers,
        body_numbers=tuple(
            n for n in numbers_of(opening, article.language) if n not in lead_numbers
        )[: max(0, MAX_NUMBERS - len(lead_numbers))],
        entities=tuple(in_lead[:MAX_ENTITIES]),
        body_entities=tuple(later[: max(0, MAX_ENTITIES - len(in_lead))]),
        figures=tuple(dict.fromkeys(map(figure_of, values)))[:MAX_FIGURES],
        categories=tuple(sorted({d.category for d in detections})),
        kind=article.kind,
        page=page_of(article),
    )


def page_of(article: Article) -> str | None:
    """The page ``article`` must not share a story with its teasers in (see :class:`StoryFeatures`)."""
    if article.found_on is not None:
        return article.found_on.id
    return article.id if article.meta.get("related_headlines") else None


def _in_lead(field: TextField, start: int) -> bool:
    return field != TextField.BODY or start < LEAD_CHARS


def figure_of(value: ExtractedValue) -> StoryFigure:
    """Return ``value`` as clustering compares it: its series, its number, its words."""
    series = [value.kind, value.commodity or "-"]
    if value.benchmark:
        series[-1] += f"/{value.benchmark}"
    unit = "/".join(filter(None, (value.currency, value.unit)))
    if unit:
        series.append(unit)
    if value.extreme:
        series.append(value.extreme)
    return StoryFigure(series=" ".join(series), value=value.value, text=value.span.text)
