"""The open stories of the window: their aggregate features, document frequencies and indexes.

Plain data and deterministic updates only: the cluster agent decides with
this state and every worker rebuilds it by applying the stories topic in
order (:meth:`StoryIndex.apply`), so every update must give the same result
in every process. Nothing iterates a set (string hashes are salted per
process); ties are broken by story age or id.

Bounds, so memory does not grow with traffic:

- a story keeps at most :data:`MAX_FEATURES` features (the ones most of its
  articles share), :data:`MAX_SKETCHES` sketches of original articles,
  :data:`MAX_FIGURES` figures and :data:`MAX_RULES` rule ids;
- a story stops absorbing at ``max_articles`` members;
- at most ``max_open`` stories are open; a story closes when nothing joined
  it for ``window_s`` of record time, or when it is the least recently
  joined one beyond ``max_open``;
- a posting list (the stories sharing one feature) keeps the
  :data:`POSTING_CAP` most recently joined stories, so an article that
  mentions Russia is compared with recent Russia stories, not all of them.
"""

from __future__ import annotations

import heapq
import math
import sys
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final, Generic, TypeVar

from schemas.stories import StoryAssignment, StoryFeatures
from streams.stories.copies import INDEXED_HASHES

MAX_FEATURES: Final = 64
MAX_SKETCHES: Final = 4
MAX_FIGURES: Final = 12
MAX_RULES: Final = 64
MAX_LANGUAGES: Final = 8
POSTING_CAP: Final = 48
IDF_PRIOR: Final = 20
"""Pseudo-stories behind the document frequencies, so that while few stories are
open a feature's rarity comes from what is usual for its kind (below) rather
than from the first few stories; once thousands are open the prior vanishes."""
PRIOR_SHARE: Final = {
    "country": 0.25, "org": 0.1, "commodity": 0.1, "person": 0.05, "place": 0.05,
    "year": 0.25, "number": 0.03, "term": 0.02,
}  # fmt: skip
"""The share of news stories assumed to have a feature of each kind before any is seen:
most stories name a country or a year, few name one town or one number."""
KNOWN_ARTICLES: Final = 50_000
"""Decisions remembered by article id, so a replayed request gets the same answer
and a worker reading back its own decisions skips them. Replays reach back one
commit interval, and a worker reads its own records within seconds."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an article went: its story, and the original it copies (if it is a copy)."""

    story_id: str
    copy_of: str | None = None
    copy_of_source: str | None = None


def feature_keys(features: StoryFeatures) -> dict[str, float]:
    """Return the article's feature keys with the weight each side of a comparison gives them.

    Keys are namespaced: ``t:<language>:`` terms (words compare within a
    language only), ``e:`` entities, ``n:`` numbers, ``c:`` categories. What
    the title and lead say weighs 1, what only the rest of the body says weighs
    half: a report that recalls another event in its last paragraph is not a
    report of that event.
    """
    # Interned: the open stories, the frequencies and the postings share one
    # string per feature instead of one per article.
    keys: dict[str, float] = {}
    language = primary(features.language)
    for term in features.terms:
        keys[sys.intern(f"t:{language}:{term}")] = 1.0
    for entity in features.entities:
        keys[sys.intern(f"e:{entity}")] = 1.0
    for entity in features.body_entities:
        keys.setdefault(sys.intern(f"e:{entity}"), 0.5)
    for number in features.numbers:
        keys[sys.intern(f"n:{number}")] = 1.0
    for number in features.body_numbers:
        keys.setdefault(sys.intern(f"n:{number}"), 0.5)
    for category in features.categories:
        keys[sys.intern(f"c:{category}")] = 1.0
    return keys


def _kind(key: str) -> str:
    """The kind of a feature key, for its prior document frequency."""
    if key[0] == "e":
        return key[2 : key.index(":", 2)]
    if key[0] == "n":
        return "year" if len(key) == 6 and key[2:4] in ("19", "20") else "number"
    return "term"


def primary(language: str | None) -> str:
    """``"uk-UA"`` -> ``"uk"``; None -> ``""``."""
    return (language or "").split("-")[0].lower()


K = TypeVar("K", bound=Hashable)


class Postings(Generic[K]):
    """Feature -> the ids of the most recently joined stories that have it (at most ``cap``).

    Most features belong to one story only; their id is kept without a list
    around it, which halves what a rare feature costs.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lists: dict[K, str | list[str]] = {}

    def __len__(self) -> int:
        return len(self._lists)

    def __contains__(self, key: object) -> bool:
        return key in self._lists

    def get(self, key: K) -> Sequence[str]:
        """The story ids of ``key``, least recently joined first."""
        found = self._lists.get(key)
        if found is None:
            return ()
        return (found,) if isinstance(found, str) else found

    def add(self, key: K, story_id: str, *, new: bool = False) -> None:
        """Put ``story_id`` last for ``key``, dropping the first one beyond the cap.

        Args:
            new: the caller knows ``story_id`` is not there yet (saves a search).
        """
        found = self._lists.get(key)
        if found is None:
            self._lists[key] = story_id
        elif isinstance(found, str):
            if found != story_id:
                self._lists[key] = [found, story_id]
        else:
            if not new and story_id in found:
                found.remove(story_id)
            found.append(story_id)
            if len(found) > self.cap:
                del found[0]

    def discard(self, key: K, story_id: str) -> None:
        """Remove ``story_id`` from ``key``, if it is there."""
        found = self._lists.get(key)
        if found is None:
            return
        if isinstance(found, str):
            if found == story_id:
                del self._lists[key]
            return
        if story_id in found:
            found.remove(story_id)
            if len(found) == 1:
                self._lists[key] = found[0]


@dataclass(slots=True, eq=False)
class OpenStory:
    """One open story: what its articles have in common, and when they came.

    ``features`` counts, per feature key, the original (non-copy) articles
    that have it, in half units: 2 for an article that has it in its title or
    lead, 1 for one that has it only later in the body. ``first_at``/``last_at`` span the articles' event times;
    ``touched_at`` is the record time of the last article that joined.
    """

    story_id: str
    seq: int
    first_at: float
    last_at: float
    touched_at: float
    members: int = 0
    originals: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    """Original articles per language: words compare only with articles of one language."""
    rules: list[str] = field(default_factory=list)
    features: dict[str, int] = field(default_factory=dict)
    figures: list[tuple[str, float | None, float]] = field(default_factory=list)
    sketches: list[tuple[Sequence[int], str, str]] = field(default_factory=list)
    """``(sketch, article id, source)`` of original articles, to recognise their copies."""
    mass: dict[str, float] = field(default_factory=dict)
    """Per part (``e``, ``n``, ``t:<language>``), the rarity-weighted sum of the features,
    as of the story's last change; ``c``: the number of categories."""
    pages: list[str] = field(default_factory=list)
    """``<kind>:<page id>`` of its articles that are pages with teasers, or teasers
    (:attr:`StoryFeatures.page`): a page and its teasers are kept apart. At most one
    per member, so bounded by ``max_articles``."""

    def keeps_apart(self, kind: str, page: str | None) -> bool:
        """True when the story holds the page of a teaser (``kind`` teaser) or a teaser of a page."""
        if page is None:
            return False
        return f"{'article' if kind == 'teaser' else 'teaser'}:{page}" in self.pages


class StoryIndex:
    """The open stories and the indexes that find candidates for a new article.

    Args:
        window_s: how long a story stays open after its last article (record time).
        max_open: the most stories open at once.
        max_articles: a story with this many articles stops absorbing.
    """

    def __init__(self, *, window_s: float, max_open: int, max_articles: int) -> None:
        self.window_s = window_s
        self.max_open = max_open
        self.max_articles = max_articles
        self.stories: OrderedDict[str, OpenStory] = OrderedDict()
        """Least recently joined first."""
        self.df: dict[str, int] = {}
        self.postings: Postings[str] = Postings(POSTING_CAP)
        self.sketch_postings: Postings[int] = Postings(POSTING_CAP)
        self.known: OrderedDict[str, Placement] = OrderedDict()
        self.watermark = 0.0
        self.seq = 0

    def __len__(self) -> int:
        return len(self.stories)

    def idf(self, key: str) -> float:
        """Inverse document frequency of ``key`` over the open stories and :data:`IDF_PRIOR` pseudo-stories."""
        prior = IDF_PRIOR * PRIOR_SHARE[_kind(key)]
        return math.log((len(self.stories) + IDF_PRIOR) / (self.df.get(key, 0) + prior + 1))

    # --- reading ------------------------------------------------------------

    def candidates(self, weights: dict[str, float], limit: int, probes: int) -> list[OpenStory]:
        """Return up to ``limit`` open stories sharing the heaviest of ``weights``' keys, most shared first.

        Only the ``probes`` heaviest keys found in the index are looked up, and
        each posting list holds the most recently joined stories only, so the
        work is bounded whatever the number of open stories. Ties keep the
        order the postings gave (deterministic).
        """
        postings = self.postings
        ranked = heapq.nlargest(
            probes, ((w, k) for k, w in weights.items() if k in postings), key=itemgetter(0)
        )
        tally: dict[str, float] = {}
        for weight, key in ranked:
            for story_id in postings.get(key):
                tally[story_id] = tally.get(story_id, 0.0) + weight
        best = heapq.nlargest(limit, tally.items(), key=itemgetter(1))
        return [self.stories[story_id] for story_id, _ in best]

    def copy_candidates(self, sketch: tuple[int, ...]) -> list[OpenStory]:
        """Return the open stories with an original article whose sketch shares one of the smallest hashes."""
        found: dict[str, None] = {}
        for h in sketch[:INDEXED_HASHES]:
            for story_id in self.sketch_postings.get(h):
                found.setdefault(story_id)
        return [self.stories[story_id] for story_id in found]

    # --- applying decisions -------------------------------------------------

    def apply(self, assignment: StoryAssignment) -> list[str]:
        """Apply one decision of the cluster agent; return the stories it made full.

        Idempotent: an article already applied is ignored, so a worker may
        apply its own decisions and then read them again on the stories topic.
        """
        features = assignment.features
        decision = assignment.decision
        if features.article_id in self.known:
            return []
        self.expire(features.record_at.timestamp())
        for absorbed_id in decision.merged:
            self.merge(decision.story_id, absorbed_id)
        story = self.stories.get(decision.story_id)
        if story is None:
            story = self._open(decision.story_id, features)
        was_full = story.members >= self.max_articles
        self._add(story, features, assignment)
        self.refresh(story)
        self._remember(features.article_id, assignment)
        self._evict()
        return [story.story_id] if not was_full and story.members >= self.max_articles else []

    def expire(self, now: float) -> None:
        """Close the stories nothing joined within the window before ``now`` (record time)."""
        self.watermark = max(self.watermark, now)
        horizon = self.watermark - self.window_s
        while self.stories:
            story = next(iter(self.stories.values()))
            if story.touched_at > horizon:
                return
            self._close(story)

    def merge(self, into_id: str, absorbed_id: str) -> None:
        """Fold story ``absorbed_id`` into ``into_id`` and close it (ignored if either is not open)."""
        into = self.stories.get(into_id)
        absorbed = self.stories.get(absorbed_id)
        if into is None or absorbed is None or into is absorbed:
            return
        into.first_at = min(into.first_at, absorbed.first_at)
        into.last_at = max(into.last_at, absorbed.last_at)
        into.touched_at = max(into.touched_at, absorbed.touched_at)
        into.members += absorbed.members
        into.originals += absorbed.originals
        for language, count in absorbed.languages.items():
            into.languages[language] = into.languages.get(language, 0) + count
        _extend(into.rules, absorbed.rules, MAX_RULES)
        into.pages.extend(absorbed.pages)
        for key, count in absorbed.features.items():
            self._count(into, key, count)
        self._trim(into)
        into.figures = (into.figures + absorbed.figures)[-MAX_FIGURES:]
        for sketch in absorbed.sketches:
            self._add_sketch(into, sketch)
        self._close(absorbed)
        self.refresh(into)
        self.stories.move_to_end(into_id)

    def refresh(self, story: OpenStory) -> None:
        """Compute the story's :attr:`~OpenStory.mass` with the rarities of now."""
        halves = 2 * max(1, story.originals)
        mass: dict[str, float] = {"c": 0.0}
        for key, count in story.features.items():
            part = key[0]
            if part == "c":
                mass["c"] += 1
                continue
            if part == "t":
                language = key[2 : key.index(":", 2)]
                part = f"t:{language}"
                share = min(1.0, count / (2 * max(1, story.languages.get(language, 0))))
            else:
                share = min(1.0, count / halves)
            mass[part] = mass.get(part, 0.0) + self.idf(key) * share
        story.mass = mass

    def _open(self, story_id: str, features: StoryFeatures) -> OpenStory:
        self.seq += 1
        at = features.event_at.timestamp()
        story = OpenStory(story_id, self.seq, at, at, features.record_at.timestamp())
        self.stories[story_id] = story
        return story

    def _add(self, story: OpenStory, features: StoryFeatures, assignment: StoryAssignment) -> None:
        at = features.event_at.timestamp()
        story.first_at = min(story.first_at, at)
        story.last_at = max(story.last_at, at)
        story.touched_at = max(story.touched_at, features.record_at.timestamp())
        story.members += 1
        _extend(story.rules, assignment.story_rules, MAX_RULES)
        if features.page is not None:
            story.pages.append(f"{features.kind}:{features.page}")
        self.stories.move_to_end(story.story_id)
        if assignment.decision.kind == "copy":
            return  # a copy adds no evidence: its original's features are counted already
        story.originals += 1
        language = primary(features.language)
        if language in story.languages or len(story.languages) < MAX_LANGUAGES:
            story.languages[language] = story.languages.get(language, 0) + 1
        for key, weight in feature_keys(features).items():
            self._count(story, key, 2 if weight >= 1 else 1)
        for figure in features.figures:
            story.figures.append((figure.series, figure.value, at))
        del story.figures[:-MAX_FIGURES]
        if features.sketch:
            sketch = array("q", features.sketch)  # 8 bytes a hash, not an int object
            self._add_sketch(story, (sketch, features.article_id, features.source))
        self._trim(story)

    def _count(self, story: OpenStory, key: str, count: int) -> None:
        known = key in story.features
        if known:
            story.features[key] += count
        else:
            story.features[key] = count
            self.df[key] = self.df.get(key, 0) + 1
        if key[0] != "c":
            self.postings.add(key, story.story_id, new=not known)

    def _trim(self, story: OpenStory) -> None:
        """Keep the :data:`MAX_FEATURES` features most of the story's articles have (older first on ties)."""
        if len(story.features) <= MAX_FEATURES:
            return
        ranked = sorted(story.features.items(), key=lambda kv: -kv[1])
        story.features = dict(ranked[:MAX_FEATURES])
        for key, _ in ranked[MAX_FEATURES:]:
            self._forget(story.story_id, key)

    def _add_sketch(self, story: OpenStory, sketch: tuple[Sequence[int], str, str]) -> None:
        if len(story.sketches) >= MAX_SKETCHES:
            return
        story.sketches.append(sketch)
        for h in sketch[0][:INDEXED_HASHES]:
            self.sketch_postings.add(h, story.story_id)

    def _forget(self, story_id: str, key: str) -> None:
        """Drop ``key`` of a story from the document frequencies and the postings."""
        left = self.df.get(key, 0) - 1
        if left > 0:
            self.df[key] = left
        else:
            self.df.pop(key, None)
        self.postings.discard(key, story_id)

    def _close(self, story: OpenStory) -> None:
        del self.stories[story.story_id]
        for key in story.features:
            self._forget(story.story_id, key)
        for sketch, _, _ in story.sketches:
            for h in sketch[:INDEXED_HASHES]:
                self.sketch_postings.discard(h, story.story_id)

    def _evict(self) -> None:
        while len(self.stories) > self.max_open:
            self._close(next(iter(self.stories.values())))

    def _remember(self, article_id: str, assignment: StoryAssignment) -> None:
        decision = assignment.decision
        self.known[article_id] = Placement(
            decision.story_id, decision.copy_of, assignment.copy_of_source
        )
        while len(self.known) > KNOWN_ARTICLES:
            self.known.popitem(last=False)


def _extend(items: list[str], more: list[str] | tuple[str, ...], cap: int) -> None:
    for item in more:
        if len(items) >= cap:
            return
        if item not in items:
            items.append(item)
