"""The ``~`` operator: words matched by their stems (or Ukrainian normal forms) in the article's language."""

from __future__ import annotations

import pytest

from schemas import Article
from streams.rules import QuerySyntaxError, parse_query
from streams.rules.query import Term
from streams.stories.terms import terms_of
from tests.unit.engine.conftest import compile_rules, make_rule


def spans(query: str, body: str, language: str) -> list[str] | None:
    """The matched texts of a one-rule set on ``body``, or None when it does not fire."""
    found = compile_rules(make_rule(query)).evaluate(
        Article(id="a", source="s", title="Headline", body=body, language=language)
    )
    return [span.text for span in found[0].spans] if found else None


@pytest.mark.parametrize(
    ("query", "language", "body", "expected"),
    [
        (
            "~київ",
            "uk",
            "Делегація прибула до Києва, зустріч відбулася під Києвом.",
            ["Києва", "Києвом"],
        ),
        ("~Харків", "uk", "Удар по Харкову; у Харкові зникло світло.", ["Харкову", "Харкові"]),
        ("~боєць", "uk", "Двоє бійців повернулися з полону.", ["бійців"]),
        ("~Киев", "ru", "Переговоры в Киеве и под Киевом.", ["Киеве", "Киевом"]),
        (
            "~negotiation",
            "en",
            "Negotiations resumed after they negotiated.",
            ["Negotiations", "negotiated"],
        ),
        ("~Verhandlung", "de", "Die Verhandlungen in Genf sind vorbei.", ["Verhandlungen"]),
        ("~négociation", "fr", "Les négociations de paix reprennent.", ["négociations"]),
        ("~negociación", "es", "Las negociaciones de paz se reanudan.", ["negociaciones"]),
        ("~rozmowa", "pl", "Rozmowy pokojowe, a potem rozmów nie było.", ["Rozmowy", "rozmów"]),
        ("~Wrocław", "pl", "Drony nad Wrocławiem.", ["Wrocławiem"]),
        ('~"мирні переговори"', "uk-UA", "Мирних переговорів не буде.", ["Мирних переговорів"]),
    ],
)
def test_stems_match_inflected_forms(
    query: str, language: str, body: str, expected: list[str]
) -> None:
    """A ``~`` term matches the inflected forms of its word, vowel changes included, with exact spans."""
    assert spans(query, body, language) == expected


@pytest.mark.parametrize("language", ["unknown", "ja"])
def test_without_a_stemmer_only_the_word_itself_matches(language: str) -> None:
    """In an article of unknown language, or one with no stemmer, ``~word`` is the exact word."""
    assert spans("~київ", "До Києва їхали довго.", language) is None
    assert spans("~київ", "Київ вистояв.", language) == ["Київ"]


def test_the_language_decides_the_stemmer() -> None:
    """The same word stems only under its own language's rules."""
    assert spans("~Verhandlung", "Die Verhandlungen.", "en") is None


def test_stems_work_inside_near_and_or() -> None:
    """``~`` terms are operands of NEAR and OR like any term, and select candidates."""
    query = "(~переговори OR ~перемир'я) NEAR/4 ~Стамбул"
    assert spans(query, "Раунд переговорів у Стамбулі.", "uk") == ["переговорів", "Стамбулі"]
    assert spans(query, "Раунд переговорів. " + "Слово " * 10 + "Стамбул.", "uk") is None


def test_parser_marks_stem_terms() -> None:
    """``~word`` and ``~"phrase"`` parse to stem terms; ``~`` cannot be combined with ``*``."""
    assert parse_query("~Києві") == Term(("києві",), False, "Києві", 1, True)
    tree = parse_query('~"мирні переговори"')
    assert isinstance(tree, Term)
    assert (tree.stem, tree.words) == (True, ("мирні", "переговори"))
    with pytest.raises(QuerySyntaxError, match="cannot be combined"):
        parse_query("~київ*")


@pytest.mark.parametrize("aside", ["", " (Genève)"])
def test_ascii_and_other_articles_match_alike(aside: str) -> None:
    """An all-ASCII article (each distinct word looked up once) matches as one with other letters."""
    body = (
        f"Peace talked about, then peace talks resumed{aside}; the talks stalled near the border."
    )
    assert spans('~"peace talk"', body, "en") == ["Peace talked", "peace talks"]
    assert spans("~talk NEAR/3 ~border", body, "en") == ["talks", "border"]
    assert spans("~talk NEAR/2 ~border", body, "en") is None


def test_an_articles_places_survive_the_key_memo_being_cleared() -> None:
    """The lazy places of a matched ~ term are the article's own, even after the memo is forgotten."""
    from streams.rules.stems import StemIndex, StemTerm

    index = StemIndex([StemTerm(0, ("talk",)), StemTerm(1, ("border",))])
    stream = " peace talks resumed the talks stalled near the border "
    places = index.find("en", stream, lambda start, end: stream[start:end], ascii_words=True)
    index._keyed("en")._forget()  # as when the memo reaches its bound on another article
    assert places.terms() == {0, 1}
    assert [stream[start:end] for start, end in places.get(0)] == ["talks", "talks"]
    assert [stream[start:end] for start, end in places.get(1)] == ["border"]
    assert places.get(2) == []


def test_words_are_keyed_only_when_a_query_with_a_stem_term_is_reached() -> None:
    """A ``~`` term beside an exact anchor is looked for only in articles where the anchor occurs."""
    rules = compile_rules(
        make_rule('"Berber Bank" AND ~negotiation', id="anchored"),
        make_rule("pipeline", id="plain"),
    )
    matcher = rules._matcher
    elsewhere = Article(
        id="a", source="s", title="Pipeline", body="They negotiated.", language="en"
    )
    scan = matcher.scan(elsewhere)
    assert [rules._queries[i].rule for i in matcher.candidates(scan)] == [1]
    assert scan.stems_pending  # no query holding a ~ term was reached
    reached = Article(
        id="b", source="s", title="Berber Bank", body="Berber Bank negotiated.", language="en"
    )
    scan = matcher.scan(reached)
    assert matcher.candidates(scan) == [0]
    assert not scan.stems_pending
    assert [d.rule_id for d in rules.evaluate(reached)] == ["anchored"]
    unanchored = reached.model_copy(update={"body": "Berber Bank declined to comment."})
    assert rules.evaluate(unanchored) == []


@pytest.mark.parametrize(
    ("query", "body", "fires"),
    [
        ("~negotiation", "Negotiations resumed.", True),  # reached through the ~ term itself
        ("NOT ~negotiation", "Negotiations resumed.", False),  # evaluated for every article
        ("NOT ~negotiation", "Talks resumed.", True),
        ("title:(Talks) AND NOT ~negotiation", "They negotiated.", False),
    ],
)
def test_stem_terms_without_an_exact_anchor(query: str, body: str, fires: bool) -> None:
    """A query reached through a ``~`` term, or tested for every article, sees the ``~`` matches."""
    article = Article(id="a", source="s", title="Talks", body=body, language="en")
    assert bool(compile_rules(make_rule(query)).evaluate(article)) is fires


def test_words_the_ukrainian_analyzer_cannot_read_have_no_normal_form() -> None:
    """A letter without a Unicode name (a Tangut ideograph) made pymorphy3 raise; it matches as itself."""
    odd = "00\U00017000"
    assert terms_of(odd, "uk") is not None
    assert spans("~київ", f"Делегація прибула до Києва. {odd}", "uk") == ["Києва"]
    assert spans(f"~{odd[2:]}", f"Знак {odd[2:]} у тексті.", "uk") == [odd[2:]]
