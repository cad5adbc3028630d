"""Near-duplicate articles share a story id; different articles do not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.stories import StoryEntry, StoryIndex, similarity, sketch_text

WIRE = (
    "Officials in the capital confirmed on Tuesday that the northern pipeline will stay "
    "closed for maintenance until the end of the month, cutting deliveries to three "
    "refineries. Traders said prompt prices rose after the announcement, and the operator "
    "promised an update on repairs by Friday."
)
SYNDICATED = "Reuters-style copy: " + WIRE.replace("Tuesday", "Tuesday morning") + " More soon."
UNRELATED = (
    "The city council approved a new budget for public libraries, adding weekend hours "
    "and a mobile reading van that will visit schools across the district next spring."
)


def make_index(threshold: float = 0.5) -> StoryIndex:
    """An index with a one-hour window."""
    return StoryIndex(window_s=3600, threshold=threshold, max_entries=1000)


def test_syndicated_copy_joins_the_first_story() -> None:
    """A lightly edited copy gets the story id of the first article."""
    index = make_index()
    first = index.assign("a1", sketch_text(WIRE), at=0)
    copy = index.assign("a2", sketch_text(SYNDICATED), at=10)
    other = index.assign("a3", sketch_text(UNRELATED), at=20)
    assert first.story_id == "a1"
    assert copy.story_id == "a1"
    assert other.story_id == "a3"


def test_known_article_keeps_its_story() -> None:
    """Assigning an indexed article again returns its entry unchanged (replay-stable)."""
    index = make_index()
    index.assign("a1", sketch_text(WIRE), at=0)
    copy = index.assign("a2", sketch_text(SYNDICATED), at=1)
    assert index.assign("a2", sketch_text(UNRELATED), at=2) == copy


def test_entries_expire_after_the_window() -> None:
    """A copy arriving after the window opens a new story."""
    index = make_index()
    index.assign("a1", sketch_text(WIRE), at=0)
    late = index.assign("a2", sketch_text(SYNDICATED), at=3601)
    assert late.story_id == "a2"
    assert len(index) == 1


def test_observed_entries_from_other_workers_attract_copies() -> None:
    """An entry published by another worker is matched like a local one."""
    index = make_index()
    index.observe(StoryEntry(article_id="x9", story_id="x1", sketch=sketch_text(WIRE), at=0))
    assert index.assign("a2", sketch_text(SYNDICATED), at=5).story_id == "x1"


def test_ties_go_to_the_smallest_story_id() -> None:
    """Two stories matching equally: the smaller id wins, so a split converges."""
    index = make_index()
    sketch = sketch_text(WIRE)
    index.observe(StoryEntry(article_id="b", story_id="s-b", sketch=sketch, at=0))
    index.observe(StoryEntry(article_id="a", story_id="s-a", sketch=sketch, at=0))
    assert index.assign("c", sketch, at=1).story_id == "s-a"


def test_max_entries_bounds_the_index() -> None:
    """The index forgets its oldest entries beyond max_entries."""
    index = StoryIndex(window_s=3600, threshold=0.5, max_entries=2)
    for n in range(5):
        index.assign(f"a{n}", sketch_text(f"{UNRELATED} {n} {n} {n} {n}"), at=n)
    assert len(index) == 2


@given(st.text(max_size=400))
def test_a_text_is_identical_to_itself(text: str) -> None:
    """Any text with words has similarity 1 with itself, and a sketch stays within its size."""
    sketch = sketch_text(text)
    assert len(sketch) <= 64
    assert sketch == tuple(sorted(sketch))
    if sketch:
        assert similarity(sketch, sketch) == 1.0


def test_similarity_separates_copies_from_unrelated_text() -> None:
    """Copies score high, unrelated texts near zero."""
    assert similarity(sketch_text(WIRE), sketch_text(SYNDICATED)) >= 0.5
    assert similarity(sketch_text(WIRE), sketch_text(UNRELATED)) < 0.1
