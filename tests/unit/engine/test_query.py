"""The query language: parsing, errors with columns, and matching semantics."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Article
from streams.rules import QuerySyntaxError, parse_query
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term
from streams.rules.words import word_spans, words
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
    ],
)
def test_query_matching(
    make_article: Callable[..., Article], query: str, title: str, body: str, expected: bool
) -> None:
    """Words, prefixes, phrases, NEAR/ONEAR, NOT, fields, diacritics and scripts match as documented."""
    rules = compile_rules(make_rule(query, min_score=0))
    assert bool(rules.evaluate(make_article(title=title, body=body))) is expected


# --- property: the engine agrees with a direct reading of the semantics -------------

VOCABULARY = ["drone", "drones", "airspace", "shot", "down", "peace", "talks", "київ", "kraków"]
LEAVES = [*VOCABULARY, "dron*", "talk*", '"shot down"', '"peace talks"', '"drone airspace"']


def _positional() -> st.SearchStrategy[str]:
    return st.recursive(
        st.sampled_from(LEAVES),
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
            st.builds(
                lambda a, op, n, b: f"({a} {op}/{n} {b})",
                inner,
                st.sampled_from(["NEAR", "ONEAR"]),
                st.integers(0, 4),
                inner,
            ),
        ),
        max_leaves=4,
    )


def _queries() -> st.SearchStrategy[str]:
    return st.recursive(
        _positional(),
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
            st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
            st.builds(lambda a: f"NOT {a}", inner),
            st.builds(lambda f, a: f"{f}:({a})", st.sampled_from(["title", "body"]), inner),
        ),
        max_leaves=6,
    )


def _texts() -> st.SearchStrategy[str]:
    separators = st.sampled_from([" ", " ", ", ", ". ", "\n", " - ", "’s "])
    return st.lists(
        st.tuples(st.sampled_from([*VOCABULARY, "Kyiv", "KRAKOW", "x"]), separators), max_size=12
    ).map(lambda pairs: "".join(w + s for w, s in pairs))


Occurrence = tuple[str, int, int]


def _occurrences(node: Node, fields: dict[str, list[str]], allowed: set[str]) -> list[Occurrence]:
    if isinstance(node, Term):
        found = []
        n = len(node.words)
        for name in allowed:
            tokens = fields[name]
            for i in range(len(tokens) - n + 1):
                window = tokens[i : i + n]
                head_ok = window[:-1] == list(node.words[:-1])
                last_ok = (
                    window[-1].startswith(node.words[-1])
                    if node.prefix
                    else window[-1] == node.words[-1]
                )
                if head_ok and last_ok:
                    found.append((name, i, i + n - 1))
        return found
    if isinstance(node, Or):
        return [o for op in node.operands for o in _occurrences(op, fields, allowed)]
    assert isinstance(node, Near)
    found = []
    for lf, l0, l1 in _occurrences(node.left, fields, allowed):
        for rf, r0, r1 in _occurrences(node.right, fields, allowed):
            if lf != rf:
                continue
            if l1 < r0:
                gap = r0 - l1 - 1
            elif not node.ordered and r1 < l0:
                gap = l0 - r1 - 1
            else:
                continue
            if gap <= node.distance:
                found.append((lf, min(l0, r0), max(l1, r1)))
    return found


def _is_positional(node: Node) -> bool:
    if isinstance(node, Or):
        return all(_is_positional(op) for op in node.operands)
    return isinstance(node, Term | Near)


def _reference(node: Node, fields: dict[str, list[str]], allowed: set[str]) -> bool:
    if isinstance(node, And):
        return all(_reference(op, fields, allowed) for op in node.operands)
    if isinstance(node, Or) and not _is_positional(node):
        return any(_reference(op, fields, allowed) for op in node.operands)
    if isinstance(node, Not):
        return not _reference(node.operand, fields, allowed)
    if isinstance(node, Scoped):
        return _reference(node.operand, fields, allowed & {node.field})
    return bool(_occurrences(node, fields, allowed))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_queries(), title=_texts(), body=_texts())
def test_engine_agrees_with_the_reference_semantics(query: str, title: str, body: str) -> None:
    """For random queries and texts, the automaton engine fires exactly when a direct evaluation does."""
    article = Article(id="a", source="test", title=title.strip() or "x", body=body)
    tree = parse_query(query)
    fields = {"title": words(article.title), "summary": [], "body": words(article.body)}
    expected = _reference(tree, fields, {"title", "summary", "body"})
    fired = bool(compile_rules(make_rule(query, min_score=0)).evaluate(article))
    assert fired is expected, query


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.sampled_from(LEAVES), title=_texts(), body=_texts())
def test_spans_run_from_the_first_to_the_last_word_of_each_occurrence(
    query: str, title: str, body: str
) -> None:
    """Every occurrence of a term is a span of its field, whatever separates the words."""
    article = Article(id="a", source="test", title=title.strip() or "x", body=body)
    fields = {"title": words(article.title), "summary": [], "body": words(article.body)}
    expected = set()
    for name, first, last in _occurrences(parse_query(query), fields, {"title", "body"}):
        starts, ends = word_spans(article.text_of(name))
        expected.add((name, starts[first], ends[last]))
    detections = compile_rules(make_rule(query, min_score=0)).evaluate(article)
    assert {(s.field.value, s.start, s.end) for d in detections for s in d.spans} == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab*()" :/ORANDNOTEA1-title')), max_size=30))
def test_parser_never_fails_unexpectedly(query: str) -> None:
    """Any text either parses or raises QuerySyntaxError with a column inside the query."""
    column = 1
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        column = exc.column
    assert 1 <= column <= len(query) + 1
