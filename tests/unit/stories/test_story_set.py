"""The labelled story set: its shape, and clustering's pairwise precision and recall on it."""

from __future__ import annotations

from collections import defaultdict

import pytest

from schemas import Settings
from tests.support.story_set import Labelled, cluster_offline, load_story_set, pairwise

OTHER_LANGUAGES = {"uk", "ru", "de", "fr", "pl"}


@pytest.fixture(scope="module")
def story_set() -> list[Labelled]:
    """The set, in publication order."""
    return load_story_set()


def test_the_set_has_the_shape_the_issue_asks_for(story_set: list[Labelled]) -> None:
    """40+ articles of 80-250 words; 12+ events by 2-4 outlets; 3+ with another language; 6+ distractor pairs."""
    assert len(story_set) >= 40
    for item in story_set:
        words = len(item.record["title"].split()) + len(item.record["body"].split())
        assert 80 <= words <= 250, (item.id, words)
    outlets: dict[str, set[str]] = defaultdict(set)
    languages: dict[str, set[str]] = defaultdict(set)
    for item in story_set:
        outlets[item.event].add(item.record["source"])
        languages[item.event].add(item.record["language"])
    reported = [event for event, sources in outlets.items() if 2 <= len(sources) <= 4]
    assert len(reported) >= 12
    assert len([e for e in reported if languages[e] & OTHER_LANGUAGES]) >= 3
    pairs = {(item.event, item.near) for item in story_set if item.near}
    assert len(pairs) >= 6
    assert {near for _, near in pairs} <= set(outlets)


def test_clustering_finds_the_events(story_set: list[Labelled], unit_settings: Settings) -> None:
    """Pairwise precision and recall of "same story" against the labels are both 0.9 or better."""
    stories = cluster_offline(
        story_set, unit_settings, {item.id: item.published_at for item in story_set}
    )
    precision, recall = pairwise({item.id: item.event for item in story_set}, stories)
    print(f"story set: pairwise precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9
    assert recall >= 0.9
