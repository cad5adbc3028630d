"""Factories of alerts for the alerting tests (unit and integration)."""

from __future__ import annotations

import itertools
from typing import Any

from schemas import Alert, EntityMention, Evidence, ExtractedValue, Severity, Span, TextField

_counter = itertools.count()


def make_alert(**fields: Any) -> Alert:
    """Return a valid alert; any field can be overridden, ``key`` is unique by default."""
    n = next(_counter)
    snippet = "Ministers agreed new sanctions on crude exports, sending Brent up 3.1% to $92.40."
    values: dict[str, Any] = {
        "key": f"sanctions.crude@1/story-{n}/w{n}",
        "rule_id": "sanctions.crude",
        "rule_version": "1",
        "rule_title": "New sanctions on crude oil",
        "category": "sanctions",
        "severity": Severity.HIGH,
        "tags": ("energy", "market"),
        "story_id": f"story-{n}",
        "evidence": (
            Evidence(
                article_id=f"article-{n}",
                url=f"https://news.example.org/{n}",
                source="news.example.org",
                title=f"Sanctions widened to crude exports ({n})",
                snippet=snippet,
                snippet_highlights=((21, 30), (34, 47)),
            ),
        ),
        "entities": (EntityMention(id="commodity:brent", kind="commodity", name="Brent"),),
        "values": (
            ExtractedValue(
                kind="change_pct",
                value=3.1,
                commodity="Brent",
                direction="up",
                span=Span(field=TextField.BODY, start=66, end=70, text="3.1%"),
            ),
        ),
        "article_count": 2,
        "source_count": 2,
    }
    values.update(fields)
    return Alert(**values)
