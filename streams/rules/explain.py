"""Why a rule fired: the matched spans, and a snippet around the best of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from schemas import Span, TextField
from streams.rules.matcher import BIT_FIELDS, ArticleScan, Occurrence

SNIPPET_WIDTH: Final = 240
_CONTEXT: Final = 60
_ELLIPSIS: Final = "…"
# Where the snippet is taken from when several fields matched: the body reads best.
_SNIPPET_FIELDS: Final = (TextField.BODY, TextField.SUMMARY, TextField.TITLE)
_FIELD_ORDER: Final = {field: order for order, field in enumerate(TextField)}


@dataclass(frozen=True, slots=True)
class Evidence:
    """The snippet of one detection: the best window of text, its matched words marked."""

    snippet: str
    highlights: tuple[tuple[int, int], ...]


def evidence_spans(scan: ArticleScan, occurrences: Sequence[Occurrence]) -> tuple[Span, ...]:
    """Turn the occurrences that made a rule match into spans, in field and text order."""
    spans: dict[tuple[str, int, int], Span] = {}
    for bit, _, _, term_id, char_start, char_end in occurrences:
        name = BIT_FIELDS[bit]
        key = (name, char_start, char_end)
        if key not in spans:
            spans[key] = Span(
                field=TextField(name),
                start=char_start,
                end=char_end,
                text=scan.article.text_of(name)[char_start:char_end],
                term=scan.terms[term_id].label,
            )
    return tuple(sorted(spans.values(), key=lambda s: (_FIELD_ORDER[s.field], s.start)))


def explain(scan: ArticleScan, spans: Sequence[Span]) -> Evidence:
    """Cut the snippet of a detection around its densest spans."""
    snippet, highlights = _snippet(scan, spans)
    return Evidence(snippet, highlights)


def _snippet(scan: ArticleScan, spans: Sequence[Span]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Cut a window of about :data:`SNIPPET_WIDTH` characters around the densest spans."""
    for field in _SNIPPET_FIELDS:
        chosen = [s for s in spans if s.field is field]
        if chosen:
            break
    else:
        text = scan.article.text_of("body") or scan.article.title
        return _cut(text, 0, min(len(text), SNIPPET_WIDTH)), ()
    text = scan.article.text_of(field.value)
    best, best_count = chosen[0], 0
    for span in chosen:
        count = sum(
            1 for s in chosen if span.start <= s.start and s.end <= span.start + SNIPPET_WIDTH
        )
        if count > best_count:
            best, best_count = span, count
    start = max(0, best.start - _CONTEXT)
    end = min(len(text), start + SNIPPET_WIDTH)
    start = max(0, min(start, end - SNIPPET_WIDTH))
    # widen to whole words
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    snippet = _cut(text, start, end)
    shift = (len(_ELLIPSIS) if start > 0 else 0) - start
    highlights = tuple(
        (s.start + shift, s.end + shift) for s in chosen if start <= s.start and s.end <= end
    )
    return snippet, highlights


def _cut(text: str, start: int, end: int) -> str:
    prefix = _ELLIPSIS if start > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    # one line: snippets end up in chat messages and table cells
    return prefix + text[start:end].replace("\n", " ") + suffix
