"""Factored alternations match exactly what the alternations they come from match."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.rules.alternations import alternatives, factored

# pieces of alternatives as the extractors write them: literal letters, optional
# and repeated characters, classes, groups, escapes, spaces
_PIECES = ["a", "b", "ab", "ba", "s?", "[ab]*", "(?:a|bb)", r"\.?", r"\$", " ", "c", "é", "д"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_PIECES), max_size=4).map("".join), min_size=1, max_size=8),
    st.lists(st.sampled_from(["a", "b", "c", "s", " ", ".", "$", "é", "д", "x"]), max_size=20),
)
def test_factored_matches_what_the_alternation_matches(words: list[str], text: list[str]) -> None:
    """Same matches at every offset, with the same group spans, boundary check included."""
    alternation = "|".join(words)
    for template in ("(?P<w>{})", "(?P<w>{})(?![a-z])", " (?P<w>{}) "):
        plain = re.compile(template.format(alternation))
        trie = re.compile(template.format(factored(alternation)))
        subject = "".join(text)
        assert [m.span("w") for m in trie.finditer(subject)] == [
            m.span("w") for m in plain.finditer(subject)
        ]
        for start in range(len(subject)):
            expected, got = plain.match(subject, start), trie.match(subject, start)
            assert (got and got.span("w")) == (expected and expected.span("w"))


def test_factored_shares_leading_characters() -> None:
    """Alternatives with a common mandatory start share one branch; barriers keep their place."""
    assert factored("rose|rise|rises|rising") == "r(?:ose|is(?:e(?:|s)|ing))"
    assert factored("caps?|capped|(?:preis)?abschlag|abstand|aid") == (
        "cap(?:s?|ped)|(?:preis)?abschlag|a(?:bstand|id)"
    )
    assert factored(r"us\$|\$|usd") == r"us(?:\$|d)|\$"


def test_alternatives_split_only_at_the_top_level() -> None:
    """A bar inside a group, a class or after a backslash separates nothing."""
    assert alternatives(r"a|(?:b|c)|[|x]|\|d|[]|]|[^]|]") == [
        "a", "(?:b|c)", "[|x]", r"\|d", "[]|]", "[^]|]"
    ]  # fmt: skip
