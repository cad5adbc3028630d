"""Near-verbatim copies: MinHash sketches of an article's opening.

The cheap first step of clustering. Each article gets a bottom-k MinHash
sketch of the word 4-shingles of its opening: the ``k`` smallest hashes of
its shingles. Two sketches estimate the Jaccard similarity of the shingle
sets; a wire reprint or a lightly edited syndicated copy scores far above
any independent report of the same event, which shares facts but not
sentences.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Final

SHINGLE_WORDS: Final = 4
SKETCH_SIZE: Final = 16
"""Hashes kept per article: enough to tell a copy (resemblance 0.7 and more) from
a rewrite (0.1 and less), at a sixth of the memory of the 64 used before."""
SKETCH_CHARS: Final = 1_000
"""Only the opening of an article is sketched (title, summary, lead): copies of a
wire story share it, and the cost stays the same whatever the length."""
INDEXED_HASHES: Final = 4
"""The smallest hashes of a sketch are looked up in the index: two sketches whose
sets resemble each other at 0.5 share one of their four smallest with
probability about 0.94, and 0.99 at 0.7."""
MAX_CACHED_WORDS: Final = 500_000

_WORD: Final = re.compile(r"\w+")


class _WordIds(dict[str, int]):
    """Word -> CRC-32, computed on first sight; a bounded cache of the vocabulary."""

    def __missing__(self, word: str) -> int:
        value = zlib.crc32(word.encode("utf-8"))
        if len(self) < MAX_CACHED_WORDS:
            self[word] = value
        return value


_WORD_IDS: Final = _WordIds()


def sketch_text(text: str, size: int = SKETCH_SIZE) -> tuple[int, ...]:
    """Return the bottom-``size`` sketch of the opening of ``text``: its smallest shingle hashes, sorted.

    Words become CRC-32 numbers and a shingle is the hash of a tuple of four
    of them: CPython hashes integers and tuples of them the same way in every
    process (unlike strings, whose hash is salted per process), so workers
    agree on sketches while the whole computation stays in C.
    """
    ids = list(map(_WORD_IDS.__getitem__, _WORD.findall(text[:SKETCH_CHARS].casefold())))
    if not ids:
        return ()
    if len(ids) < SHINGLE_WORDS:
        shingles = {hash(tuple(ids))}
    else:
        shingles = set(map(hash, zip(ids, ids[1:], ids[2:], ids[3:], strict=False)))
    return tuple(sorted(shingles)[:size])


def resemblance(a: Sequence[int], b: Sequence[int], size: int = SKETCH_SIZE) -> float:
    """Estimate the Jaccard similarity of the shingle sets behind sketches ``a`` and ``b``."""
    if not a or not b:
        return 0.0
    union = sorted(set(a) | set(b))[:size]
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / len(union)
