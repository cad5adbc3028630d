"""Word segmentation shared by queries and article text.

A word is a run of ``\\w`` characters (letters, digits, underscore), as in
Python's ``re``, except that a combining mark NFC could not merge (a
Cyrillic stress mark) stays inside its word. :func:`word_text` folds a text
(:func:`streams.rules.text.fold`) and turns every other character into a
space, so the words of ``word_text(t).split()`` are the words of ``t``. An
offset into the result is an offset into ``t`` unless ``t`` has irregular
characters (``ß`` folds to two, a stray mark to none); then
:func:`streams.rules.text.fold_offsets` maps it back. It runs at C speed:
``str.translate`` on pure-ASCII text (typographic punctuation, common in
English news, is replaced first to keep that path), else lower-casing and
replacing only the characters that change (:class:`streams.rules.text.CharTable`).

The rule engine matches the words joined by single spaces; a
:class:`Respacer` maps an offset in that joined text back to ``t`` from the
runs of extra spaces alone, so placing a few matches does not cost a pass
over every word.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import accumulate, compress, count
from operator import add
from typing import Final

from streams.rules.text import CharTable, Offsets, fold_char, fold_offsets

# Non-ASCII punctuation frequent in Latin-script news; each becomes a space.
_TYPOGRAPHIC: Final = "’‘“”„«»—–…\u00a0\u202f"


class _WordTable(CharTable):
    """A table of what each character becomes in a word text: a word character folds, any other becomes a space.

    A dropped mark stays dropped, so the letters around it form one word;
    an apostrophe of any kind separates words (``Kyiv's`` is ``kyiv s``).
    """

    def value(self, char: str) -> str:
        folded = fold_char(char)
        is_word = (char.isalnum() or char == "_") and (folded.isalnum() or folded == "_")
        return folded if is_word or not folded else " "


_TABLE: Final = _WordTable()
# where ``word_text(t)`` has more spaces than its words joined by single spaces;
# a literal prefix, so the search runs at C speed (an alternation with ^ is ten times slower)
_DOUBLE_SPACES: Final = re.compile("   *")


def word_text(text: str) -> str:
    """Return ``text`` folded, every non-word character a space.

    The length is the same unless ``text`` has irregular characters (see
    :func:`streams.rules.text.fold_offsets`).

    >>> word_text("Kyiv’s “drone-war”")
    'kyiv s  drone war '
    """
    return ascii_word_text(text)[0]


def ascii_word_text(text: str) -> tuple[str, bool]:
    """Return :func:`word_text` of ``text``, and whether every word of ``text`` is ASCII.

    When they are, each word of the result is its word of ``text`` lower-cased.
    """
    if text.isascii():
        return text.translate(_TABLE), True
    for char in _TYPOGRAPHIC:
        if char in text:
            text = text.replace(char, " ")
    ascii_only = text.encode("ascii", "ignore")
    if len(ascii_only) == len(text):
        # a compact ASCII string again, so translate takes its fast path
        return ascii_only.decode("ascii").translate(_TABLE), True
    return _TABLE.apply(text), False


def words(text: str) -> list[str]:
    """Return the folded words of ``text``."""
    return word_text(text).split()


def word_spans(text: str) -> tuple[list[int], list[int]]:
    """Return the start and end offsets in ``text`` of every word (as :func:`words` splits it)."""
    pieces = word_text(text).split(" ")
    # piece k starts after the k pieces and k spaces before it; empty pieces are runs of spaces
    offsets = map(add, accumulate(map(len, pieces), initial=0), count())
    starts = list(compress(offsets, pieces))
    ends = list(map(add, starts, map(len, filter(None, pieces))))
    original = fold_offsets(text)
    if original is None:
        return starts, ends
    return list(map(original.start, starts)), list(map(original.end, ends))


class Respacer:
    """Maps offsets in ``" ".join(spaced.split())`` back to offsets in the original text.

    ``spaced`` is a :func:`word_text`; the two texts differ only where
    ``spaced`` starts with spaces or has runs of two or more, so the map is
    a shift that grows at each such run. ``original`` maps ``spaced`` to the
    text it was made from when they differ (irregular characters); at the
    start or end of a word its ``start`` and ``end`` agree.
    """

    __slots__ = ("_original", "_runs", "_shifts")

    def __init__(self, spaced: str, original: Offsets | None = None) -> None:
        self._original = original
        # _runs: the joined offset of the one space each run becomes (-1: a leading run);
        # _shifts[k]: the extra spaces before any word after the first k runs
        self._runs: list[int] = []
        self._shifts = [0]
        extra = len(spaced) - len(spaced.lstrip(" "))
        if extra:
            self._runs.append(-1)
            self._shifts.append(extra)
        for run in _DOUBLE_SPACES.finditer(spaced, extra):
            start, end = run.span()
            self._runs.append(start - extra)
            extra += end - start - 1
            self._shifts.append(extra)

    def offset(self, joined: int) -> int:
        """Return the original offset of ``joined``, the start or end of a word in the joined text."""
        spaced = joined + self._shifts[bisect_left(self._runs, joined)]
        return spaced if self._original is None else self._original.start(spaced)
