"""The query language: parsing, errors with columns, and matching semantics."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Article
from streams.rules import QuerySyntaxError, parse_query
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term
from tests.unit.engine.conftest import compile_rules, make_rule


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("drone", Term(("drone",), False, "drone", 1)),
        ("Drone*", Term(("drone",), True, "Drone*", 1)),
        ('"shot down"', Term(("shot", "down"), False, '"shot down"', 1)),
        ("F-16", Term(("f", "16"), False, "F-16", 1)),
        ("Kyiv's", Term(("kyiv", "s"), False, "Kyiv's", 1)),
        ("Kraków", Term(("krakow",), False, "Kraków", 1)),
        ("a OR b", Or((Term(("a",), False, "a", 1), Term(("b",), False, "b", 6)))),
        ("a b", And((Term(("a",), False, "a", 1), Term(("b",), False, "b", 3)))),
        ("a AND NOT b", And((Term(("a",), False, "a", 1), Not(Term(("b",), False, "b", 11))))),
        (
            "a OR b c",
            Or(
                (
                    Term(("a",), False, "a", 1),
                    And((Term(("b",), False, "b", 6), Term(("c",), False, "c", 8))),
                )
            ),
        ),
        (
            "a NEAR/3 b",
            Near(Term(("a",), False, "a", 1), Term(("b",), False, "b", 10), 3, False),
        ),
        (
            "a ONEAR/0 b",
            Near(Term(("a",), False, "a", 1), Term(("b",), False, "b", 11), 0, True),
        ),
        ("title:(a)", Scoped("title", Term(("a",), False, "a", 8))),
        ("body:a", Scoped("body", Term(("a",), False, "a", 6))),
        ("regex:/\\d+ ?km/", Regex("\\d+ ?km", 1)),
        (
            "near and or not",
            And(
                tuple(
                    Term((w,), False, w, c)
                    for w, c in (("near", 1), ("and", 6), ("or", 10), ("not", 13))
                )
            ),
        ),
    ],
)
def test_parse_builds_the_tree(query: str, tree: Node) -> None:
    """Queries parse into the expected tree; lower-case operator words are plain words."""
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        ("", 1, "empty"),
        ("(drone OR jet", 1, "missing ')'"),
        ("drone OR jet)", 13, "unbalanced ')'"),
        ("drone OR", 9, "ends too early"),
        ("drone OR OR jet", 10, "unexpected 'OR'"),
        ('"shot down', 1, "unterminated phrase"),
        ("drone NEAR jet", 11, "NEAR needs a distance"),
        ("drone NEAR/999 jet", 12, "too large"),
        ("dr* OR jet", 3, "at least 3 letters"),
        ("dr*ne", 3, "may only end a word"),
        ("color:(red)", 1, "unknown field 'color'"),
        ("(a AND b) NEAR/3 c", 1, "NEAR/3 needs words"),
        ("a NEAR/3 NOT b", 10, "unexpected 'NOT'"),
        ("a ONEAR/2 title:(b)", 11, "ONEAR/2 needs words"),
        ("()", 2, "empty parentheses"),
        ("title:", 1, "title: needs a word"),
        ("title: (drones)", 1, "title: needs a word"),
        ("title:drones NEAR/2 poland", 1, "NEAR/2 needs words"),
        ("regex:/abc", 1, "unterminated regex"),
        ("--", 1, "no letters or digits"),
        # issue 16, item 5: malformed forms that used to be read as ordinary words
        ("drone NEAR/ jet", 12, "NEAR/ needs a distance in words, a whole number"),
        ("drone ONEAR/ jet", 13, "ONEAR/ needs a distance"),
        ("drone NEAR/x jet", 12, "whole number"),
        ("drone NEAR/-1 jet", 12, "whole number"),
        ("drone NEAR/+3 jet", 12, "whole number"),
        ("drone NEAR/3.5 jet", 12, "whole number"),
        ("drone NEAR/3/4 jet", 12, "whole number"),
        ("drone NEAR/5, jet", 12, "whole number"),
        ("drone NEAR/٣ jet", 12, "written with 0-9"),
        ("drone -jet", 7, "write NOT jet"),
        ("drone −jet", 7, "write NOT jet"),
        ("abc-*", 5, "must follow a letter or digit"),
        ('"shot down-*"', 12, "must follow a letter or digit"),
        ("drone ~ jet", 7, "'~' needs a word or a phrase right after it"),
        ('drone ~ "jet fighter"', 7, "'~' needs a word or a phrase"),
        ("~-jet", 2, "write NOT jet"),
    ],
)
def test_malformed_queries_name_the_column(query: str, column: int, fragment: str) -> None:
    """Every syntax error says what is wrong and at which column, with a caret under it."""
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.column == column
    assert fragment in caught.value.message
    caret = caught.value.caret().split("\n")[1]
    assert caret == " " * (column - 1) + "^"


# ((((a NEAR/1 x0) NEAR/1 x1) ...) NEAR/1 x8): nine NEARs nested through parentheses
NESTED_NEARS = functools.reduce(lambda q, i: f"({q} NEAR/1 x{i})", range(9), "a")


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        # issue 16, item 4: each of these printed a traceback
        ("(" * 200 + "drone" + ")" * 200, 33, "nests more than 32 levels"),
        ("NOT " * 970 + "drone", 129, "nests more than 32 levels"),
        ("title:(" * 10_000 + "drone", 10_001, "at most 10000 are allowed"),
        ("title:(" * 1_000 + "drone", 113, "nests more than 32 levels"),
        ("a NEAR/1 " * 1_000 + "a", 75, "more than 8 NEAR/ONEAR operators nested"),
        ("drone NEAR/" + "9" * 4_400 + " jet", 12, "too large (at most 200 words)"),
        # issue 16, item 3: chains that passed `rules check`, then raised RecursionError in `scan`
        (" NEAR/3 ".join(["drone"] * 500), 111, "more than 8 NEAR/ONEAR"),
        (NESTED_NEARS, NESTED_NEARS.rindex("NEAR") + 1, "more than 8 NEAR/ONEAR"),
        ("drone " * 2_000, 10_001, "at most 10000 are allowed"),
        ("x" * 201, 1, "the word is 201 characters long; at most 200"),
        ('jet "' + "a " * 101 + '"', 5, "the phrase is 202 characters long"),
        ("regex:/" + "a" * 201 + "/", 1, "the regex is 201 characters long"),
    ],
)
def test_limits_are_located_errors(query: str, column: int, fragment: str) -> None:
    """Nesting, NEAR chains, distances and lengths over the documented limits name a column."""
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.column == column
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "query",
    [
        "(" * 32 + "drone" + ")" * 32,
        "NOT " * 32 + "drone",
        " NEAR/200 ".join(["drone"] * 9),
        "x" * 200,
        "drone " * 1_666,
        "NEARBY OR ONEARTH",
    ],
)
def test_queries_at_the_limits_parse(query: str) -> None:
    """A query exactly at each limit is accepted."""
    parse_query(query)


def test_caret_of_a_long_query_is_cut_around_the_fault() -> None:
    """A long query is shown around the faulty column, caret still under it."""
    query = "a OR " * 100 + ")"
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    shown, caret = caught.value.caret(width=40).split("\n")
    assert len(shown) <= 40
    assert shown[len(caret) - 1] == ")"


BODY = "Polish jets shot down two drones. The next day, airspace was closed."


@pytest.mark.parametrize(
    ("query", "title", "body", "expected"),
    [
        ("drone", "Headline", "A drone fell.", True),
        ("drone", "Headline", "Drones fell.", False),
        ("drone*", "Headline", "Drones fell.", True),
        ("drone*", "Headline", "Adrones fell.", False),
        ('"shot down"', "Headline", BODY, True),
        # punctuation between the words of a phrase is ignored, as in search engines
        ('"shot down"', "Headline", "The jet was shot, down below.", True),
        ('"shot down"', "Headline", "A shot-down drone.", True),
        ('"down shot"', "Headline", BODY, False),
        ("jets NEAR/1 drones", "Headline", BODY, False),
        ("jets NEAR/3 drones", "Headline", BODY, True),
        ("drones NEAR/3 jets", "Headline", BODY, True),
        ("drones ONEAR/3 jets", "Headline", BODY, False),
        ("jets ONEAR/3 drones", "Headline", BODY, True),
        # NEAR counts words across the sentence break: drones . the next day , airspace
        ("drones NEAR/3 airspace", "Headline", BODY, True),
        ("drones NEAR/2 airspace", "Headline", BODY, False),
        ("(jet* OR drone*) NEAR/12 (airspace OR intercept*)", "Headline", BODY, True),
        # words far longer than usual between the operands are still counted as one each
        ("jets NEAR/1 drones", "Headline", f"Jets {'x' * 40} drones.", True),
        ("jets NEAR/1 drones", "Headline", f"Jets {'x' * 40} {'y' * 40} drones.", False),
        ("drones NEAR/1 jets", "Headline", f"Jets {'x' * 40} drones.", True),
        ("drones ONEAR/1 jets", "Headline", f"Jets {'x' * 40} drones.", False),
        ("drone NEAR/5 drone", "Headline", "A drone fell.", False),
        ("drone NEAR/5 drone", "Headline", "A drone and a drone.", True),
        ("jets AND NOT airspace", "Headline", BODY, False),
        ("jets NOT balloon", "Headline", BODY, True),
        ("NOT balloon", "Headline", BODY, True),
        ("NOT jets", "Headline", BODY, False),
        ("title:(drones)", "Headline", BODY, False),
        ("title:(drones)", "Drones over Poland", "Nothing here.", True),
        ("body:drones", "Drones over Poland", "Nothing here.", False),
        ("title:(drones NEAR/2 poland)", "Drones over Poland", "Nothing here.", True),
        ("drones NEAR/3 poland", "Drones over", "Poland said.", False),
        ("NOT title:(opinion) AND drones", "Opinion: drones", "Drones.", False),
        # Nested scopes intersect: no field is both title and body, so nothing there
        # matches and NOT of nothing holds (found by the reference-semantics property).
        ("title:(body:(NOT drone))", "Drone", "Drone.", True),
        ("title:(body:drone)", "Drone", "Drone.", False),
        ("Krakow", "Headline", "Drones over Kraków.", True),
        ("KRAKÓW", "Headline", "drones over krakow.", True),
        ("Київ", "Headline", "Дрони атакували Київ уночі.", True),
        ("київ*", "Headline", "Дрони над Києвом.", False),
        ("кие*", "Headline", "Беспилотники над Киевом.", True),
        ("ракет* NEAR/3 київ", "Headline", "Ракети летіли на Київ.", True),
        ("russia", "Headline", "Russia's drones.", True),
        ("russia's", "Headline", "Russia’s drones.", True),
        ("f-16", "Headline", "An F-16 scrambled.", True),
        ("f-16", "Headline", "An F 16 scrambled.", True),
        ("regex:/\\d+ drones/", "Headline", "It shot 12 drones.", True),
        ("regex:/\\d+ drones/", "Headline", "It shot some drones.", False),
        ("regex:/kyi[vw]/ NEAR/2 drones", "Headline", "Kyiv drones.", True),
        # issue 16, item 6: a regex match that starts on punctuation starts at the next word
        ("fell ONEAR/0 regex:/\\$[0-9]+/", "Headline", "Brent fell to $67 a barrel.", False),
        ("fell ONEAR/1 regex:/\\$[0-9]+/", "Headline", "Brent fell to $67 a barrel.", True),
        ("to ONEAR/0 regex:/\\$[0-9]+/", "Headline", "Brent fell to $67 a barrel.", True),
        ("regex:/[0-9]+ ?%/ ONEAR/0 on", "Headline", "It rose 3 % on Monday.", True),
        # ...and one that overlaps no word sits on the next word (the last one when none follows)
        ("to ONEAR/0 regex:/\\$/", "Headline", "Brent fell to $ 67.", True),
        ("fell ONEAR/0 regex:/\\$/", "Headline", "Brent fell to $ 67.", False),
        ("regex:/\\$/ ONEAR/0 a", "Headline", "Brent fell to $ 67 a barrel.", True),
        ("barrel NEAR/0 regex:/!/", "Headline", "A barrel!", False),
        ("a NEAR/0 regex:/!/", "Headline", "A barrel!", True),
        # a NEAR inside a NEAR stands for its shortest matches, from each start and to each end
        ("(x NEAR/10 y) NEAR/0 c", "Headline", "x y a b c d e f g h y c", True),
        ("(x NEAR/10 y) ONEAR/0 c", "Headline", "c x y", False),
        ("c ONEAR/0 (x NEAR/10 y)", "Headline", "c x y", True),
        ("(drone NEAR/3 drone) NEAR/3 drone", "Headline", "drone x drone", False),
        ("(drone NEAR/3 drone) NEAR/3 drone", "Headline", "drone x drone drone", True),
    ],
)
def test_query_matching(
    make_article: Callable[..., Article], query: str, title: str, body: str, expected: bool
) -> None:
    """Words, prefixes, phrases, NEAR/ONEAR, NOT, fields, diacritics and scripts match as documented."""
    rules = compile_rules(make_rule(query, min_score=0))
    assert bool(rules.evaluate(make_article(title=title, body=body))) is expected


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('ab*()" :/ORANDNOTEA1-title٣+.,')), max_size=40)
    | st.lists(
        st.sampled_from(["(", ")", "NOT ", "title:", "a ", "NEAR/1 ", "OR ", '"', "-"]),
        max_size=400,
    ).map("".join)
)
def test_parser_never_fails_unexpectedly(query: str) -> None:
    """Any text either parses or raises QuerySyntaxError with a column inside the query."""
    column = 1
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        column = exc.column
    assert 1 <= column <= len(query) + 1
