"""Near-verbatim copies: sketches of the opening tell a reprint from a rewrite."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.stories.copies import SKETCH_SIZE, resemblance, sketch_text

WIRE = (
    "Officials in the capital confirmed on Tuesday that the northern pipeline will stay "
    "closed for maintenance until the end of the month, cutting deliveries to three "
    "refineries. Traders said prompt prices rose after the announcement, and the operator "
    "promised an update on repairs by Friday."
)
SYNDICATED = "Wire copy: " + WIRE.replace("Tuesday", "Tuesday morning") + " More soon."
REWRITE = (
    "The northern pipeline is shut until late this month for repairs, the government said, "
    "so three refineries will get less crude; the operator expects news on Friday."
)


def test_a_syndicated_copy_resembles_its_original() -> None:
    """A lightly edited copy scores far above a rewrite of the same facts."""
    assert resemblance(sketch_text(WIRE), sketch_text(SYNDICATED)) >= 0.5
    assert resemblance(sketch_text(WIRE), sketch_text(REWRITE)) < 0.1


def test_only_the_opening_is_sketched() -> None:
    """What follows the first 1,000 characters does not change the sketch."""
    opening = WIRE * 5
    assert sketch_text(opening) == sketch_text(opening + " tail" * 200_000)


@given(st.text(max_size=400))
def test_a_text_resembles_itself(text: str) -> None:
    """Any text with words resembles itself fully, and a sketch is sorted and bounded."""
    sketch = sketch_text(text)
    assert len(sketch) <= SKETCH_SIZE
    assert sketch == tuple(sorted(sketch))
    if sketch:
        assert resemblance(sketch, sketch) == 1.0
