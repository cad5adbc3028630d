"""The snippet's window: the shortcut that stops early picks the window counting every one picks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.rules.explain import SNIPPET_WIDTH, _densest

_SPANS = st.lists(
    st.tuples(st.integers(0, 1_000), st.sampled_from([1, 5, 12, 60, SNIPPET_WIDTH, 300])),
    min_size=1,
    max_size=12,
).map(lambda spans: sorted({(start, start + length) for start, length in spans}))


def _every_window(bounds: list[tuple[int, int]]) -> int:
    """The start of the first span whose window holds the most spans, every window counted."""
    best, best_count = bounds[0][0], 0
    for at, _ in bounds:
        count = sum(1 for first, last in bounds if at <= first and last <= at + SNIPPET_WIDTH)
        if count > best_count:
            best, best_count = at, count
    return best


@given(_SPANS)
def test_densest_window_is_the_one_counting_every_window_finds(
    bounds: list[tuple[int, int]],
) -> None:
    """Spans in text order (shared starts, spans longer than the window): the same window."""
    assert _densest(bounds) == _every_window(bounds)
