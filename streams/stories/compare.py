"""Comparing an article with an open story: does it report the same event?

The evidence, each part from 0 to 1:

- **terms**: the share of the article's title-and-lead stems the story has,
  each weighted by its rarity (inverse document frequency over the open
  stories: "said" or "war" count for little, "Pokrovsk" or "Primorsk" for
  much) and by how many of the story's articles have it. Only when the
  article's language is one of the story's: words do not compare across
  languages.
- **entities**: the same for gazetteer ids (an entity only late in the body
  counts half), which compare across languages: ``place:kharkiv`` is Kharkiv,
  Харків and Харьков.
- **numbers**: the same for the numbers in the text (``52``, ``19.4``).
- **categories**: the overlap of the categories of the rules that fired.
- **time**: 1 within :data:`SAME_DAY_H` of the story's reports, then halving
  every :data:`HALF_LIFE_H` hours; beyond the window, no join.
- **figures**: a figure of the same series (Brent's price in USD/bbl) with a
  close value agrees, a different value disagrees: "Brent at $81" and "Brent
  at $79" the next day are two events, and a disagreement refuses the join.

The score is the weighted mean of terms, entities and numbers over the parts
both sides have, times a factor for categories and one for time, plus a
bonus per agreeing figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.stories import Similarity, StoryFeatures, StoryFigure
from streams.stories.index import OpenStory, StoryIndex, feature_keys, primary

PART_WEIGHTS: Final = {"t": 0.3, "e": 0.4, "n": 0.3}
"""Weights of terms, entities and numbers in the score."""
CATEGORY_FLOOR: Final = 0.6
"""The category factor runs from this (no category shared) to 1 (the same categories)."""
SAME_DAY_H: Final = 12.0
HALF_LIFE_H: Final = 36.0
FIGURE_BONUS: Final = 0.1
MAX_FIGURE_BONUS: Final = 0.2
MIN_SPECIFIC: Final = 1.0
"""Specific evidence a join needs: one place, person, organisation, commodity,
number or figure in the title or lead of both, or two named later in one of them."""
MIN_SPECIFIC_ACROSS: Final = 2
"""Across languages, where words cannot be compared: specific things named in both, anywhere."""
STRONG_TERMS: Final = 0.3
"""A terms similarity that is evidence enough without anything specific."""
MIN_TERMS: Final = 0.1
"""In one language, two reports of one event share at least this much of their rare words."""
SHOWN: Final = 8
"""Shared items listed in an explanation."""


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article's features prepared for comparisons, once per article.

    ``weights`` gives each feature key (but categories) its rarity times the
    weight of where it stands (title and lead 1, later in the body half);
    ``mass`` sums them per part.
    """

    features: StoryFeatures
    weights: dict[str, float]
    sides: dict[str, float]
    categories: tuple[str, ...]
    mass: dict[str, float]
    at: float
    language: str

    @classmethod
    def of(cls, features: StoryFeatures, index: StoryIndex) -> ArticleView:
        """Prepare ``features`` with the rarities of ``index`` now."""
        keys = feature_keys(features)
        weights: dict[str, float] = {}
        mass = {"t": 0.0, "e": 0.0, "n": 0.0}
        for key, side in keys.items():
            if key[0] != "c":
                weight = index.idf(key) * side
                weights[key] = weight
                mass[key[0]] += weight
        return cls(
            features,
            weights,
            keys,
            tuple(k for k in keys if k[0] == "c"),
            mass,
            features.event_at.timestamp(),
            primary(features.language),
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    """The evidence for and against an article joining one story."""

    story: OpenStory
    score: float
    parts: dict[str, float]
    categories: float
    time_factor: float
    specific: float
    shared: dict[str, list[tuple[float, str]]]
    agreeing: list[str]
    conflicts: list[str]
    gap_h: float
    refused: str | None

    @property
    def similarity(self) -> Similarity:
        """The parts of the score, rounded, as decisions record them."""
        return Similarity(
            score=round(self.score, 4),
            terms=round(self.parts["t"], 4) if "t" in self.parts else None,
            entities=round(self.parts.get("e", 0.0), 4),
            numbers=round(self.parts.get("n", 0.0), 4),
            categories=round(self.categories, 4),
            time=round(self.time_factor, 4),
            specific=round(self.specific, 2),
        )

    def heaviest(self, part: str) -> tuple[str, ...]:
        """The shared features of ``part`` (``t``, ``e``, ``n``), heaviest first, by name."""
        ranked = sorted(self.shared[part], key=lambda wn: (-wn[0], wn[1]))[:SHOWN]
        return tuple(name.split(":", 1)[1] if part == "t" else name for _, name in ranked)


def compare(
    article: ArticleView, story: OpenStory, index: StoryIndex, threshold: float
) -> Comparison:
    """Compare ``article`` with ``story``; ``refused`` says why it may not join, if it may not.

    Only the article's features are looked up in the story, and the story's
    side of each part is the mass it had when it last changed
    (:meth:`StoryIndex.refresh`), so a comparison costs the article's size.
    """
    halves = 2 * max(1, story.originals)
    language = article.language
    same_language = language in story.languages
    # words compare only with the story's articles in the article's language
    term_halves = 2 * max(1, story.languages.get(language, 0))
    overlap = {"t": 0.0, "e": 0.0, "n": 0.0}
    shared: dict[str, list[tuple[float, str]]] = {"t": [], "e": [], "n": []}
    specific = 0.0
    specific_items = 0
    features = story.features
    sides = article.sides
    for key, weight in article.weights.items():
        count = features.get(key)
        if not count:
            continue
        part = key[0]
        share = min(1.0, count / (term_halves if part == "t" else halves), sides[key])
        overlap[part] += weight / sides[key] * share
        shared[part].append((weight, key[2:]))
        if part != "t" and _specific(key):
            specific += share
            specific_items += 1
    story_mass = story.mass
    parts = {}
    for part in ("t", "e", "n"):
        other = story_mass.get(f"t:{language}" if part == "t" else part, 0.0)
        mine = article.mass[part]
        if mine > 0 and other > 0 and (part != "t" or same_language):
            parts[part] = min(1.0, 2 * overlap[part] / (mine + other))
    shared_categories = sum(1 for key in article.categories if key in features)
    smaller = min(len(article.categories), int(story_mass.get("c", 0)))
    categories = shared_categories / smaller if smaller else 0.0
    gap_h = _gap_h(article.at, story)
    time_factor = 1.0 if gap_h <= SAME_DAY_H else 0.5 ** ((gap_h - SAME_DAY_H) / HALF_LIFE_H)
    agreeing, conflicts = _figures(article.features.figures, story)
    core = (
        sum(PART_WEIGHTS[p] * v for p, v in parts.items()) / sum(PART_WEIGHTS[p] for p in parts)
        if parts
        else 0.0
    )
    bonus = min(MAX_FIGURE_BONUS, FIGURE_BONUS * len(agreeing))
    specific += len(agreeing)
    specific_items += len(agreeing)
    score = core * (CATEGORY_FLOOR + (1 - CATEGORY_FLOOR) * categories) * time_factor + bonus
    terms = parts.get("t", 0.0)
    refused = None
    if story.keeps_apart(article.features.kind, article.features.page):
        refused = _kept_apart(article.features)
    elif gap_h * 3600 > index.window_s:
        refused = f"reported {gap_h:.0f} h from the story, outside the {index.window_s / 3600:.0f} h window"
    elif conflicts and not agreeing:
        refused = f"figures disagree: {conflicts[0]}"
    elif story.members >= index.max_articles:
        refused = f"the story is full ({story.members} articles)"
    elif score < threshold:
        refused = f"score {score:.2f} is below {threshold:.2f}"
    elif same_language and terms < MIN_TERMS:
        refused = f"hardly a word in common (terms {terms:.2f})"
    elif (
        specific < MIN_SPECIFIC and terms < STRONG_TERMS
        if same_language
        else specific_items < MIN_SPECIFIC_ACROSS
    ):
        refused = (
            f"too little specific in common ({specific:g}): places, people, organisations, "
            "commodities, numbers or figures named in both"
        )
    return Comparison(
        story=story,
        score=score,
        parts=parts,
        categories=categories,
        time_factor=time_factor,
        specific=specific,
        shared=shared,
        agreeing=agreeing,
        conflicts=conflicts,
        gap_h=round(gap_h, 2),
        refused=refused,
    )


def _kept_apart(features: StoryFeatures) -> str:
    """Why an article may not join a story holding its page, or its teasers."""
    if features.kind == "teaser":
        return (
            f"the story holds page {features.page}, where this teaser was read: "
            "a teaser reports another story"
        )
    return "the story holds teasers read on this page: they report other stories"


def _specific(key: str) -> bool:
    """True for a feature that singles out an event: not a country, a year or a category."""
    if key.startswith("e:"):
        return not key.startswith("e:country:")
    return key.startswith("n:") and not (len(key) == 6 and key[2:4] in ("19", "20"))


def _gap_h(at: float, story: OpenStory) -> float:
    if story.first_at <= at <= story.last_at:
        return 0.0
    return min(abs(at - story.first_at), abs(at - story.last_at)) / 3600


def tolerance(series: str, a: float, b: float) -> float:
    """How far apart two values of ``series`` may be and still be one report."""
    if series.startswith("change_pct"):
        return 0.5
    return max(0.015 * max(abs(a), abs(b)), 0.05)


def _figures(figures: tuple[StoryFigure, ...], story: OpenStory) -> tuple[list[str], list[str]]:
    """The article's figures that agree with the story's, and those that disagree (as text)."""
    agreeing: list[str] = []
    conflicts: list[str] = []
    for figure in figures:
        values = [value for series, value, _ in story.figures if series == figure.series]
        if not values:
            continue
        if figure.value is None:
            agreeing.append(figure.series)
            continue
        known = [v for v in values if v is not None]
        if not known:
            continue
        if any(abs(figure.value - v) <= tolerance(figure.series, figure.value, v) for v in known):
            agreeing.append(f"{figure.series} {figure.value:g}")
        else:
            conflicts.append(f"{figure.series}: {figure.value:g} here, {known[-1]:g} in the story")
    return agreeing, conflicts
