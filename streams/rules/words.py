"""Word segmentation shared by queries and article text.

A word is a run of ``\\w`` characters (letters, digits, underscore), as in
Python's ``re``. :func:`word_text` folds a text (:func:`streams.rules.text.fold`)
and turns every other character into a space, keeping the length, so the
words of ``word_text(t).split()`` are the words of ``t`` and an offset into
the result is an offset into ``t``. It runs at C speed through
``str.translate``, which is much faster on pure-ASCII text; typographic
punctuation, common in English news, is replaced first to keep that path.

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

from streams.rules.text import fold

# Non-ASCII punctuation frequent in Latin-script news; each becomes a space.
_TYPOGRAPHIC: Final = "’‘“”„«»—–…\u00a0\u202f"


class _WordTable(dict[int, int]):
    """A ``str.translate`` table: a word character folds, any other becomes a space."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        value = ord(fold(char)) if char.isalnum() or char == "_" else 32
        self[code] = value
        return value


_TABLE: Final = _WordTable()
# where ``word_text(t)`` has more spaces than its words joined by single spaces;
# a literal prefix, so the search runs at C speed (an alternation with ^ is ten times slower)
_DOUBLE_SPACES: Final = re.compile("   *")


def word_text(text: str) -> str:
    """Return ``text`` folded, every non-word character a space, with the same length.

    >>> word_text("Kyiv’s “drone-war”")
    'kyiv s  drone war '
    """
    if not text.isascii():
        for char in _TYPOGRAPHIC:
            if char in text:
                text = text.replace(char, " ")
        ascii_only = text.encode("ascii", "ignore")
        if len(ascii_only) == len(text):
            # a compact ASCII string again, so translate takes its fast path
            text = ascii_only.decode("ascii")
    return text.translate(_TABLE)


def words(text: str) -> list[str]:
    """Return the folded words of ``text``."""
    return word_text(text).split()


def word_spans(text: str) -> tuple[list[int], list[int]]:
    """Return the start and end offsets of every word of ``text`` (as :func:`words` splits it)."""
    pieces = word_text(text).split(" ")
    # piece k starts after the k pieces and k spaces before it; empty pieces are runs of spaces
    offsets = map(add, accumulate(map(len, pieces), initial=0), count())
    starts = list(compress(offsets, pieces))
    return starts, list(map(add, starts, map(len, filter(None, pieces))))


class Respacer:
    """Maps offsets in ``" ".join(spaced.split())`` back to offsets in ``spaced``.

    ``spaced`` is a :func:`word_text`; the two texts differ only where
    ``spaced`` starts with spaces or has runs of two or more, so the map is
    a shift that grows at each such run.
    """

    __slots__ = ("_runs", "_shifts")

    def __init__(self, spaced: str) -> None:
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
        """Return the offset in ``spaced`` of ``joined``, the start or end of a word in the joined text."""
        return joined + self._shifts[bisect_left(self._runs, joined)]
