"""Whether an article is about a rule's event: the aboutness score and its parts.

A query that matched says the article *mentions* the event; the score says how
much it is *about* it. Each place the rule's terms matched is one piece of
evidence: the title, the summary, or one sentence of the body. A place is worth
(:func:`place_weight`):

- 1 in the title, the summary (the lead) and the body's first sentence,
  0.8 in its second, 0.6 further on, 0.4 in its last sentence (recaps of
  other stories and asides sit there);
- half that when it holds fewer distinct terms than the rule's evidence as a
  whole, up to two: "offensive" alone in a headline, while "troops" sits
  three paragraphs down, is a mention, not the matched clause.

The places are ranked by worth and each counts half as much as the one before
(1 + 1/2 + 1/4 ...): repeated, independent evidence raises the score, but
many passing mentions never add up to a headline. The figures a rule asks for
(``extract``), found, add 0.25; so do the entities it requires, present.

A query that matched without leaving evidence (``NOT balloon``) holds for the
whole article and is worth 1.

A rule fires when the score reaches its ``min_score`` (by default
:data:`schemas.rules.DEFAULT_MIN_SCORE`, 1): a whole match in the title or
lead is enough, a lone match in a late sentence is not.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from operator import itemgetter
from typing import Final

from schemas import ScorePart, Span, TextField

LEAD_WEIGHT: Final = 1.0
SECOND_SENTENCE_WEIGHT: Final = 0.8
BODY_WEIGHT: Final = 0.6
LAST_SENTENCE_WEIGHT: Final = 0.4
MENTION_FACTOR: Final = 0.5
FIGURES_WEIGHT: Final = 0.25
ENTITIES_WEIGHT: Final = 0.25

_FIELDS: Final = tuple(TextField)
_FIELD_ORDER: Final = {field: rank for rank, field in enumerate(_FIELDS)}
_BODY: Final = TextField.BODY
_BODY_RANK: Final = _FIELD_ORDER[_BODY]
_WORTH: Final = itemgetter(0)
_score_part: Final = ScorePart.__pydantic_validator__.validate_python
# the parts that never vary: models are frozen, so every detection can share them
_NO_EVIDENCE: Final = ScorePart(kind="evidence", weight=LEAD_WEIGHT, counted=LEAD_WEIGHT)
_FIGURES: Final = ScorePart(kind="figures", weight=FIGURES_WEIGHT, counted=FIGURES_WEIGHT)
_ENTITIES: Final = ScorePart(kind="entities", weight=ENTITIES_WEIGHT, counted=ENTITIES_WEIGHT)
_TERMINALS: Final = ".!?…"
_CLOSERS: Final = frozenset(".!?…\"'»”’)]")


def sentence_starts(text: str) -> list[int]:
    """Return the offset of the first character of every sentence of ``text``.

    A sentence ends at terminal punctuation (``.``, ``!``, ``?``, ``…``),
    closing quotes or brackets, then white space; or at a line break. Each
    punctuation mark is found with ``str.find`` and looked at once (a run of
    them is skipped as a whole), so no text costs more than sorting its marks
    (0.2 s for a 1 MB body of full stops); decimals ("4.30") are not ends, nor
    is a full stop after a lone letter, an initial or an abbreviation such as
    "U.S. officials" or "т. е." (so "... the U.S. The next day" stays one sentence).
    """
    marks = []
    for terminal in (*_TERMINALS, "\n"):
        at = text.find(terminal)
        while at >= 0:
            marks.append(at)
            at = text.find(terminal, at + 1)
    marks.sort()
    starts = [0]
    size, resume = len(text), 0
    for at in marks:
        if at < resume:
            continue
        end = at + 1
        if text[at] == "." and _after_initial(text, at):
            resume = end
            continue
        if text[at] != "\n":
            while end < size and text[end] in _CLOSERS:
                end += 1
            if end < size and not text[end].isspace():
                resume = end
                continue
        while end < size and text[end].isspace():
            end += 1
        resume = end
        if end < size and end > starts[-1]:
            starts.append(end)
    return starts


def _after_initial(text: str, at: int) -> bool:
    """True when the full stop at ``at`` closes a one-letter word ("U.S.", "J.")."""
    return text[at - 1].isalpha() and (at == 1 or not text[at - 2].isalnum()) if at else False


def place_weight(field: TextField, sentence: int, sentences: int) -> float:
    """What evidence is worth at sentence ``sentence`` (0 first) of a field of ``sentences``."""
    if field is not TextField.BODY or sentence == 0:
        return LEAD_WEIGHT
    if sentence == sentences - 1 and sentences >= 3:
        return LAST_SENTENCE_WEIGHT
    return SECOND_SENTENCE_WEIGHT if sentence == 1 else BODY_WEIGHT


def score(
    spans: Sequence[Span],
    body_starts: Sequence[int],
    *,
    figures: bool,
    entities: bool,
) -> tuple[float, tuple[ScorePart, ...]]:
    """Score the evidence of one detection.

    Args:
        spans: where the rule's terms matched (the detection's spans); none
            when the query matched without terms (``NOT x``).
        body_starts: :func:`sentence_starts` of the article's body.
        figures: the rule asks for figures and some were found.
        entities: the rule requires entities and they are present.

    Returns:
        The score (rounded to 3 decimals) and its parts, evidence first,
        strongest first.
    """
    # This runs for every detection (tens per article with broad rules): places are keyed by
    # (field rank, sentence), which sorts them in text order without a key function.
    places: dict[tuple[int, int], set[str]] = {}
    first_term = spans[0].term if spans else ""
    several = False  # more than one distinct term among the spans
    for span in spans:
        field, term = span.field, span.term
        if field is _BODY:
            place = (_BODY_RANK, bisect_right(body_starts, span.start) - 1)
        else:
            place = (_FIELD_ORDER[field], 0)
        terms = places.get(place)
        if terms is None:
            places[place] = {term}
        else:
            terms.add(term)
        if term != first_term:
            several = True
    parts: list[ScorePart] = []
    total = 0.0
    if places:
        wanted, sentences = 2 if several else 1, len(body_starts)
        weighed = []
        for (rank, sentence), terms in sorted(places.items()):
            field = _FIELDS[rank]
            weight = place_weight(field, sentence, sentences)
            if len(terms) < wanted:
                weight *= MENTION_FACTOR
            weighed.append((weight, field, sentence if field is _BODY else None, terms))
        weighed.sort(key=_WORTH, reverse=True)  # stable: ties stay in text order
        for rank, (weight, field, body_sentence, terms) in enumerate(weighed):
            counted = round(weight / 2**rank, 3)
            total += counted
            # validated from a dict in pydantic's core: a third cheaper than keyword arguments
            part = {
                "kind": "evidence",
                "field": field,
                "sentence": body_sentence,
                "terms": tuple(sorted(terms)),
                "weight": weight,
                "counted": counted,
            }
            parts.append(_score_part(part))
    else:
        parts.append(_NO_EVIDENCE)
        total += _NO_EVIDENCE.counted
    if figures:
        parts.append(_FIGURES)
        total += _FIGURES.counted
    if entities:
        parts.append(_ENTITIES)
        total += _ENTITIES.counted
    return round(total, 3), tuple(parts)
