"""The engine against the reference evaluator of the documented semantics, on generated input.

``reference.py`` reads the README's rules literally and by brute force; here
hypothesis generates queries (words in any case, with diacritics, Latin
letters that fold to others and apostrophes of three kinds,
prefixes, phrases, regexes, field scopes, NOT, AND, OR, NEAR and ONEAR,
nested) and articles (three fields, punctuation, Cyrillic, figures), and the
automaton engine must fire exactly when the reference does. The default run
takes a few seconds; ``-m slow`` runs a deeper one.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Article
from streams.rules.query import parse_query
from tests.unit.engine.conftest import compile_rules, make_rule
from tests.unit.engine.reference import FIELDS, Reference, near, words_with_spans

# surface forms of a few words: case, diacritics, plurals, scripts, figures
TEXT_WORDS = [
    *("drone", "Drone", "DRONE", "drône", "drones", "Drones"),
    *("jet", "Jets", "jét", "airspace", "Airspace", "shot", "down", "Shot-down"),
    *("Київ", "київ", "Києві", "Kyiv", "Kraków", "KRAKOW", "krakow", "Straße", "STRASSE"),
    *("Wrocław", "WROCLAW", "Łódź", "lodz", "Øresund", "ви́ставка", "виставка"),
    *("м'ясо", "мʼясо", "м’ясо", "Kyiv’s"),
    *("$67", "67", "3%", "F-16", "f16", "x", "y", "x", "y"),
]
SEPARATORS = [
    " ",
    " ",
    " ",
    "  ",
    ", ",
    ". ",
    "\n",
    " - ",
    "’s ",
    " (",
    ") ",
    " $",
    "—",
    " “",
    "” ",
]
QUERY_WORDS = [
    *("drone", "DRONE", "drône", "drones", "jet", "jets", "airspace", "shot", "down"),
    *("київ", "Київ", "kyiv", "krakow", "Kraków", "straße", "strasse", "67", "f-16", "F16", "x"),
    *("wroclaw", "Łódź", "oresund", "виставка", "ви́ставка", "м'ясо", "kyiv's", "wroc*"),
    *("dron*", "jet*", "kraków*", "киї*", "strass*"),
    *('"shot down"', '"drone jets"', '"f 16"', '"x y"', '"київ x"'),
]
# each means the same in RE2 and Python's re on this alphabet (ASCII digits and spaces)
REGEXES = [
    "regex:/dro?nes?/",
    r"regex:/\$\d+/",
    r"regex:/\d+%/",
    "regex:/[a-z]+ce/",
    "regex:/kr.kow/",
    r"regex:/\. /",
    "regex:/, /",
    "regex:/ x/",
    "regex:/wroc?law/",
    "regex:/ss/",
]


_LEAVES = st.sampled_from(QUERY_WORDS) | st.sampled_from(REGEXES)


def _positional(leaves: st.SearchStrategy[str] = _LEAVES) -> st.SearchStrategy[str]:
    """Operands NEAR accepts: terms, regexes, OR-groups of them, and NEARs."""
    return st.recursive(
        leaves,
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
        max_leaves=5,
    )


def _queries(leaves: st.SearchStrategy[str] = _LEAVES) -> st.SearchStrategy[str]:
    return st.recursive(
        _positional(leaves),
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
            st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
            st.builds(lambda a: f"NOT {a}", inner),
            st.builds(lambda f, a: f"{f}:({a})", st.sampled_from(FIELDS), inner),
        ),
        max_leaves=6,
    )


def _texts(max_words: int = 14) -> st.SearchStrategy[str]:
    return st.lists(
        st.tuples(st.sampled_from(TEXT_WORDS), st.sampled_from(SEPARATORS)), max_size=max_words
    ).map(lambda pairs: "".join(w + s for w, s in pairs))


_FIELD_SETS = st.sets(st.sampled_from(FIELDS), min_size=1).map(sorted)


def _article(title: str, summary: str, body: str) -> Article:
    return Article(id="a", source="test", title=title.strip() or "x", summary=summary, body=body)


def _agrees(query: str, article: Article, fields: list[str]) -> None:
    expected = Reference(article, fields).matches(parse_query(query))
    fired = bool(compile_rules(make_rule(query, fields=fields, min_score=0)).evaluate(article))
    assert fired is expected, (query, fields)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_queries(), title=_texts(), summary=_texts(6), body=_texts(), fields=_FIELD_SETS)
def test_engine_agrees_with_the_reference(
    query: str, title: str, summary: str, body: str, fields: list[str]
) -> None:
    """For generated queries, articles and rule fields, the engine fires exactly when the reference does."""
    _agrees(query, _article(title, summary, body), fields)


@pytest.mark.slow
@settings(max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_queries(), title=_texts(), summary=_texts(6), body=_texts(30), fields=_FIELD_SETS)
def test_engine_agrees_with_the_reference_deeply(
    query: str, title: str, summary: str, body: str, fields: list[str]
) -> None:
    """The same agreement over many more and longer examples (run with -m slow)."""
    _agrees(query, _article(title, summary, body), fields)


@settings(max_examples=300, deadline=None)
@given(
    gap=st.lists(
        st.tuples(st.sampled_from(["x", "y", "F-16", "Київ", "67"]), st.sampled_from(SEPARATORS)),
        max_size=7,
    ),
    before=st.sampled_from(["", "drone x ", "jet ", "x. "]),
    after=st.sampled_from(["", " jet", " x drone", "."]),
    left=st.sampled_from(["drône", "dron*", '"shot down"', "regex:/dro?ne/"]),
    right=st.sampled_from(["jets", "jet*", '"f 16"', r"regex:/\$\d+/"]),
    operator=st.sampled_from(["NEAR", "ONEAR"]),
)
def test_near_at_distances_just_under_at_and_over_the_gap(
    gap: list[tuple[str, str]], before: str, after: str, left: str, right: str, operator: str
) -> None:
    """NEAR/n and ONEAR/n between two occurrences n words apart: n-1, n and n+1, both orders."""
    ends = {
        "drône": "Drone",
        "dron*": "drones",
        '"shot down"': "shot-down",
        "regex:/dro?ne/": "drne",
        "jets": "JETS",
        "jet*": "jetting",
        '"f 16"': "F-16",
        r"regex:/\$\d+/": "$67",
    }
    filler = "".join(f" {word}{sep}" for word, sep in gap)
    n = len(words_with_spans(filler))
    body = f"{before}{ends[left]}{filler} {ends[right]}{after}"
    article = _article("Headline", "", body)
    alone = not before and not after and right != '"f 16"'  # no other occurrence
    for distance in (n - 1, n, n + 1):
        if distance < 0:
            continue
        for query, first in (
            (f"{left} {operator}/{distance} {right}", True),
            (f"{right} {operator}/{distance} {left}", False),
        ):
            _agrees(query, article, list(FIELDS))
            if alone:
                fired = bool(compile_rules(make_rule(query, min_score=0)).evaluate(article))
                assert fired is (distance >= n and (first or operator == "NEAR")), query


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.sampled_from(QUERY_WORDS), title=_texts(), body=_texts())
def test_spans_are_the_words_of_each_occurrence(query: str, title: str, body: str) -> None:
    """Every occurrence of a term is one span, from its first word to its last, whatever separates them."""
    article = _article(title, "", body)
    reference = Reference(article)
    expected = set()
    for name, first, last in reference.occurrences(parse_query(query), FIELDS):
        spans = reference.words[name]
        expected.add((name, spans[first][1], spans[last][2]))
    detections = compile_rules(make_rule(query, min_score=0)).evaluate(article)
    assert {(s.field.value, s.start, s.end) for d in detections for s in d.spans} == expected


PLAIN = [w for w in QUERY_WORDS if not w.startswith("~")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    left=st.sampled_from(PLAIN),
    right=st.sampled_from(PLAIN),
    operator=st.sampled_from(["NEAR", "ONEAR"]),
    distance=st.integers(0, 4),
    title=_texts(),
    body=_texts(),
)
def test_near_evidence_is_every_occurrence_with_a_partner(
    left: str, right: str, operator: str, distance: int, title: str, body: str
) -> None:
    """The spans of a NEAR of two terms are the occurrences of either that have a partner."""
    query = f"{left} {operator}/{distance} {right}"
    article = _article(title, "", body)
    reference = Reference(article)
    lefts = reference.occurrences(parse_query(left), FIELDS)
    rights = reference.occurrences(parse_query(right), FIELDS)
    ordered = operator == "ONEAR"
    partnered = {a for a in lefts if any(near(a, b, distance, ordered) for b in rights)}
    partnered |= {b for b in rights if any(near(a, b, distance, ordered) for a in lefts)}
    expected = {
        (name, reference.words[name][first][1], reference.words[name][last][2])
        for name, first, last in partnered
    }
    detections = compile_rules(make_rule(query, min_score=0)).evaluate(article)
    assert {(s.field.value, s.start, s.end) for d in detections for s in d.spans} == expected


# words a ``~`` can mark (not wildcards), as @index@ placeholders in generated queries
STEMMABLE = [w for w in QUERY_WORDS if not w.endswith("*")]
_PLACEHOLDER = re.compile(r"@(\d+)@")


def _with_words(query: str, mark: str) -> str:
    return _PLACEHOLDER.sub(lambda m: mark + STEMMABLE[int(m[1])], query)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=_queries(
        st.sampled_from([f"@{i}@" for i in range(len(STEMMABLE))]) | st.sampled_from(REGEXES)
    ),
    title=_texts(),
    summary=_texts(6),
    body=_texts(),
    fields=_FIELD_SETS,
)
def test_stem_terms_take_the_paths_of_plain_terms(
    query: str, title: str, summary: str, body: str, fields: list[str]
) -> None:
    """In an article of unknown language ``~word`` is the word: a query fires and spans alike with and without ``~``."""
    article = _article(title, summary, body)
    found = [
        compile_rules(make_rule(_with_words(query, mark), fields=fields, min_score=0)).evaluate(
            article
        )
        for mark in ("", "~")
    ]
    plain, stemmed = ({(s.field, s.start, s.end) for d in ds for s in d.spans} for ds in found)
    assert (bool(found[1]), stemmed) == (bool(found[0]), plain), _with_words(query, "~")
