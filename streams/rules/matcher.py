"""The multi-rule matcher: one Aho-Corasick automaton for every term of every query.

An article is scanned once. Its title, summary and body become one *word
stream*: the words of each field (:mod:`streams.rules.words`), folded, joined
by single spaces, fields separated by a sentinel word. Every term is an automaton key
padded with spaces (``" shot down "``, or ``" drone"`` for ``drone*``), so
each automaton hit is already on word boundaries, and the word index of a hit
is the number of spaces before it. Those are counted only for the hits of a
query that matched (to explain it) or that needs them; a NEAR of plain terms
is tested on the hits' offsets in the stream, counting the spaces between two
hits only when they are close.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, Final

import ahocorasick
import re2

from schemas import Article
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term
from streams.rules.stems import StemIndex, StemTerm
from streams.rules.text import Offsets, fold_offsets, fold_with_offsets
from streams.rules.words import Respacer, word_spans, word_text

FIELD_BITS: Final = {"title": 1, "summary": 2, "body": 4}
BIT_FIELDS: Final = {bit: name for name, bit in FIELD_BITS.items()}
ALL_FIELDS: Final = 7

_SENTINEL: Final = "\x01"
_TERM: Final = itemgetter(1)
# characters per word and space that few stretches of news text exceed
_WORD_WIDTH: Final = 16

Occurrence = tuple[int, int, int, int, int, int]
"""``(field_bit, first_word, last_word, term_id, char_start, char_end)``.

Word indexes are into the article's word stream; the character offsets are
into the field's text.
"""

Spans = Sequence[tuple[int, ...]]
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
        "_backs",
        "_hit_terms",
        "_hits",
        "_occurrences",
        "_respacers",
        "_segments",
        "_spans",
        "article",
        "field_ranges",
        "folded",
        "present",
        "stream",
        "terms",
    )

    def __init__(self, article: Article, matcher: Matcher) -> None:
        self.article = article
        self.terms = matcher.terms
        self._backs = matcher.backs
        pieces: list[str] = []
        # (bit, first word index, word count) of each non-empty field
        self.field_ranges: list[tuple[int, int, int]] = []
        # (bit, stream offset of its first word, word text) of each non-empty field
        self._segments: list[tuple[int, int, str]] = []
        next_word, next_char = 0, 1  # the stream starts with a space
        for name, bit in FIELD_BITS.items():
            text = article.text_of(name)
            if not text:
                continue
            spaced = word_text(text)
            found = spaced.split()
            if not found:
                continue
            if pieces:
                pieces.append(_SENTINEL)
                next_word += 1
                next_char += len(_SENTINEL) + 1
            piece = " ".join(found)
            self.field_ranges.append((bit, next_word, len(found)))
            self._segments.append((bit, next_char, spaced))
            pieces.append(piece)
            next_word += len(found)
            next_char += len(piece) + 1
        self.stream = " " + " ".join(pieces) + " "
        self._hits: list[tuple[int, int]] = list(matcher.automaton.iter(self.stream))
        self._hit_terms: list[int] | None = None
        self.present: set[int] = set(map(_TERM, self._hits))
        self.folded: dict[int, tuple[str, Offsets | None]] = {}
        self._occurrences: dict[int, list[Occurrence]] = {}
        self._spans: dict[int, tuple[list[int], list[int]]] = {}
        self._respacers: dict[int, Respacer] = {}
        if matcher.stems is not None:
            self._find_stems(matcher.stems)

    def _find_stems(self, stems: StemIndex) -> None:
        """Add the ``~`` terms that match (found by the stem index, not the automaton)."""
        fields = []
        for (bit, first, _), (_, _, spaced) in zip(self.field_ranges, self._segments, strict=True):
            starts, ends = self.token_spans(bit)
            text = self.article.text_of(BIT_FIELDS[bit])
            fields.append((bit, first, spaced.split(), list(zip(starts, ends, strict=True)), text))
        language = self.article.language.split("-")[0].lower()
        found = stems.find(language, fields)
        self._occurrences.update(found)
        self.present.update(found)

    def token_spans(self, bit: int) -> tuple[list[int], list[int]]:
        """Return the start and end offsets of every word of field ``bit``, in its text."""
        spans = self._spans.get(bit)
        if spans is None:
            spans = self._spans[bit] = word_spans(self.article.text_of(BIT_FIELDS[bit]))
        return spans

    def hit_bounds(self, term_ids: frozenset[int]) -> list[tuple[int, int]]:
        """Return where the hits of some automaton terms are in the stream.

        Each is ``(space, last)``: the offset of the space before the hit's
        first word and of its last matched character.
        """
        backs = self._backs
        return [
            (end - backs[term_id], end)
            for term_id in term_ids & self.present
            for end, _ in self._term_hits(term_id)
        ]

    def occurrences(self, term_id: int) -> list[Occurrence]:
        """Return every occurrence of a term, in all fields."""
        found = self._occurrences.get(term_id)
        if found is None:
            term = self.terms[term_id]
            found = self._regex_occurrences(term) if term.regex else self._term_occurrences(term)
            self._occurrences[term_id] = found
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
        """Read a term's occurrences from the automaton's hits.

        The word index of a match is the number of spaces before its first
        word minus one (the stream starts with a space), counted from the
        previous hit on; its character offsets are mapped from the stream back
        to the field's text.
        """
        stream, segments = self.stream, self._segments
        offset, span = len(term.key) - 2, term.words - 1
        whole_word = term.key.endswith(" ")
        found: list[Occurrence] = []
        word, counted = -1, 0
        for end, _ in self._term_hits(term.id):
            start = end - offset
            # one term's hits come in text order: count only the spaces since the last
            word += stream.count(" ", counted, start)
            counted = start
            stop = end if whole_word else stream.find(" ", end)
            segment = segments[0]
            for later in segments[1:]:
                if later[1] <= start:
                    segment = later
            bit, base = segment[0], segment[1]
            respacer = self._respacers.get(bit)
            if respacer is None:
                respacer = self._respacers[bit] = Respacer(
                    segment[2], fold_offsets(self.article.text_of(BIT_FIELDS[bit]))
                )
            found.append(
                (
                    bit,
                    word,
                    word + span,
                    term.id,
                    respacer.offset(start - base),
                    respacer.offset(stop - base),
                )
            )
        return found

    def _regex_occurrences(self, term: CompiledTerm) -> list[Occurrence]:
        assert term.regex is not None
        found: list[Occurrence] = []
        for bit, first, count in self.field_ranges:
            folding = self.folded.get(bit)
            if folding is None:
                folding = self.folded[bit] = fold_with_offsets(
                    self.article.text_of(BIT_FIELDS[bit])
                )
            folded, original = folding
            starts: list[int] | None = None
            for match in term.regex.finditer(folded):
                start, end = match.start(), match.end()
                if start == end:
                    continue
                if original is not None:
                    start, end = original.start(start), original.end(end)
                if starts is None:
                    starts = self.token_spans(bit)[0]
                low = max(bisect_right(starts, start) - 1, 0)
                high = max(bisect_right(starts, end - 1) - 1, low)
                found.append(
                    (
                        bit,
                        first + min(low, count - 1),
                        first + min(high, count - 1),
                        term.id,
                        start,
                        end,
                    )
                )
        return found


# --- evaluators ---------------------------------------------------------------------


class _Eval:
    """A compiled query node: a test, and the occurrences that witness a match."""

    __slots__ = ()

    def test(self, scan: ArticleScan, mask: int) -> bool:
        raise NotImplementedError

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        raise NotImplementedError

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        raise NotImplementedError

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        return [(o[0], o[1], o[2], (o,)) for o in self.witness(scan, mask)]


class _TermEval(_Eval):
    __slots__ = ("term_id",)

    def __init__(self, term_id: int) -> None:
        self.term_id = term_id

    def test(self, scan: ArticleScan, mask: int) -> bool:
        if self.term_id not in scan.present:
            return False
        if mask == ALL_FIELDS:
            return True
        return any(o[0] & mask for o in scan.occurrences(self.term_id))

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        if self.term_id not in scan.present:
            return []
        return [o for o in scan.occurrences(self.term_id) if o[0] & mask]

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


class _StemEval(_RegexEval):
    """A ``~`` term: its occurrences come from the stem index, found when the article is scanned."""

    __slots__ = ()


class _TermSetEval(_Eval):
    """An OR of plain terms, the most common NEAR operand, tested with one set operation."""

    __slots__ = ("term_ids",)

    def __init__(self, term_ids: Sequence[int]) -> None:
        self.term_ids = frozenset(term_ids)

    def test(self, scan: ArticleScan, mask: int) -> bool:
        if self.term_ids.isdisjoint(scan.present):
            return False
        if mask == ALL_FIELDS:
            return True
        return bool(self.witness(scan, mask))

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [
            o
            for term_id in self.term_ids & scan.present
            for o in scan.occurrences(term_id)
            if o[0] & mask
        ]

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
    """Return the terms of ``node`` if it is a term or an OR of terms matched by the automaton."""
    if isinstance(node, _TermSetEval):
        return node.term_ids
    if isinstance(node, _TermEval) and not isinstance(node, _RegexEval):
        return frozenset((node.term_id,))
    return None


class _NearEval(_Eval):
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
        if self.plain is not None and mask == ALL_FIELDS:
            return self._close_in_stream(scan, *self.plain)
        lefts = self.left.spans(scan, mask)
        if not lefts:
            return False
        rights = self.right.spans(scan, mask)
        if not rights:
            return False
        # gap + 1 <= distance + 1, where the gap is the number of words between
        # (the closeness test of _pairs, inlined: this is the hot path and stops at the first pair)
        reach, ordered = self.distance + 1, self.ordered
        for left in lefts:
            field, first, last = left[0], left[1], left[2]
            for right in rights:
                if right[0] == field and (
                    (last < right[1] and right[1] - last <= reach)
                    or (not ordered and right[2] < first and first - right[2] <= reach)
                ):
                    return True
        return False

    def _close_in_stream(
        self, scan: ArticleScan, left: frozenset[int], right: frozenset[int]
    ) -> bool:
        """:meth:`test` of two plain operands in all fields, on the hits' stream offsets.

        Most candidate NEAR queries have both operands somewhere in the
        article but not near each other; this tells without the word index
        of any hit. From the last character of one hit to the space before
        the next there are as many spaces as words between them plus one;
        they are counted only when that stretch is short enough to hold at
        most ``distance + 1`` of them, and it must not cross a field.
        """
        if left.isdisjoint(scan.present) or right.isdisjoint(scan.present):
            return False
        lefts, rights = scan.hit_bounds(left), scan.hit_bounds(right)
        reach, ordered = self.distance + 1, self.ordered
        # Counting the spaces of a long stretch costs a pass over it: first count
        # those of a prefix that would hold more than `reach` of them in any
        # ordinary text, which settles most far pairs cheaply.
        probe = (reach + 1) * _WORD_WIDTH
        stream = scan.stream
        fields = len(scan.field_ranges) > 1
        for space, last in lefts:
            for right_space, right_last in rights:
                if right_space >= last:
                    start, end = last, right_space + 1
                elif not ordered and space >= right_last:
                    start, end = right_last, space + 1
                else:
                    continue
                if stream.count(" ", start, min(end, start + probe)) > reach:
                    continue
                if end - start > probe and stream.count(" ", start, end) > reach:
                    continue
                if not (fields and stream.find(_SENTINEL, start, end) >= 0):
                    return True
        return False

    def spans(self, scan: ArticleScan, mask: int) -> Spans:
        return [
            (p[0], p[1], p[2]) for p in self._pairs(scan, mask, self.left.spans, self.right.spans)
        ]

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for p in self.positions(scan, mask) for o in p[3]]

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        return [
            (p[0], p[1], p[2], (*p[3][3], *p[4][3]))
            for p in self._pairs(scan, mask, self.left.positions, self.right.positions)
        ]

    def _pairs(
        self,
        scan: ArticleScan,
        mask: int,
        left_of: Callable[[ArticleScan, int], Sequence[tuple[Any, ...]]],
        right_of: Callable[[ArticleScan, int], Sequence[tuple[Any, ...]]],
    ) -> list[tuple[int, int, int, Any, Any]]:
        """Every pair of a left and a right operand close enough, with its extent."""
        lefts = left_of(scan, mask)
        rights = right_of(scan, mask) if lefts else ()
        reach, ordered = self.distance + 1, self.ordered
        found = []
        for left in lefts:
            field, first, last = left[0], left[1], left[2]
            for right in rights:
                if right[0] == field and (
                    (last < right[1] and right[1] - last <= reach)
                    or (not ordered and right[2] < first and first - right[2] <= reach)
                ):
                    found.append((field, min(first, right[1]), max(last, right[2]), left, right))
        return found


# --- compiling ----------------------------------------------------------------------


@dataclass(slots=True)
class CompiledQuery:
    """One query of one rule, ready to test: its evaluator and its clauses."""

    index: int
    evaluator: _Eval
    clauses: tuple[frozenset[int], ...]


@dataclass
class Matcher:
    """Every query of a rule set, compiled into one automaton and per-query evaluators.

    Build it with :meth:`build`; then :meth:`scan` an article and ask
    :meth:`candidates` which queries to :meth:`test`.
    """

    automaton: ahocorasick.Automaton
    terms: list[CompiledTerm]
    queries: list[CompiledQuery]
    backs: list[int]
    anchors: dict[int, tuple[int, ...]]
    anchor_terms: frozenset[int]
    others: tuple[tuple[frozenset[int], ...], ...]
    always: tuple[int, ...]
    stems: StemIndex | None = None

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
        anchors: dict[int, list[int]] = {}
        always: list[int] = []
        for query in queries:
            if not query.clauses:
                always.append(query.index)
                continue
            for term_id in query.clauses[0]:
                anchors.setdefault(term_id, []).append(query.index)
        return cls(
            automaton=automaton,
            terms=builder.terms,
            # from the end of a hit back to the space before it
            backs=[len(term.key) - 1 for term in builder.terms],
            queries=queries,
            anchors={t: tuple(q) for t, q in anchors.items()},
            anchor_terms=frozenset(anchors),
            others=tuple(query.clauses[1:] for query in queries),
            always=tuple(always),
            stems=StemIndex(stem_terms) if stem_terms else None,
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
        disjoint, others = present.isdisjoint, self.others
        found = [index for index in reached if not any(map(disjoint, others[index]))]
        found.extend(self.always)
        found.sort()
        return found

    def test(self, index: int, scan: ArticleScan, mask: int) -> bool:
        """Evaluate query ``index`` on a scanned article, within the fields of ``mask``."""
        return self.queries[index].evaluator.test(scan, mask)

    def witness(self, index: int, scan: ArticleScan, mask: int) -> list[Occurrence]:
        """Return the term occurrences that made query ``index`` match."""
        return self.queries[index].evaluator.witness(scan, mask)


class _Builder:
    """Assigns term and clause ids while compiling trees into evaluators."""

    def __init__(self) -> None:
        self.terms: list[CompiledTerm] = []
        self.term_ids: dict[str, int] = {}

    def query(self, index: int, tree: Node) -> CompiledQuery:
        """Compile one query; its clauses are sorted most selective first."""
        evaluator = self.compile(tree)
        clauses = sorted(set(self.clauses(tree)), key=self.cost)
        return CompiledQuery(index, evaluator, tuple(clauses))

    def term_id(self, key: str, make: Callable[[int], CompiledTerm]) -> int:
        term_id = self.term_ids.get(key)
        if term_id is None:
            term_id = self.term_ids[key] = len(self.terms)
            self.terms.append(make(term_id))
        return term_id

    def leaf(self, node: Term | Regex) -> int:
        if isinstance(node, Regex):
            regex = compile_regex(node.pattern)
            return self.term_id(
                f"regex:{node.pattern}",
                lambda i: CompiledTerm(i, f"regex:{node.pattern}", 0, f"/{node.pattern}/", regex),
            )
        if node.stem:
            stem_key = "~" + " ".join(node.words)
            written = word_spans(node.source)
            stem = tuple(node.source[s:e].lower() for s, e in zip(*written, strict=True))
            return self.term_id(
                stem_key, lambda i: CompiledTerm(i, stem_key, len(node.words), stem_key, stem=stem)
            )
        key = " " + " ".join(node.words) + ("" if node.prefix else " ")
        label = " ".join(node.words) + ("*" if node.prefix else "")
        return self.term_id(key, lambda i: CompiledTerm(i, key, len(node.words), label))

    def compile(self, node: Node) -> _Eval:
        if isinstance(node, Term):
            return _StemEval(self.leaf(node)) if node.stem else _TermEval(self.leaf(node))
        if isinstance(node, Regex):
            return _RegexEval(self.leaf(node))
        if isinstance(node, And):
            return _AndEval([self.compile(op) for op in node.operands])
        if isinstance(node, Or):
            if all(isinstance(op, Term) and not op.stem for op in node.operands):
                return _TermSetEval([self.leaf(op) for op in node.operands if isinstance(op, Term)])
            return _OrEval([self.compile(op) for op in node.operands])
        if isinstance(node, Not):
            return _NotEval(self.compile(node.operand))
        if isinstance(node, Scoped):
            return _ScopedEval(self.compile(node.operand), FIELD_BITS[node.field])
        return _NearEval(
            self.compile(node.left), self.compile(node.right), node.distance, node.ordered
        )

    def clauses(self, node: Node) -> list[frozenset[int]]:
        """Sets of terms, one of each must occur for ``node`` to match; [] = no constraint."""
        if isinstance(node, Term):
            return [frozenset((self.leaf(node),))]
        if isinstance(node, Regex | Not):
            return []
        if isinstance(node, Scoped):
            return self.clauses(node.operand)
        if isinstance(node, And):
            return [c for op in node.operands for c in self.clauses(op)]
        if isinstance(node, Near):
            return self.clauses(node.left) + self.clauses(node.right)
        alternatives = [self.clauses(op) for op in node.operands]
        if not all(alternatives):
            return []
        return [frozenset().union(*(min(a, key=len) for a in alternatives))]

    def cost(self, clause: frozenset[int]) -> tuple[float, int]:
        """How often a clause is expected to be satisfied, lower first.

        Phrases are rarer than words and exact words rarer than prefixes; ties
        go to the clause whose shortest term is longest.
        """
        expected = 0.0
        for term_id in clause:
            term = self.terms[term_id]
            expected += 0.1 if term.words > 1 else 1.5 if not term.key.endswith(" ") else 1.0
        return (expected, -min(len(self.terms[t].key) for t in clause))
