"""Stories: grouping near-duplicate articles (one story syndicated by several outlets).

Each article gets a bottom-k MinHash sketch of its word 4-shingles: the ``k``
smallest hashes of the shingles. Two sketches estimate the Jaccard
similarity of the shingle sets; above a threshold the articles are one story,
and the later one takes the story id of the earlier one (a story id is the id
of its first article).

Where the index lives: articles are keyed by article id, so the copies of a
story land on different partitions and often on different workers. Every
worker therefore keeps the whole index in memory, and every assignment is
published on the pipeline's internal ``stories`` topic, which every worker
follows (see :mod:`streams.follower`). Copies handled on two workers within
the same few milliseconds may open two stories; later copies then join the
one with the smallest id, so the split does not grow. Only articles a rule
fires on are indexed (stories serve alerts), so the topic carries a small
fraction of the articles.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict

SHINGLE_WORDS = 4
SKETCH_SIZE = 64
SKETCH_CHARS = 1_000
"""Only the opening of an article is sketched (title, summary, lead): copies of a
wire story share it, and the cost stays near 0.1 ms whatever the length."""
MAX_CACHED_WORDS = 500_000
INDEXED_HASHES = 16
"""Only the smallest hashes of a sketch go in the inverted index: copies share
at least one of them with near certainty, and the index stays small."""

_WORD = re.compile(r"\w+")


class _WordIds(dict[str, int]):
    """Word -> CRC-32, computed on first sight; a bounded cache of the vocabulary."""

    def __missing__(self, word: str) -> int:
        value = zlib.crc32(word.encode("utf-8"))
        if len(self) < MAX_CACHED_WORDS:
            self[word] = value
        return value


_WORD_IDS = _WordIds()


def sketch_text(text: str, size: int = SKETCH_SIZE) -> tuple[int, ...]:
    """Return the bottom-``size`` sketch of the opening of ``text``: its smallest shingle hashes.

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


def similarity(a: tuple[int, ...], b: tuple[int, ...], size: int = SKETCH_SIZE) -> float:
    """Estimate the Jaccard similarity of the shingle sets behind sketches ``a`` and ``b``."""
    if not a or not b:
        return 0.0
    union = sorted(set(a) | set(b))[:size]
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / len(union)


class StoryEntry(BaseModel):
    """One article in the story index, as published on the stories topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    article_id: str
    story_id: str
    sketch: tuple[int, ...]
    at: float
    """When the article was indexed, in Unix seconds."""


class StoryIndex:
    """Near-duplicate index over the articles of the last ``window_s`` seconds.

    Args:
        window_s: how long an indexed article can attract copies.
        threshold: estimated Jaccard similarity at which two articles are one story.
        max_entries: the oldest entries are forgotten first beyond this many.
    """

    def __init__(self, window_s: float, threshold: float, max_entries: int) -> None:
        self._window_s = window_s
        self._threshold = threshold
        self._max_entries = max_entries
        self._entries: dict[str, StoryEntry] = {}
        self._order: deque[str] = deque()
        self._postings: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def assign(
        self,
        article_id: str,
        sketch: tuple[int, ...],
        at: float,
        *,
        apart_from: Collection[str] = (),
    ) -> StoryEntry:
        """Return the story entry of ``article_id``, indexing it if it is new.

        An article already indexed keeps its story (so a replay after a crash
        gets the same story id). Otherwise the most similar indexed article at
        or above the threshold gives its story; ties go to the smallest story
        id; with no match the article opens a story of its own id. Stories of
        the articles ``apart_from`` (a page and its teasers) are never joined.
        """
        self._expire(at)
        known = self._entries.get(article_id)
        if known is not None:
            return known
        best: tuple[float, str] | None = None
        barred = {e.story_id for a in apart_from if (e := self._entries.get(a)) is not None}
        for candidate_id in self._candidates(sketch):
            candidate = self._entries[candidate_id]
            if candidate.story_id in barred or candidate_id in apart_from:
                continue
            score = similarity(sketch, candidate.sketch)
            if score < self._threshold:
                continue
            if best is None or (-score, candidate.story_id) < (-best[0], best[1]):
                best = (score, candidate.story_id)
        entry = StoryEntry(
            article_id=article_id,
            story_id=best[1] if best else article_id,
            sketch=sketch,
            at=at,
        )
        self._add(entry)
        return entry

    def observe(self, entry: StoryEntry) -> None:
        """Add an entry another worker (or an earlier run) published; repeats are ignored."""
        if entry.article_id not in self._entries:
            self._add(entry)

    def _candidates(self, sketch: tuple[int, ...]) -> set[str]:
        found: set[str] = set()
        for h in sketch[:INDEXED_HASHES]:
            found |= self._postings.get(h, set())
        return found

    def _add(self, entry: StoryEntry) -> None:
        self._entries[entry.article_id] = entry
        self._order.append(entry.article_id)
        for h in entry.sketch[:INDEXED_HASHES]:
            self._postings.setdefault(h, set()).add(entry.article_id)
        while len(self._entries) > self._max_entries:
            self._drop(self._order.popleft())

    def _expire(self, now: float) -> None:
        horizon = now - self._window_s
        while self._order:
            entry = self._entries.get(self._order[0])
            if entry is not None and entry.at > horizon:
                return
            self._drop(self._order.popleft())

    def _drop(self, article_id: str) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        for h in entry.sketch[:INDEXED_HASHES]:
            posting = self._postings.get(h)
            if posting is not None:
                posting.discard(article_id)
                if not posting:
                    del self._postings[h]
