"""Scoring rules against labelled articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import ConfigError
from streams.rules.backtest import read_labels, score_categories, score_languages


def test_scores_per_category() -> None:
    """TP, FP, FN, precision, recall and F1 per category; unlabelled articles do not count."""
    predicted = {
        "a": {"sanctions"},
        "b": {"sanctions", "peace_talks"},
        "c": set(),
        "d": {"sanctions"},  # not labelled: ignored
    }
    labels = {"a": {"sanctions"}, "b": {"peace_talks"}, "c": {"sanctions"}}
    scores = {s.category: s for s in score_categories(predicted, labels)}
    sanctions = scores["sanctions"]
    assert (sanctions.true_positives, sanctions.false_positives, sanctions.false_negatives) == (
        1,
        1,
        1,
    )
    assert (sanctions.missed, sanctions.false) == (("c",), ("b",))
    assert (sanctions.precision, sanctions.recall, sanctions.f1) == (0.5, 0.5, 0.5)
    assert (scores["peace_talks"].precision, scores["peace_talks"].recall) == (1.0, 1.0)


def test_undefined_ratios_are_none() -> None:
    """A category never flagged has no precision; never labelled, no recall; either way F1 is 0."""
    [score] = score_categories({"a": {"x"}}, {"a": set()})
    assert (score.precision, score.recall, score.f1) == (0.0, None, 0.0)
    [score] = score_categories({"a": set()}, {"a": {"x"}})
    assert (score.precision, score.recall, score.f1) == (None, 0.0, 0.0)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"id": "a", "labels": ["x"]}\nnot json\n', "labels.jsonl:2: not JSON"),
        ('{"id": "a", "labels": "x"}\n', "labels.jsonl:1: expected"),
        ('{"labels": []}\n', "labels.jsonl:1: expected"),
    ],
)
def test_bad_label_files(tmp_path: Path, content: str, fragment: str) -> None:
    """A malformed labels file is a ConfigError naming the line."""
    path = tmp_path / "labels.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        read_labels(path)


def test_read_labels(tmp_path: Path) -> None:
    """Labels map article ids to category sets; blank lines are skipped."""
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "a", "labels": ["x", "y"]}\n\n{"id": "b", "labels": []}\n')
    assert read_labels(path) == {"a": frozenset({"x", "y"}), "b": frozenset()}


def test_scores_per_language() -> None:
    """Per language, the categories of its articles are scored and their counts summed."""
    predicted = {"a": {"sanctions"}, "b": set(), "c": {"peace_talks"}, "d": {"peace_talks"}}
    labels = {"a": {"sanctions"}, "b": {"sanctions"}, "c": {"peace_talks"}, "d": set()}
    languages = {"a": "en", "b": "en", "c": "de", "d": "de"}
    de, en = score_languages(predicted, labels, languages)
    assert (en.language, en.articles, de.language, de.articles) == ("en", 2, "de", 2)
    total = en.total
    assert (total.true_positives, total.false_positives, total.false_negatives) == (1, 0, 1)
    assert (total.precision, total.recall) == (1.0, 0.5)
    assert de.total.false == ("d",)
    assert {s.category: s.f1 for s in de.categories} == {"peace_talks": 2 / 3}
