"""Measuring rules against labelled articles: precision, recall and F1 per category and language.

Labels are JSON Lines of ``{"id": "<article id>", "labels": ["<category>", ...]}``;
an article labelled with no category is a negative for every category.
Only articles that were both scanned and labelled count. Per language, the
counts of every category are summed (micro-averaged): one figure per language
that a rare category cannot swing alone.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas import ConfigError


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """How the rules of one category did on the labelled articles."""

    category: str
    true_positives: int
    false_positives: int
    false_negatives: int
    missed: tuple[str, ...]
    false: tuple[str, ...]

    @property
    def precision(self) -> float | None:
        """Share of the articles flagged with the category that carry its label (None: none flagged)."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of the articles labelled with the category that were flagged (None: none labelled)."""
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall, ``2TP / (2TP + FP + FN)``.

        0 when the category was labelled but never flagged (or flagged only
        where it was not labelled); None when it was neither labelled nor flagged.
        """
        counted = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / counted if counted else None


@dataclass(frozen=True, slots=True)
class LanguageScore:
    """How the rules did on the labelled articles of one language, every category summed."""

    language: str
    articles: int
    categories: tuple[CategoryScore, ...]

    @property
    def total(self) -> CategoryScore:
        """The counts of every category added up, as one score named after the language."""
        return CategoryScore(
            self.language,
            sum(s.true_positives for s in self.categories),
            sum(s.false_positives for s in self.categories),
            sum(s.false_negatives for s in self.categories),
            tuple(a for s in self.categories for a in s.missed),
            tuple(a for s in self.categories for a in s.false),
        )


def read_labels(path: Path) -> dict[str, frozenset[str]]:
    """Read a labels file: article id -> categories.

    Raises:
        ConfigError: the file is missing, or a line is not ``{"id": ..., "labels": [...]}``.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the labels file: {exc}") from None
    labels: dict[str, frozenset[str]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("id"), str)
            or not isinstance(record.get("labels"), list)
            or not all(isinstance(label, str) for label in record["labels"])
        ):
            raise ConfigError(
                f'{path}:{number}: expected {{"id": "<article id>", "labels": ["<category>", ...]}}'
            )
        labels[record["id"]] = frozenset(record["labels"])
    return labels


def score_categories(
    predicted: Mapping[str, Collection[str]], labels: Mapping[str, Collection[str]]
) -> list[CategoryScore]:
    """Score the predicted categories of each article against its labels, per category.

    Args:
        predicted: article id -> categories the rules flagged (every scanned article).
        labels: article id -> categories it truly belongs to.
    """
    judged = [article_id for article_id in predicted if article_id in labels]
    categories = sorted(
        {c for a in judged for c in labels[a]} | {c for a in judged for c in predicted[a]}
    )
    scores = []
    for category in categories:
        hits = [a for a in judged if category in predicted[a] and category in labels[a]]
        missed = tuple(a for a in judged if category in labels[a] and category not in predicted[a])
        false = tuple(a for a in judged if category in predicted[a] and category not in labels[a])
        scores.append(CategoryScore(category, len(hits), len(false), len(missed), missed, false))
    return scores


def score_languages(
    predicted: Mapping[str, Collection[str]],
    labels: Mapping[str, Collection[str]],
    languages: Mapping[str, str],
) -> list[LanguageScore]:
    """Score the predictions per language of the articles, in language order.

    Args:
        predicted: article id -> categories the rules flagged (every scanned article).
        labels: article id -> categories it truly belongs to.
        languages: article id -> its language (``unknown`` when it could not be told).
    """
    by_language: dict[str, list[str]] = {}
    for article_id in predicted:
        if article_id in labels:
            by_language.setdefault(languages.get(article_id, "unknown"), []).append(article_id)
    return [
        LanguageScore(
            language,
            len(ids),
            tuple(score_categories({a: predicted[a] for a in ids}, {a: labels[a] for a in ids})),
        )
        for language, ids in sorted(by_language.items())
    ]
