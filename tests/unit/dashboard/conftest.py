"""Factories for the dashboard's unit tests: detections with figures, and dead letters."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import Detection, EntityMention, ExtractedValue, Span, TextField

NOW = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)


def level(kind: str, value: float, start: int = 0, **fields: Any) -> ExtractedValue:
    """A figure read from the body at ``start``: ``level("price", 62.5, commodity=...)``."""
    span = Span(field=TextField.BODY, start=start, end=start + 5, text=f"{value}")
    return ExtractedValue(kind=kind, value=value, span=span, **fields)  # type: ignore[arg-type]


@pytest.fixture
def make_detection() -> Callable[..., Detection]:
    """Factory of detections: ``make_detection(rule_id="r", detected_at=..., values=(...))``."""
    counter = itertools.count()

    def make(**fields: Any) -> Detection:
        n = next(counter)
        article = fields.pop("article_id", f"article-{n}")
        rule = fields.get("rule_id", "rule-a")
        values: dict[str, Any] = {
            "key": f"{article}/{rule}@v1",
            "article_id": article,
            "story_id": f"story-{n}",
            "source": "example.org",
            "title": f"Headline {n}",
            "rule_id": rule,
            "rule_version": "v1",
            "rule_title": f"Rule {rule}",
            "category": "test",
            "severity": "high",
            "detected_at": NOW,
            "entities": (
                EntityMention(id="commodity:urals", kind="commodity", name="Urals"),
                EntityMention(id="commodity:brent", kind="commodity", name="Brent"),
            ),
        }
        values.update(fields)
        return Detection(**values)

    return make
