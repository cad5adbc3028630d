"""The multi-rule matcher: one Aho-Corasick automaton for every term of every query.

An article is scanned once. Its title, summary and body become one *word
stream*: the words of each field (:mod:`streams.rules.words`), folded, joined
by single spaces, fields separated by a sentinel word. Every term is an automaton key
padded with spaces (``" shot down "``, or ``" drone"`` for ``drone*``), so
each automaton hit is already on word boundaries, and the word index of a hit
is the number of spaces before it.

Which queries are worth evaluating is decided from the hits alone: each query
is reduced to a conjunction of *clauses*, sets of terms one of which must occur
for the query to match (``(a OR b) NEAR/5 c`` needs ``{a, b}`` and ``{c}``).
A query is indexed under one clause; it is evaluated only when all its
clauses are satisfied. Queries with no such clause (``NOT x``, a lone regex)
are evaluated for every article. So the cost follows the hits, not the
number of rules.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Final

import ahocorasick
import re2

from schemas import Article
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term
from streams.rules.text import fold
from streams.rules.words import word_spans, words

FIELD_BITS: Final = {"title": 1, "summary": 2, "body": 4}
BIT_FIELDS: Final = {bit: name for name, bit in FIELD_BITS.items()}
ALL_FIELDS: Final = 7

_SENTINEL: Final = "\x01"

Occurrence = tuple[int, int, int, int, int, int]
"""``(field_bit, first_word, last_word, term_id, char_start, char_end)``.

Word indexes are into the article's word stream; the character offsets are
into the field's text (``-1`` until computed from the words).
"""

Position = tuple[int, int, int, tuple[Occurrence, ...]]
"""A NEAR operand: ``(field_bit, first_word, last_word, occurrences it is made of)``."""


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


# --- per-article state --------------------------------------------------------------


class ArticleScan:
    """One article, scanned once: hits per term, and lazily their word positions."""

    __slots__ = (
        "_occurrences",
        "_positions",
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
        pieces: list[str] = []
        # (bit, first word index, word count) of each non-empty field
        self.field_ranges: list[tuple[int, int, int]] = []
        next_word = 0
        for name, bit in FIELD_BITS.items():
            text = article.text_of(name)
            found = words(text) if text else ()
            if not found:
                continue
            if pieces:
                pieces.append(_SENTINEL)
                next_word += 1
            self.field_ranges.append((bit, next_word, len(found)))
            pieces.append(" ".join(found))
            next_word += len(found)
        self.stream = " " + " ".join(pieces) + " "
        # Only which terms occurred is kept; where, is found again for the few
        # terms a candidate query needs (see _term_occurrences).
        self.present: set[int] = set(map(itemgetter(1), matcher.automaton.iter(self.stream)))
        self.folded: dict[int, str] = {}
        self._occurrences: dict[int, list[Occurrence]] = {}
        self._positions: dict[int, list[Position]] = {}
        self._spans: dict[int, tuple[list[int], list[int]]] = {}

    def field_of(self, word: int) -> int:
        """Return the field bit of word index ``word``."""
        for bit, first, count in self.field_ranges:
            if first <= word < first + count:
                return bit
        return 0

    def token_spans(self, bit: int) -> tuple[list[int], list[int]]:
        """Return the start and end offsets of every word of field ``bit``, in its text."""
        spans = self._spans.get(bit)
        if spans is None:
            spans = self._spans[bit] = word_spans(self.article.text_of(BIT_FIELDS[bit]))
        return spans

    def field_start(self, bit: int) -> int:
        """Return the stream index of the first word of field ``bit``."""
        for field_bit, first, _ in self.field_ranges:
            if field_bit == bit:
                return first
        return 0

    def occurrences(self, term_id: int) -> list[Occurrence]:
        """Return every occurrence of a term, in all fields."""
        found = self._occurrences.get(term_id)
        if found is None:
            term = self.terms[term_id]
            found = self._regex_occurrences(term) if term.regex else self._term_occurrences(term)
            self._occurrences[term_id] = found
        return found

    def positions(self, term_id: int) -> list[Position]:
        """Return every occurrence of a term as a NEAR operand position (cached)."""
        found = self._positions.get(term_id)
        if found is None:
            found = [(o[0], o[1], o[2], (o,)) for o in self.occurrences(term_id)]
            self._positions[term_id] = found
        return found

    def _term_occurrences(self, term: CompiledTerm) -> list[Occurrence]:
        """Find a term's occurrences with ``str.find``: cheaper than keeping every hit.

        The word index of a match is the number of spaces before its first
        word minus one (the stream starts with a space), counted incrementally.
        """
        stream, key, term_id = self.stream, term.key, term.id
        span = term.words - 1
        single = self.field_ranges[0][0] if len(self.field_ranges) == 1 else 0
        found: list[Occurrence] = []
        spaces, counted = 0, 0
        position = stream.find(key)
        while position >= 0:
            spaces += stream.count(" ", counted, position + 1)
            counted = position + 1
            first = spaces - 1
            bit = single or self.field_of(first)
            found.append((bit, first, first + span, term_id, -1, -1))
            position = stream.find(key, position + 1)
        return found

    def _regex_occurrences(self, term: CompiledTerm) -> list[Occurrence]:
        assert term.regex is not None
        found: list[Occurrence] = []
        for bit, first, count in self.field_ranges:
            folded = self.folded.get(bit)
            if folded is None:
                folded = self.folded[bit] = fold(self.article.text_of(BIT_FIELDS[bit]))
            starts: list[int] | None = None
            for match in term.regex.finditer(folded):
                start, end = match.start(), match.end()
                if start == end:
                    continue
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

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        raise NotImplementedError


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

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        if self.term_id not in scan.present:
            return []
        found = scan.positions(self.term_id)
        return found if mask == ALL_FIELDS else [p for p in found if p[0] & mask]


class _RegexEval(_TermEval):
    __slots__ = ()

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return any(o[0] & mask for o in scan.occurrences(self.term_id))

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for o in scan.occurrences(self.term_id) if o[0] & mask]

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        return [p for p in scan.positions(self.term_id) if p[0] & mask]


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

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        present = self.term_ids & scan.present
        if mask == ALL_FIELDS:
            return [p for term_id in present for p in scan.positions(term_id)]
        return [p for term_id in present for p in scan.positions(term_id) if p[0] & mask]


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
        return bool(mask & self.bit) and self.operand.test(scan, mask & self.bit)

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return self.operand.witness(scan, mask & self.bit)


class _NearEval(_Eval):
    __slots__ = ("distance", "left", "ordered", "right")

    def __init__(self, left: _Eval, right: _Eval, distance: int, ordered: bool) -> None:
        self.left, self.right, self.distance, self.ordered = left, right, distance, ordered

    def test(self, scan: ArticleScan, mask: int) -> bool:
        return bool(
            self.left.test(scan, mask)
            and self.right.test(scan, mask)
            and self.positions(scan, mask)
        )

    def witness(self, scan: ArticleScan, mask: int) -> list[Occurrence]:
        return [o for p in self.positions(scan, mask) for o in p[3]]

    def positions(self, scan: ArticleScan, mask: int) -> list[Position]:
        lefts = self.left.positions(scan, mask)
        if not lefts:
            return []
        rights = self.right.positions(scan, mask)
        distance, ordered = self.distance, self.ordered
        found = []
        for l_field, l_first, l_last, l_occ in lefts:
            for r_field, r_first, r_last, r_occ in rights:
                if l_field != r_field:
                    continue
                if l_last < r_first:
                    gap = r_first - l_last - 1
                elif not ordered and r_last < l_first:
                    gap = l_first - r_last - 1
                else:
                    continue
                if gap <= distance:
                    found.append(
                        (l_field, min(l_first, r_first), max(l_last, r_last), l_occ + r_occ)
                    )
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
    anchors: dict[int, tuple[int, ...]]
    anchor_terms: frozenset[int]
    always: tuple[int, ...]

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
            if term.regex is None:
                automaton.add_word(term.key, term.id)
        if len(automaton) == 0:
            # an empty automaton cannot be built; a key no word stream contains
            automaton.add_word("\x00", -1)
        automaton.make_automaton()
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
            queries=queries,
            anchors={t: tuple(q) for t, q in anchors.items()},
            anchor_terms=frozenset(anchors),
            always=tuple(always),
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
        anchors = self.anchors
        queries = self.queries
        found = list(self.always)
        seen: set[int] = set()
        for term_id in present & self.anchor_terms:
            for index in anchors[term_id]:
                if index in seen:
                    continue
                seen.add(index)
                for clause in queries[index].clauses[1:]:
                    if clause.isdisjoint(present):
                        break
                else:
                    found.append(index)
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
        key = " " + " ".join(node.words) + ("" if node.prefix else " ")
        label = " ".join(node.words) + ("*" if node.prefix else "")
        return self.term_id(key, lambda i: CompiledTerm(i, key, len(node.words), label))

    def compile(self, node: Node) -> _Eval:
        if isinstance(node, Term):
            return _TermEval(self.leaf(node))
        if isinstance(node, Regex):
            return _RegexEval(self.leaf(node))
        if isinstance(node, And):
            return _AndEval([self.compile(op) for op in node.operands])
        if isinstance(node, Or):
            if all(isinstance(op, Term) for op in node.operands):
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
