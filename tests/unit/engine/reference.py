"""A slow, obviously correct evaluator of the query language as the README documents it.

It shares nothing with the engine but the parser's tree: its own folding,
word splitting, term search, regex placement and NEAR, by brute force over
every pair, so the differential test can hold the automaton engine to the
documented semantics:

- Text is folded one character at a time: lower case, without diacritics
  (the combining marks of its canonical decomposition); a Latin letter that
  does not decompose is transliterated (anyascii: ``ł`` -> ``l``, ``ß`` ->
  ``ss``); ``’`` and ``ʼ`` are the apostrophe ``'``; a combining mark left
  alone folds to nothing.
- A word is a run of letters, digits, ``_`` and combining marks; apostrophes
  separate words. A term's words are the words of its text, folded the same
  way. A term occurs where its words are consecutive words of one field;
  ``*`` makes the last a prefix.
- A ``regex:`` matches the folded text of a field with at least one word;
  an empty match does not count. A match sits on the words it overlaps; one
  that starts or ends on a space or punctuation starts at the next word or
  ends at the previous one; one that overlaps no word sits on the next word
  (the field's last word when none follows).
- ``a NEAR/n b``: an occurrence of each side in one field, not overlapping,
  with at most ``n`` words between (``ONEAR``: ``a`` first). Inside another
  NEAR it stands for its shortest matches: for each word where one of its
  matches starts, the shortest starting there, and for each word where one
  ends, the shortest ending there.
- ``title:(...)`` and the rule's ``fields`` restrict the fields searched; NOT
  is the complement, so NOT of anything holds where nothing is searched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from anyascii import anyascii

from schemas import Article
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term

FIELDS = ("title", "summary", "body")

Extent = tuple[str, int, int]
"""``(field, first word, last word)``, word indexes counted within the field."""


def fold_char(char: str) -> str:
    """One character folded: lower case, no diacritics, Latin letters transliterated."""
    if char in "’ʼ":
        return "'"
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    base = base.lower()
    if base and not base.isascii() and unicodedata.name(char, "").startswith("LATIN "):
        base = anyascii(base).lower()
    return base


def fold(text: str) -> str:
    """``text`` folded character by character."""
    return "".join(fold_char(c) for c in text)


def _in_word(char: str) -> bool:
    if char in "'’ʼ":
        return False
    return char.isalnum() or char == "_" or unicodedata.category(char) == "Mn"


def words_with_spans(text: str) -> list[tuple[str, int, int]]:
    """The folded words of ``text`` with their character offsets in it."""
    found = []
    start = None
    for i, char in enumerate([*text, " "]):
        if _in_word(char):
            start = i if start is None else start
        elif start is not None:
            word = fold(text[start:i])
            if word:
                found.append((word, start, i))
            start = None
    return found


def folded_with_origins(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the offset of the one it came from."""
    pieces = [(fold_char(c), i) for i, c in enumerate(text)]
    return "".join(p for p, _ in pieces), [i for p, i in pieces for _ in p]


class Reference:
    """Evaluates query trees on one article; ``fields`` are the rule's searched fields."""

    def __init__(self, article: Article, fields: Collection[str] = FIELDS) -> None:
        self.texts = {name: article.text_of(name) for name in FIELDS}
        self.words = {name: words_with_spans(self.texts[name]) for name in FIELDS}
        self.fields = frozenset(fields)

    def matches(self, tree: Node) -> bool:
        """Does the query fire on the article?"""
        return self._holds(tree, self.fields)

    def _holds(self, node: Node, allowed: frozenset[str]) -> bool:
        if isinstance(node, And):
            return all(self._holds(op, allowed) for op in node.operands)
        if isinstance(node, Not):
            return not self._holds(node.operand, allowed)
        if isinstance(node, Scoped):
            return self._holds(node.operand, allowed & {node.field})
        if isinstance(node, Or):
            return any(self._holds(op, allowed) for op in node.operands)
        return bool(self.occurrences(node, allowed))

    def occurrences(self, node: Node, allowed: Collection[str]) -> set[Extent]:
        """Where a term, a regex, an OR of them or a NEAR occurs in the allowed fields."""
        if isinstance(node, Term):
            return {e for name in allowed for e in self._term(node, name)}
        if isinstance(node, Regex):
            return {e for name in allowed for e in self._regex(node, name)}
        if isinstance(node, Or):
            return {e for op in node.operands for e in self.occurrences(op, allowed)}
        assert isinstance(node, Near), node
        lefts, rights = self.occurrences(node.left, allowed), self.occurrences(node.right, allowed)
        return shortest(
            (a[0], min(a[1], b[1]), max(a[2], b[2]))
            for a in lefts
            for b in rights
            if near(a, b, node.distance, node.ordered)
        )

    def _term(self, term: Term, name: str) -> Iterable[Extent]:
        text = term.source[1:-1] if term.source.startswith('"') else term.source
        prefix = text.endswith("*")
        wanted = [w for w, _, _ in words_with_spans(text[:-1] if prefix else text)]
        found = [w for w, _, _ in self.words[name]]
        for i in range(len(found) - len(wanted) + 1):
            window = found[i : i + len(wanted)]
            head, last = window[:-1], window[-1]
            if head == wanted[:-1] and (
                last.startswith(wanted[-1]) if prefix else last == wanted[-1]
            ):
                yield name, i, i + len(wanted) - 1

    def _regex(self, regex: Regex, name: str) -> Iterable[Extent]:
        spans = [(start, end) for _, start, end in self.words[name]]
        if not spans:
            return
        folded, origins = folded_with_origins(self.texts[name])
        for match in re.finditer(regex.pattern, folded):
            if match.start() == match.end():
                continue
            # the characters of the stored text the match was found in
            start, end = origins[match.start()], origins[match.end() - 1] + 1
            overlapped = [i for i, (s, e) in enumerate(spans) if s < end and start < e]
            if overlapped:
                yield name, overlapped[0], overlapped[-1]
            else:
                following = [i for i, (s, _) in enumerate(spans) if s >= end]
                at = following[0] if following else len(spans) - 1
                yield name, at, at


def near(a: Extent, b: Extent, distance: int, ordered: bool) -> bool:
    """Are ``a`` then ``b`` (or either order unless ``ordered``) apart by at most ``distance`` words?"""
    if a[0] != b[0]:
        return False
    if a[2] < b[1]:
        return b[1] - a[2] - 1 <= distance
    return not ordered and b[2] < a[1] and a[1] - b[2] - 1 <= distance


def shortest(matches: Iterable[Extent]) -> set[Extent]:
    """The shortest match starting at each start, and the shortest ending at each end."""
    every = set(matches)
    kept = set()
    for field, start, end in every:
        if end == min(e for f, s, e in every if (f, s) == (field, start)):
            kept.add((field, start, end))
        if start == max(s for f, s, e in every if (f, e) == (field, end)):
            kept.add((field, start, end))
    return kept
