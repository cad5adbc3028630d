"""The multi-rule matcher: one Aho-Corasick automaton for every term of every query.

An article is scanned once. Its title, summary and body become one *word
stream*: the words of each field (:mod:`streams.rules.words`), folded, joined
by single spaces, fields separated by a sentinel word. Every term is an automaton key
padded with spaces (``" shot down "``, or ``" drone"`` for ``drone*``), so
each automaton hit is already on word boundaries, and the word index of a hit
is the number of spaces before it. A ``~`` term is found by the stem index
(:mod:`streams.rules.stems`) as places in the same stream, and from there takes
the same paths. Word indexes are counted once per article, only for the terms
of a query that needs them (a NEAR, a field scope, or one that matched and is
explained).

Which queries are worth evaluating is decided from the hits alone: each query
is reduced to a conjunction of *clauses*, sets of terms one of which must occur
for the query to match (``(a OR b) NEAR/5 c`` needs ``{a, b}`` and ``{c}``).
A query is indexed under one clause; it is evaluated only when all its
clauses are satisfied. Queries with no such clause (``NOT x``, a lone regex)
are evaluated for every article. So the cost follows the hits, not the
number of rules.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, Final, NamedTuple, TypeVar

import ahocorasick
import re2

from schemas import Article
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term
from streams.rules.stems import StemIndex, StemPlaces, StemTerm
from streams.rules.text import Offsets
from streams.rules.words import Respacer, folded_text, word_spans

FIELD_BITS: Final = {"title": 1, "summary": 2, "body": 4}
BIT_FIELDS: Final = {bit: name for name, bit in FIELD_BITS.items()}
ALL_FIELDS: Final = 7

_SENTINEL: Final = "\x01"
_TERM: Final = itemgetter(1)

Occurrence = tuple[int, int, int, int, int, int]
"""``(field_bit, first_word, last_word, term_id, char_start, char_end)``.

Word indexes are into the article's word stream; the character offsets are
into the field's text.
"""


class Operand(NamedTuple):
    """The occurrences of some terms in some fields, and their first and last words, sorted."""

    occurrences: list[Occurrence]
    firsts: list[int]
    lasts: list[int]


Spans = Sequence[tuple[Any, ...]]
"""Where a NEAR operand occurs: tuples starting ``(field_bit, first_word, last_word)``."""
Position = tuple[int, int, int, tuple[Occurrence, ...]]
"""A NEAR operand with its evidence: ``(field_bit, first_word, last_word, occurrences)``."""


def regex_options() -> re2.Options:
    """RE2 options of every regex term: no logging to stderr on a bad pattern."""
    options = re2.Options()
    options.log_errors = False
    return options


def compile_regex(pattern: str) -> re2._Regexp:
    """Compile ``pattern`` with RE2 (linear time).

    Raises:
        ValueError: RE2 cannot compile it (backreferences, lookaround...).
    """
    try:
        return re2.compile(pattern, regex_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"RE2 cannot compile regex /{pattern}/: {reason}") from None


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    """One distinct term of the rule set: its automaton key and how to show it."""

    id: int
    key: str
    words: int
    label: str
    regex: re2._Regexp | None = None
    stem: tuple[str, ...] | None = None
    """The words of a ``~`` term as written, lower-cased: what the stemmers read."""


# --- per-article state --------------------------------------------------------------


class ArticleScan:
    """One article, scanned once: hits per term, and lazily their positions."""

    __slots__ = (
        "_field_bits",
        "_field_firsts",
        "_first_words",
        "_hit_terms",
        "_hits",
        "_masked",
        "_occurrences",
        "_respacers",
        "_segments",
        "_spans",
        "_stem_places",
        "_stems",
        "article",
        "field_bounds",
        "field_ranges",
        "folded",
        "near_positions",
        "present",
        "stream",
        "terms",
        "texts",
    )

    def __init__(self, article: Article, matcher: Matcher) -> None:
        self.article = article
        self.terms = matcher.terms
        # field bit -> the field's text, read by every detection's spans and snippet
        self.texts = {bit: article.text_of(name) for name, bit in FIELD_BITS.items()}
        pieces: list[str] = []
        # (bit, first word index, word count) of each non-empty field
        self.field_ranges: list[tuple[int, int, int]] = []
        # (bit, stream offset of its first word, word text, its words are ASCII) of each
        # non-empty field
        self._segments: list[tuple[int, int, str, bool]] = []
        next_word, next_char = 0, 1  # the stream starts with a space
        for bit, text in self.texts.items():
            if not text:
                continue
            view = folded_text(text)
            spaced, ascii_words = view.words, view.ascii_words
            found = spaced.split()
            if not found:
                continue
            if pieces:
                pieces.append(_SENTINEL)
                next_word += 1
                next_char += len(_SENTINEL) + 1
            piece = " ".join(found)
            self.field_ranges.append((bit, next_word, len(found)))
            self._segments.append((bit, next_char, spaced, ascii_words))
            pieces.append(piece)
            next_word += len(found)
            next_char += len(piece) + 1
        self.stream = " " + " ".join(pieces) + " "
        self._hits: list[tuple[int, int]] = list(matcher.automaton.iter(self.stream))
        self._hit_terms: list[int] | None = None
        self.present: set[int] = set(map(_TERM, self._hits))
        self.folded: dict[int, tuple[str, Offsets | None]] = {}
        self._occurrences: dict[int, list[Occurrence]] = {}
        self._masked: dict[tuple[frozenset[int], int], Operand] = {}
        self._spans: dict[int, tuple[list[int], list[int]]] = {}
        self._respacers: dict[int, Respacer] = {}
        # where the ~ terms that match are in the stream, placed on first need
        self._stem_places: StemPlaces | None = None
        self._first_words: dict[int, list[int]] = {}
        self.near_positions: dict[tuple[int, int], list[Position]] = {}
        self._field_firsts = [first for _, first, _ in self.field_ranges]
        self._field_bits = [bit for bit, _, _ in self.field_ranges]
        # field bit -> its first and last word in the stream
        self.field_bounds = {bit: (first, first + n - 1) for bit, first, n in self.field_ranges}
        # the stem index, until the ``~`` terms are found: on first need (see Matcher.candidates)
        self._stems = matcher.stems
        if matcher.stems_first:
            self.find_stems()

    @property
    def stems_pending(self) -> bool:
        """True while the ``~`` terms of the rule set have not been looked for."""
        return self._stems is not None

    def find_stems(self) -> None:
        """Add the ``~`` terms that match to :attr:`present` (once; found by the stem index).

        Keying an article's words costs about as much as the automaton scan,
        so it runs only when a query that holds a ``~`` term is reached.
        """
        stems, self._stems = self._stems, None
        if stems is None:
            return
        language = self.article.language.split("-")[0].lower()
        self._stem_places = stems.find(
            language,
            self.stream,
            self._original_word,
            ascii_words=all(segment[3] for segment in self._segments),
        )
        self.present.update(self._stem_places.terms())

    def _segment(self, start: int) -> tuple[int, int, str, bool]:
        """The field segment ``(bit, stream offset, word text, ASCII words)`` holding ``start``."""
        segment = self._segments[0]
        for later in self._segments[1:]:
            if later[1] <= start:
                segment = later
        return segment

    def _respacer(self, segment: tuple[int, int, str, bool]) -> Respacer:
        """The map from a field's joined words back to its text, made on first need."""
        bit = segment[0]
        respacer = self._respacers.get(bit)
        if respacer is None:
            respacer = self._respacers[bit] = Respacer(
                segment[2], folded_text(self.texts[bit]).offsets
            )
        return respacer

    def _original_word(self, start: int, end: int) -> str:
        """The word at ``[start, end)`` of the stream as its field writes it, lower-cased."""
        if self.stream[start] == _SENTINEL:
            return ""
        segment = self._segment(start)
        if segment[3]:  # an ASCII word folds to itself lower-cased
            return self.stream[start:end]
        respacer, base = self._respacer(segment), segment[1]
        text = self.texts[segment[0]]
        return text[respacer.offset(start - base) : respacer.offset(end - base)].lower()

    def token_spans(self, bit: int) -> tuple[list[int], list[int]]:
        """Return the start and end offsets of every word of field ``bit``, in its text."""
        spans = self._spans.get(bit)
        if spans is None:
            spans = self._spans[bit] = word_spans(self.texts[bit])
        return spans

    def field_of(self, word: int) -> int:
        """Return the bit of the field that holds word ``word`` of the stream."""
        return self._field_bits[bisect_right(self._field_firsts, word) - 1]

    def in_fields(self, term_ids: frozenset[int], mask: int) -> bool:
        """True when a hit of some terms (of the automaton or ``~``) is in a field of ``mask``."""
        field_of = self.field_of
        return any(
            field_of(first) & mask
            for term_id in term_ids & self.present
            for first in self.first_words(term_id)
        )

    def first_words(self, term_id: int) -> list[int]:
        """Return the word index of each hit of a term (of the automaton or ``~``), in text order.

        It is the number of spaces before the hit's first word minus one (the
        stream starts with a space), counted from the term's previous hit on.
        """
        found = self._first_words.get(term_id)
        if found is None:
            term = self.terms[term_id]
            if term.stem:
                starts = [start for start, _ in self._stem_places_of(term_id)]
            else:
                offset = len(term.key) - 2
                starts = [end - offset for end, _ in self._term_hits(term_id)]
            stream = self.stream
            found = []
            word, counted = -1, 0
            for start in starts:
                word += stream.count(" ", counted, start)
                counted = start
                found.append(word)
            self._first_words[term_id] = found
        return found

    def _stem_places_of(self, term_id: int) -> list[tuple[int, int]]:
        """The places of a ``~`` term in the stream, in text order."""
        return [] if self._stem_places is None else self._stem_places.get(term_id)

    def occurrences(self, term_id: int) -> list[Occurrence]:
        """Return every occurrence of a term, in all fields."""
        found = self._occurrences.get(term_id)
        if found is None:
            term = self.terms[term_id]
            if term.stem:
                found = self._place(term_id, self._stem_places_of(term_id))
            elif term.regex:
                found = self._regex_occurrences(term)
            else:
                found = self._term_occurrences(term)
            self._occurrences[term_id] = found
        return found

    def masked(self, term_ids: frozenset[int], mask: int) -> Operand:
        """The occurrences of some terms in the fields of ``mask``, and their words sorted.

        Computed once per article: the broad rules that fire together on an
        article share most of their terms, and each detection explains itself
        from them. The lists are shared: never modify them.
        """
        key = (term_ids, mask)
        found = self._masked.get(key)
        if found is None:
            present = term_ids & self.present
            occurrences = [o for t in present for o in self.occurrences(t) if o[0] & mask]
            firsts = [o[1] for o in occurrences]
            lasts = [o[2] for o in occurrences]
            if len(present) > 1:  # one term's occurrences are in text order already
                firsts.sort()
                lasts.sort()
            found = self._masked[key] = Operand(occurrences, firsts, lasts)
        return found

    def _term_hits(self, term_id: int) -> list[tuple[int, int]]:
        """Return the automaton hits ``(end, term_id)`` of a term, in text order.

        The hits are sorted by term on first need (stable, so each term's hits
        stay in text order); most articles never need it.
        """
        hit_terms = self._hit_terms
        if hit_terms is None:
            self._hits.sort(key=_TERM)
            hit_terms = self._hit_terms = list(map(_TERM, self._hits))
        low = bisect_left(hit_terms, term_id)
        return self._hits[low : bisect_right(hit_terms, term_id, low)]

    def _term_occurrences(self, term: CompiledTerm) -> list[Occurrence]:
        """Read a term's occurrences from the automaton's hits."""
        stream = self.stream
        offset = len(term.key) - 2
        whole_word = term.key.endswith(" ")
        return self._place(
            term.id,
            [
                (end - offset, end if whole_word else stream.find(" ", end))
                for end, _ in self._term_hits(term.id)
            ],
        )

    def _place(self, term_id: int, places: list[tuple[int, int]]) -> list[Occurrence]:
        """Turn a term's ``(start, end)`` places in the stream, in text order, into occurrences.

        A place's word index is :meth:`first_words`'s; its character offsets
        are mapped from the stream back to the field's text.
        """
        span = self.terms[term_id].words - 1
        segments = self._segments
        found: list[Occurrence] = []
        # in text order, the places move through the fields once: look each one up once
        index, bit, base, limit = -1, 0, 0, -1
        respace: Callable[[int], int] | None = None
        for (start, stop), word in zip(places, self.first_words(term_id), strict=True):
            if start >= limit:
                while start >= limit:
                    index += 1
                    limit = (
                        segments[index + 1][1] if index + 1 < len(segments) else len(self.stream)
                    )
                bit, base = segments[index][0], segments[index][1]
                respace = self._respacer(segments[index]).offset
            assert respace is not None  # the first place sets it
            found.append(
                (bit, word, word + span, term_id, respace(start - base), respace(stop - base))
            )
        return found

    def _regex_occurrences(self, term: CompiledTerm) -> list[Occurrence]:
        """Search a regex in each field's folded text and place each match on words.

        A match sits on the words it overlaps: one that starts or ends on a
        space or punctuation starts at the next word or ends at the previous
        one, and one that overlaps no word sits on the next word (the field's
        last word when none follows). Empty matches do not count.
        """
        assert term.regex is not None
        found: list[Occurrence] = []
        for bit, first, count in self.field_ranges:
            folding = self.folded.get(bit)
            if folding is None:
                view = folded_text(self.texts[bit])
                folding = self.folded[bit] = (view.folded, view.offsets)
            folded, original = folding
            spans: tuple[list[int], list[int]] | None = None
            for match in term.regex.finditer(folded):
                start, end = match.start(), match.end()
                if start == end:
                    continue
                if original is not None:
                    start, end = original.start(start), original.end(end)
                if spans is None:
                    spans = self.token_spans(bit)
                starts, ends = spans
                # the first word that ends after the match starts, the last that starts before it ends
                low = min(bisect_right(ends, start), count - 1)
                high = max(bisect_left(starts, end) - 1, low)
                found.append((bit, first + low, first + high, term.id, start, end))
        return found


# --- evaluators ---------------------------------------------------------------------


class _Eval:
    """A compiled query node: a test, and the occurrences that witness a match."""

    __slots__ = ()

    def test(self, scan: ArticleScan, mask: int) -> bool:
        raise NotImplementedError

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        """The occurrences that make the node match; a list the scan may share: never modify it."""
        raise NotImplementedError

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        raise NotImplementedError

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        return [(o[0], o[1], o[2], (o,)) for o in self.witness(scan, mask)]


class _TermEval(_Eval):
    """A term of the automaton or a ``~`` term: both are in ``scan.present`` when they occur."""

    __slots__ = ("term_id", "term_ids")

    def __init__(self, term_id: int) -> None:
        self.term_id = term_id
        self.term_ids = frozenset((term_id,))

    def test(self, scan: ArticleScan, mask: int) -> bool:
        if self.term_id not in scan.present:
            return False
        return mask == ALL_FIELDS or scan.in_fields(self.term_ids, mask)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return scan.masked(self.term_ids, mask).occurrences

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        if self.term_id not in scan.present:
            return ()
        found = scan.occurrences(self.term_id)
        return found if mask == ALL_FIELDS else [o for o in found if o[0] & mask]


class _RegexEval(_TermEval):
    __slots__ = ()

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return any(o[0] & mask for o in scan.occurrences(self.term_id))

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for o in scan.occurrences(self.term_id) if o[0] & mask]

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        return self.witness(scan, mask)


class _TermSetEval(_Eval):
    """An OR of terms (plain or ``~``), the most common NEAR operand, tested with one set operation."""

    __slots__ = ("term_ids",)

    def __init__(self, term_ids: Sequence[int]) -> None:
        self.term_ids = frozenset(term_ids)

    def test(self, scan: ArticleScan, mask: int) -> bool:
        if self.term_ids.isdisjoint(scan.present):
            return False
        return mask == ALL_FIELDS or scan.in_fields(self.term_ids, mask)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return scan.masked(self.term_ids, mask).occurrences

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        present = self.term_ids & scan.present
        if not present:
            return ()
        if mask == ALL_FIELDS:
            return [o for term_id in present for o in scan.occurrences(term_id)]
        return [o for term_id in present for o in scan.occurrences(term_id) if o[0] & mask]


class _AndEval(_Eval):
    __slots__ = ("operands",)

    def __init__(self, operands: Sequence[_Eval]) -> None:
        self.operands = tuple(operands)

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return all(op.test(scan, mask) for op in self.operands)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for op in self.operands for o in op.witness(scan, mask)]


class _OrEval(_AndEval):
    __slots__ = ()

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return any(op.test(scan, mask) for op in self.operands)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for op in self.operands if op.test(scan, mask) for o in op.witness(scan, mask)]

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        return [s for op in self.operands for s in op.spans(scan, mask)]

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        return [p for op in self.operands for p in op.positions(scan, mask)]


class _NotEval(_Eval):
    __slots__ = ("operand",)

    def __init__(self, operand: _Eval) -> None:
        self.operand = operand

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return not self.operand.test(scan, mask)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return []


class _ScopedEval(_NotEval):
    __slots__ = ("bit",)

    def __init__(self, operand: _Eval, bit: int) -> None:
        super().__init__(operand)
        self.bit = bit

    def test(self, scan: ArticleScan, mask: int) -> bool:
        # No early False on an empty intersection: under it a NOT must still hold.
        return self.operand.test(scan, mask & self.bit)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return self.operand.witness(scan, mask & self.bit)


def _plain_terms(node: _Eval) -> frozenset[int] | None:
    """Return the terms of ``node`` if it is a term or an OR of terms (of the automaton or ``~``)."""
    if isinstance(node, _TermSetEval):
        return node.term_ids
    if isinstance(node, _TermEval) and not isinstance(node, _RegexEval):
        return frozenset((node.term_id,))
    return None


_FIRST: Final = itemgetter(1)
_LAST: Final = itemgetter(2)

Item = TypeVar("Item", bound=tuple[Any, ...])


def _partners_after(
    anchors: Iterable[Item], others: Iterable[Item], reach: int
) -> Iterator[tuple[Item, Item]]:
    """For each anchor, the other that ends first among those starting just after it.

    Yields ``(anchor, other)`` where ``other`` starts after the anchor's last
    word with fewer than ``reach`` words between, in the same field. A
    sliding-window minimum over both lists sorted: O(n log n) in all.
    """
    window: deque[Item] = deque()
    pending = sorted(others, key=_FIRST)
    taken, count = 0, len(pending)
    for anchor in sorted(anchors, key=_LAST):
        last = anchor[2]
        bound = last + reach
        while taken < count and pending[taken][1] <= bound:
            other = pending[taken]
            taken += 1
            # an earlier other that ends no sooner is never the answer again
            while window and window[-1][2] >= other[2]:
                window.pop()
            window.append(other)
        while window and window[0][1] <= last:
            window.popleft()
        # an other of the next field ends after every other of this one
        if window and window[0][0] == anchor[0]:
            yield anchor, window[0]


def _partners_before(
    anchors: Iterable[Item], others: Iterable[Item], reach: int
) -> Iterator[tuple[Item, Item]]:
    """For each anchor, the other that starts last among those ending just before it.

    Yields ``(other, anchor)``, in text order: the mirror of :func:`_partners_after`.
    """
    window: deque[Item] = deque()
    pending = sorted(others, key=_LAST)
    taken, count = 0, len(pending)
    for anchor in sorted(anchors, key=_FIRST):
        first = anchor[1]
        while taken < count and pending[taken][2] < first:
            other = pending[taken]
            taken += 1
            while window and window[-1][1] <= other[1]:
                window.pop()
            window.append(other)
        while window and window[0][2] < first - reach:
            window.popleft()
        if window and window[0][0] == anchor[0]:
            yield window[0], anchor


class _NearEval(_Eval):
    """``left NEAR/n right``: an occurrence of each side, apart, with at most n words between.

    Its occurrences, for an enclosing NEAR, are its *shortest matches*: for
    each word where a match starts, the shortest match starting there, and
    for each word where one ends, the shortest ending there. They are found
    with one sweep per side over the operands' occurrences sorted (each
    occurrence has at most one partner per side), so the cost follows the
    number of occurrences: no article makes a NEAR chain grow as the product
    of its operands' occurrences.
    """

    __slots__ = ("distance", "left", "ordered", "plain", "right")

    def __init__(self, left: _Eval, right: _Eval, distance: int, ordered: bool) -> None:
        self.left, self.right, self.distance, self.ordered = left, right, distance, ordered
        left_terms, right_terms = _plain_terms(left), _plain_terms(right)
        self.plain = (
            (left_terms, right_terms)
            if left_terms is not None and right_terms is not None
            else None
        )

    def test(self, scan: ArticleScan, mask: int) -> bool:
        if self.plain is not None:
            return self._close_in_words(scan, mask, *self.plain)
        lefts = self.left.spans(scan, mask)
        if not lefts:
            return False
        rights = self.right.spans(scan, mask)
        if not rights:
            return False
        reach = self.distance + 1
        if any(True for _ in _partners_after(lefts, rights, reach)):
            return True
        return not self.ordered and any(True for _ in _partners_after(rights, lefts, reach))

    def _close_in_words(
        self, scan: ArticleScan, mask: int, left: frozenset[int], right: frozenset[int]
    ) -> bool:
        """:meth:`test` of two plain operands, on the word index of each hit of their terms.

        The hot path of a large rule set: most candidate queries are NEARs of
        frequent words. For each occurrence of the left side only the nearest
        occurrence of each right term on each side can be close enough (and
        one in another field is farther than any in the same one).
        """
        present, terms = scan.present, scan.terms
        rights = [(scan.first_words(t), terms[t].words - 1) for t in right if t in present]
        if not rights:
            return False
        reach, ordered = self.distance + 1, self.ordered
        for term_id in left:
            if term_id not in present:
                continue
            span = terms[term_id].words - 1
            for first in scan.first_words(term_id):
                last = first + span
                for firsts, right_span in rights:
                    after = bisect_right(firsts, last)
                    if (
                        after < len(firsts)
                        and firsts[after] - last <= reach
                        and self._one_field(scan, mask, first, firsts[after])
                    ):
                        return True
                    if ordered:
                        continue
                    # the right occurrence that ends last before this one starts
                    before = bisect_left(firsts, first - right_span) - 1
                    if (
                        before >= 0
                        and first - firsts[before] - right_span <= reach
                        and self._one_field(scan, mask, first, firsts[before])
                    ):
                        return True
        return False

    @staticmethod
    def _one_field(scan: ArticleScan, mask: int, word: int, other: int) -> bool:
        """True when two words are in the same field, one of ``mask``."""
        field = scan.field_of(word)
        return bool(field & mask) and scan.field_of(other) == field

    def _pairs(self, lefts: list[Item], rights: list[Item]) -> list[tuple[Item, Item]]:
        """The pairs ``(earlier, later)`` of the shortest matches (see the class)."""
        if not lefts or not rights:
            return []
        reach = self.distance + 1
        found = [*_partners_after(lefts, rights, reach), *_partners_before(rights, lefts, reach)]
        if not self.ordered:
            found += _partners_after(rights, lefts, reach)
            found += _partners_before(lefts, rights, reach)
        from_start: dict[tuple[int, int], tuple[Item, Item]] = {}
        to_end: dict[tuple[int, int], tuple[Item, Item]] = {}
        for pair in found:
            earlier, later = pair
            field, start, end = earlier[0], earlier[1], later[2]
            shortest = from_start.get((field, start))
            if shortest is None or end < shortest[1][2]:
                from_start[field, start] = pair
            shortest = to_end.get((field, end))
            if shortest is None or start > shortest[0][1]:
                to_end[field, end] = pair
        # one pair per extent: the evidence of either is the same words
        kept = {(a[0], a[1], b[2]): (a, b) for a, b in (*from_start.values(), *to_end.values())}
        return list(kept.values())

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        return self.positions(scan, mask)

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        # an enclosing NEAR's test and then its witness ask for them: computed once
        key = (id(self), mask)
        found = scan.near_positions.get(key)
        if found is None:
            pairs = self._pairs(self.left.positions(scan, mask), self.right.positions(scan, mask))
            found = scan.near_positions[key] = [
                (earlier[0], earlier[1], later[2], earlier[3] + later[3])
                for earlier, later in pairs
            ]
        return found

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        if self.plain is not None:
            return self._partnered(scan, mask, *self.plain)
        return list(dict.fromkeys(o for p in self.positions(scan, mask) for o in p[3]))

    def _partnered(
        self, scan: ArticleScan, mask: int, left: frozenset[int], right: frozenset[int]
    ) -> list[Occurrence]:
        """:meth:`witness` of two plain operands: every occurrence that has a partner.

        The words of the shortest matches are exactly these (each occurrence
        with a partner starts or ends one), found without building the matches.
        """
        lefts, left_firsts, left_lasts = scan.masked(left, mask)
        rights, right_firsts, right_lasts = scan.masked(right, mask)
        reach, fields = self.distance + 1, scan.field_bounds
        found = []
        # a left occurrence needs a right one after it (or, unordered, before it); a right one
        # needs a left one before it (or after it)
        for mine, firsts, lasts, after, before in (
            (lefts, right_firsts, right_lasts, True, not self.ordered),
            (rights, left_firsts, left_lasts, not self.ordered, True),
        ):
            for occurrence in mine:
                low, high = fields[occurrence[0]]
                first, last = occurrence[1], occurrence[2]
                if after:
                    nearest = bisect_right(firsts, last)
                    if nearest < len(firsts) and last < firsts[nearest] <= min(last + reach, high):
                        found.append(occurrence)
                        continue
                if before:
                    nearest = bisect_left(lasts, first) - 1
                    if nearest >= 0 and max(first - reach, low) <= lasts[nearest]:
                        found.append(occurrence)
        return found


# --- compiling ----------------------------------------------------------------------


@dataclass(slots=True)
class CompiledQuery:
    """One query of one rule, ready to test: its evaluator and its clauses."""

    index: int
    evaluator: _Eval
    clauses: tuple[frozenset[int], ...]
    stems: bool = False
    """The query holds a ``~`` term."""


@dataclass
class Matcher:
    """Every query of a rule set, compiled into one automaton and per-query evaluators.

    Build it with :meth:`build`; then :meth:`scan` an article and ask
    :meth:`candidates` which queries to :meth:`test`.
    """

    automaton: ahocorasick.Automaton
    terms: list[CompiledTerm]
    queries: list[CompiledQuery]
    anchors: dict[int, tuple[int, ...]]
    anchor_terms: frozenset[int]
    others: tuple[tuple[frozenset[int], ...], ...]
    always: tuple[int, ...]
    stems: StemIndex | None = None
    stem_queries: frozenset[int] = frozenset()
    """The queries that hold a ``~`` term."""
    plain_others: tuple[tuple[frozenset[int], ...], ...] = ()
    """``others`` without the clauses that hold a ``~`` term."""
    stems_first: bool = False
    """Some query is reached through a ``~`` term: every article's are found when it is scanned."""

    @classmethod
    def build(cls, trees: Sequence[Node]) -> Matcher:
        """Compile ``trees`` (query ``i`` is ``trees[i]``) into one matcher.

        Raises:
            ValueError: a regex term that RE2 cannot compile.
        """
        builder = _Builder()
        queries = [builder.query(i, tree) for i, tree in enumerate(trees)]
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for term in builder.terms:
            if term.regex is None and term.stem is None:
                automaton.add_word(term.key, term.id)
        if len(automaton) == 0:
            # an empty automaton cannot be built; a key no word stream contains
            automaton.add_word("\x00", -1)
        automaton.make_automaton()
        stem_terms = [StemTerm(t.id, t.stem) for t in builder.terms if t.stem is not None]
        stem_ids = frozenset(term.id for term in stem_terms)
        anchors: dict[int, list[int]] = {}
        always: list[int] = []
        for query in queries:
            if not query.clauses:
                always.append(query.index)
                continue
            for term_id in query.clauses[0]:
                anchors.setdefault(term_id, []).append(query.index)
        others = tuple(query.clauses[1:] for query in queries)
        return cls(
            automaton=automaton,
            terms=builder.terms,
            queries=queries,
            anchors={t: tuple(q) for t, q in anchors.items()},
            anchor_terms=frozenset(anchors),
            others=others,
            always=tuple(always),
            stems=StemIndex(stem_terms) if stem_terms else None,
            stem_queries=frozenset(query.index for query in queries if query.stems),
            plain_others=tuple(
                tuple(clause for clause in clauses if clause.isdisjoint(stem_ids))
                for clauses in others
            ),
            stems_first=not stem_ids.isdisjoint(anchors),
        )

    def scan(self, article: Article) -> ArticleScan:
        """Run the automaton over ``article`` once."""
        return ArticleScan(article, self)

    def candidates(self, scan: ArticleScan) -> list[int]:
        """Return the indexes of the queries whose every clause has a hit, in order.

        A query is reached through the terms of its most selective clause,
        then kept if each other clause shares a term with the article's hits.
        """
        present = scan.present
        reached = set(
            chain.from_iterable(map(self.anchors.__getitem__, present & self.anchor_terms))
        )
        # First without the clauses that need the ~ terms (``plain_others`` is ``others``
        # when there are none), which are looked for only when a query that holds one is
        # still a candidate; then every clause of such a query counts.
        disjoint, plain = present.isdisjoint, self.plain_others
        found = [index for index in reached if not any(map(disjoint, plain[index]))]
        stem_queries = self.stem_queries.intersection(found)
        if stem_queries:
            scan.find_stems()
            others = self.others
            found = [
                index
                for index in found
                if index not in stem_queries or not any(map(disjoint, others[index]))
            ]
        found.extend(self.always)
        found.sort()
        return found

    def test(self, index: int, scan: ArticleScan, mask: int) -> bool:
        """Evaluate query ``index`` on a scanned article, within the fields of ``mask``."""
        if index in self.stem_queries:
            scan.find_stems()
        return self.queries[index].evaluator.test(scan, mask)

    def witness(self, index: int, scan: ArticleScan, mask: int) -> list[Occurrence]:
        """Return the term occurrences that made query ``index`` match."""
        if index in self.stem_queries:
            scan.find_stems()
        return self.queries[index].evaluator.witness(scan, mask)


class _Builder:
    """Assigns term ids while compiling trees into evaluators and clauses."""

    def __init__(self) -> None:
        self.terms: list[CompiledTerm] = []
        self.term_ids: dict[str, int] = {}
        self.stems_seen = False  # the query being compiled holds a ~ term
        # what :meth:`cost` reads of each term, by id
        self.expected: list[float] = []
        self.key_lengths: list[int] = []
        self.stem_ids: set[int] = set()

    def query(self, index: int, tree: Node) -> CompiledQuery:
        """Compile one query; its clauses are sorted most selective first."""
        self.stems_seen = False
        evaluator, clauses = self.compile(tree)
        if len(clauses) > 1:
            clauses = sorted(set(clauses), key=self.cost)
        return CompiledQuery(index, evaluator, tuple(clauses), stems=self.stems_seen)

    def leaf(self, node: Term | Regex) -> int:
        """Return the id of a term or regex, shared by every query that uses it."""
        if isinstance(node, Regex):
            key = f"regex:{node.pattern}"
        elif node.stem:
            key = "~" + " ".join(node.words)
            self.stems_seen = True
        else:
            key = " " + " ".join(node.words) + ("" if node.prefix else " ")
        term_id = self.term_ids.get(key)
        if term_id is None:
            term_id = self.term_ids[key] = len(self.terms)
            if isinstance(node, Regex):
                term = CompiledTerm(
                    term_id, key, 0, f"/{node.pattern}/", compile_regex(node.pattern)
                )
            elif node.stem:
                # the words as written, lower-cased: what the stemmers read
                written = word_spans(node.source)
                stem = tuple(node.source[s:e].lower() for s, e in zip(*written, strict=True))
                term = CompiledTerm(term_id, key, len(node.words), key, stem=stem)
            else:
                label = " ".join(node.words) + ("*" if node.prefix else "")
                term = CompiledTerm(term_id, key, len(node.words), label)
            self.terms.append(term)
            self.expected.append(
                0.1 if term.words > 1 else 1.5 if not term.key.endswith(" ") else 1.0
            )
            self.key_lengths.append(len(term.key))
            if term.stem is not None:
                self.stem_ids.add(term_id)
        return term_id

    def compile(self, node: Node) -> tuple[_Eval, list[frozenset[int]]]:
        """Return the evaluator of ``node`` and its clauses.

        A clause is a set of terms one of which must occur for ``node`` to
        match; no clause means no such constraint (``NOT x``, a regex).
        """
        if isinstance(node, Term):
            term_id = self.leaf(node)
            return _TermEval(term_id), [frozenset((term_id,))]
        if isinstance(node, Regex):
            return _RegexEval(self.leaf(node)), []
        if isinstance(node, Not):
            return _NotEval(self.compile(node.operand)[0]), []
        if isinstance(node, Scoped):
            operand, clauses = self.compile(node.operand)
            return _ScopedEval(operand, FIELD_BITS[node.field]), clauses
        if isinstance(node, Near):
            left, left_clauses = self.compile(node.left)
            right, right_clauses = self.compile(node.right)
            return _NearEval(left, right, node.distance, node.ordered), left_clauses + right_clauses
        if isinstance(node, Or) and all(isinstance(op, Term) for op in node.operands):
            term_ids = [self.leaf(op) for op in node.operands if isinstance(op, Term)]
            return _TermSetEval(term_ids), [frozenset(term_ids)]
        parts = [self.compile(op) for op in node.operands]
        evaluators = [evaluator for evaluator, _ in parts]
        if isinstance(node, And):
            return _AndEval(evaluators), [c for _, clauses in parts for c in clauses]
        if not all(clauses for _, clauses in parts):
            return _OrEval(evaluators), []
        # one alternative must hold: the union of each one's smallest clause
        return _OrEval(evaluators), [frozenset().union(*(min(c, key=len) for _, c in parts))]

    def cost(self, clause: frozenset[int]) -> tuple[bool, float, int]:
        """How often a clause is expected to be satisfied, lower first.

        A clause without ``~`` terms comes first: the query is then reached
        from the automaton's hits alone, and the article's words are keyed
        only if it is (see :meth:`Matcher.candidates`). Then phrases are rarer
        than words and exact words rarer than prefixes; ties go to the clause
        whose shortest term is longest.
        """
        expected = 0.0
        for term_id in clause:
            expected += self.expected[term_id]
        stems = not self.stem_ids.isdisjoint(clause)
        return (stems, expected, -min(map(self.key_lengths.__getitem__, clause)))
