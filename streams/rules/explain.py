"""Why a rule fired: the matched spans, and a snippet around the best of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from schemas import Span, TextField
from streams.rules.matcher import BIT_FIELDS, FIELD_BITS, ArticleScan, Occurrence

SNIPPET_WIDTH: Final = 240
MAX_SPANS: Final = 50
"""Most spans a detection carries: a word repeated thousands of times would otherwise make
the detection slow to explain and larger than a Kafka record."""
_CONTEXT: Final = 60
_ELLIPSIS: Final = "…"
_TEXT_FIELDS: Final = {bit: TextField(name) for bit, name in BIT_FIELDS.items()}
# validated from a dict in pydantic's core: cheaper than keyword arguments
_span: Final = Span.__pydantic_validator__.validate_python
# up to the last space before the snippet's start; the rest of a word its end cuts
_UP_TO_SPACE: Final = re.compile(r".*\s", re.DOTALL)
_WORD: Final = re.compile(r"\S*")
# Where the snippet is taken from when several fields matched: the body reads best.
_SNIPPET_FIELDS: Final = (TextField.BODY, TextField.SUMMARY, TextField.TITLE)


@dataclass(frozen=True, slots=True)
class Evidence:
    """The snippet of one detection: the best window of text, its matched words marked."""

    snippet: str
    highlights: tuple[tuple[int, int], ...]


def evidence_spans(
    scan: ArticleScan, occurrences: Sequence[Occurrence], made: dict[Occurrence, Span]
) -> tuple[Span, ...]:
    """Turn the occurrences that made a rule match into spans, in field and text order.

    Each place once, named by the first term found there, and at most the
    first :data:`MAX_SPANS` places in reading order (title, summary, body).

    Args:
        scan: the scanned article.
        occurrences: the rule's witness.
        made: the span of each occurrence made so far for this article. The
            rules that fire on an article share most of their places, and a
            ``Span`` (frozen) is validated once per article, not once per detection.
    """
    places: dict[tuple[int, int, int], Occurrence] = {}
    for occurrence in occurrences:
        places.setdefault((occurrence[0], occurrence[4], occurrence[5]), occurrence)
    spans = []
    for place in sorted(places)[:MAX_SPANS]:  # title 1, summary 2, body 4
        occurrence = places[place]
        span = made.get(occurrence)
        if span is None:
            bit, _, _, term_id, char_start, char_end = occurrence
            span = made[occurrence] = _span(
                {
                    "field": _TEXT_FIELDS[bit],
                    "start": char_start,
                    "end": char_end,
                    "text": scan.texts[bit][char_start:char_end],
                    "term": scan.terms[term_id].label,
                }
            )
        spans.append(span)
    return tuple(spans)


def explain(scan: ArticleScan, spans: Sequence[Span]) -> Evidence:
    """Cut the snippet of a detection around its densest spans.

    ``spans`` are in the order :func:`evidence_spans` gives them: by field, then in text order.
    """
    snippet, highlights = _snippet(scan, spans)
    return Evidence(snippet, highlights)


def _snippet(scan: ArticleScan, spans: Sequence[Span]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Cut a window of about :data:`SNIPPET_WIDTH` characters around the densest spans."""
    for field in _SNIPPET_FIELDS:
        chosen = [(s.start, s.end) for s in spans if s.field is field]
        if chosen:
            break
    else:
        text = scan.article.text_of("body") or scan.article.title
        return _cut(text, 0, min(len(text), SNIPPET_WIDTH)), ()
    text = scan.texts[FIELD_BITS[field]]
    best = _densest(chosen)
    start = max(0, best - _CONTEXT)
    end = min(len(text), start + SNIPPET_WIDTH)
    start = max(0, min(start, end - SNIPPET_WIDTH))
    # widen to whole words, by at most _CONTEXT characters (a text without spaces has no words)
    space = _UP_TO_SPACE.match(text, max(0, start - _CONTEXT), start)
    start = space.end() if space else max(0, start - _CONTEXT)
    end = _WORD.match(text, end, min(len(text), end + _CONTEXT)).end()  # type: ignore[union-attr]  # \S* always matches
    snippet = _cut(text, start, end)
    shift = (len(_ELLIPSIS) if start > 0 else 0) - start
    highlights = tuple(
        [(first + shift, last + shift) for first, last in chosen if start <= first and last <= end]
    )
    return snippet, highlights


def _densest(bounds: list[tuple[int, int]]) -> int:
    """The start of the first span whose window of :data:`SNIPPET_WIDTH` holds the most spans.

    ``bounds`` are ``(start, end)`` sorted (as :func:`evidence_spans` gives them), so a
    window holds spans from its own on, up to the first that starts past it; and the
    search stops once no later window could hold more (most detections have a few spans
    close together: one window).
    """
    best, best_count, previous = bounds[0][0], 0, -1
    size = len(bounds)
    for index in range(size):
        at = bounds[index][0]
        if at == previous:  # the same window as the span before, which came first
            continue
        previous, limit, count = at, at + SNIPPET_WIDTH, 0
        for first, last in bounds[index:]:
            if first > limit:
                break
            if last <= limit:
                count += 1
        if count > best_count:
            best, best_count = at, count
        if best_count >= size - index - 1:
            break
    return best


def _cut(text: str, start: int, end: int) -> str:
    prefix = _ELLIPSIS if start > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    # one line: snippets end up in chat messages and table cells
    return prefix + text[start:end].replace("\n", " ") + suffix
