"""The gazetteer: aliases, transliterations, whole words, negative phrases, loading errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Article
from schemas.errors import ConfigError
from streams.rules.entities import Gazetteer
from streams.rules.numbers import extract_values
from streams.rules.words import folded_text


def ids(gazetteer: Gazetteer, article: Article) -> list[str]:
    return [mention.id for mention in gazetteer.mentions(article)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kyiv rejected the proposal.", "country:UA"),
        ("Kiev rejected the proposal.", "country:UA"),
        ("Київ відкинув пропозицію.", "country:UA"),
        ("Киев отверг предложение.", "country:UA"),
        ("The Kremlin said so.", "country:RU"),
        ("Россия заявила об этом.", "country:RU"),
        ("России не понравилось.", "country:RU"),
        ("Russian officials met.", "country:RU"),
        ("Shelling hit Kharkiv.", "place:kharkiv"),
        ("Shelling hit Kharkov.", "place:kharkiv"),
        ("Обстріл Харкова тривав.", "place:kharkiv"),
        ("Ships left Odesa.", "place:odesa"),
        ("Ships left Odessa.", "place:odesa"),
        ("Tankers loaded at Primorsk.", "place:primorsk"),
        ("Tankers loaded at Ust-Luga.", "place:ust-luga"),
        ("Tankers loaded at Ust Luga.", "place:ust-luga"),
        ("A drone hit Novorossiysk.", "place:novorossiysk"),
        ("Fighting near Zaporozhye.", "place:zaporizhzhia"),
        ("Fighting near Zaporizhzhia.", "place:zaporizhzhia"),
        ("Troops in Crimea.", "place:crimea"),
        ("NATO allies met.", "org:NATO"),
        ("The European Union agreed.", "org:EU"),
        ("The EU agreed.", "org:EU"),
        ("G20 ministers met.", "org:G20"),
        ("OPEC+ will raise output.", "org:OPEC-PLUS"),
        ("The IAEA inspectors arrived.", "org:IAEA"),
        ("Sergey Lavrov spoke.", "person:sergey-lavrov"),
        ("Lavrov spoke.", "person:sergey-lavrov"),
        ("Zelenskyy spoke.", "person:volodymyr-zelensky"),
        ("Brent rose.", "commodity:brent"),
        ("Urals crude fell.", "commodity:urals"),
        ("WTI slipped.", "commodity:wti"),
        ("Dutch TTF gas climbed.", "commodity:ttf"),
        ("Henry Hub futures slid.", "commodity:henry-hub"),
        ("Gold hit a record.", "commodity:gold"),
        ("Aluminum and nothing else.", "commodity:aluminium"),
        ("Нефть подорожала.", "commodity:crude-oil"),
        ("KRAKÓW and ÉTÉ and GOLD", "commodity:gold"),
    ],
)
def test_alias_finds_entity(
    gazetteer: Gazetteer, article: Callable[..., Article], text: str, expected: str
) -> None:
    """Aliases, demonyms, capitals, transliterations and inflections map to one id."""
    assert expected in ids(gazetteer, article(text))


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("Brentford beat Arsenal 2-1.", "commodity:brent"),
        ("She won Olympic gold in Paris.", "commodity:gold"),
        ("He took gold in the 100 metres.", "commodity:gold"),
        ("The gold medal match was sold out.", "commodity:gold"),
        ("A golden goal decided it.", "commodity:gold"),
        ("The silver medal went to Kenya.", "commodity:silver"),
        ("Shoppers crowded Brent Cross.", "commodity:brent"),
        ("Police used tear gas on protesters.", "commodity:natural-gas"),
        ("She cooks with olive oil.", "commodity:crude-oil"),
        ("Give us a call.", "country:US"),
        ("The soil was dry.", "commodity:crude-oil"),
        ("Turmoil in markets.", "commodity:crude-oil"),
        ("He will polish the car.", "country:PL"),
        ("Dubai hosted the summit.", "commodity:dubai"),
        ("Vin Diesel starred.", "commodity:diesel"),
    ],
)
def test_false_friends_are_not_entities(
    gazetteer: Gazetteer, article: Callable[..., Article], text: str, absent: str
) -> None:
    """Whole-word matching, cased aliases and `not` phrases keep classic false positives out."""
    assert absent not in ids(gazetteer, article(text))


def test_spans_index_the_stored_text(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """Every span's offsets slice the field's stored text back to the span text."""
    item = article(
        "Rosyjskie — “Kraków” — the discount on Russian Urals crude to Brent; Київ, Zaporizhzhia.",
        title="Україна and the Kremlin’s Brent",
        summary="Kyiv’s view",
    )
    mentions = gazetteer.mentions(item)
    assert mentions
    for mention in mentions:
        for span in mention.spans:
            assert item.text_of(span.field)[span.start : span.end] == span.text


def test_mentions_group_spans_per_entity_in_order(
    gazetteer: Gazetteer, article: Callable[..., Article]
) -> None:
    """One mention per entity, first-seen order, one span per occurrence across fields."""
    item = article("Moscow and Kyiv. Later Russia again.", title="Russia warns")
    mentions = gazetteer.mentions(item)
    assert [m.id for m in mentions] == ["country:RU", "country:UA"]
    russia = mentions[0]
    assert [(s.field.value, s.text) for s in russia.spans] == [
        ("title", "Russia"),
        ("body", "Moscow"),
        ("body", "Russia"),
    ]
    assert russia.kind == "country"
    assert russia.name == "Russia"


def test_longest_alias_wins(gazetteer: Gazetteer, article: Callable[..., Article]) -> None:
    """Urals crude is one mention of Urals, not also crude oil; "OPEC+" is not OPEC."""
    found = ids(gazetteer, article("Urals crude and OPEC+ ministers."))
    assert "commodity:urals" in found
    assert "commodity:crude-oil" not in found
    assert "org:OPEC-PLUS" in found
    assert "org:OPEC" not in found


def test_shipped_gazetteer_covers_the_required_ground(gazetteer: Gazetteer) -> None:
    """At least 60 countries, and the organisations, places and commodities the packs rely on."""
    countries = [e for e in gazetteer.entities if e.kind == "country"]
    assert len(countries) >= 60
    for required in (
        "org:NATO", "org:EU", "org:G7", "org:G20", "org:UN", "org:OPEC", "org:IAEA",
        "place:primorsk", "place:novorossiysk", "place:ust-luga", "place:donetsk",
        "commodity:brent", "commodity:wti", "commodity:urals", "commodity:dubai",
        "commodity:ttf", "commodity:henry-hub", "commodity:gold", "commodity:silver",
        "commodity:wheat", "commodity:corn", "commodity:copper", "commodity:aluminium",
        "commodity:nickel", "commodity:coal", "commodity:lng", "commodity:diesel",
        "person:sergey-lavrov",
    ):  # fmt: skip
        assert required in gazetteer, required


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab Gold brent-ÉУкраїна’.\n,$%"), max_size=120))
def test_spans_always_slice_the_text(gazetteer: Gazetteer, body: str) -> None:
    """Whatever the text, mentions' spans are whole-word slices of the stored text."""
    if not body.strip():
        return
    item = Article(id="h", source="s", title="t", body=body)
    for mention in gazetteer.mentions(item):
        for span in mention.spans:
            text = item.text_of(span.field)
            assert text[span.start : span.end] == span.text
            assert span.start == 0 or not text[span.start - 1].isalnum()


def write(directory: Path, text: str, name: str = "g.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("entities: [{id: country:XX, name: X, kind: country}]", "needs at least one alias"),
        ("entities: [{id: XX, name: X, kind: country, aliases: [X]}]", "'id' must look like"),
        ("entities: [{id: country:XX, name: X, kind: org, aliases: [X]}]", "'kind' must be"),
        (
            "entities: [{id: country:XX, name: X, kind: country, aliases: X}]",
            "'aliases' must be a list",
        ),
        (
            "entities: [{id: country:XX, name: X, kind: country, aliases: [X], colour: red}]",
            "unknown key",
        ),
        (
            "entities: [{id: country:XX, name: X, kind: country, aliases: ['X*Y']}]",
            "'*' is allowed only",
        ),
        (
            "entities: [{id: country:XX, name: X, kind: country, aliases: [Foo]},"
            " {id: country:YY, name: Y, kind: country, aliases: [foo]}]",
            "already belongs to country:XX",
        ),
        (
            "entities: [{id: country:XX, name: X, kind: country, aliases: [X]},"
            " {id: country:XX, name: Y, kind: country, aliases: [Y]}]",
            "defined twice",
        ),
        ("entities: {id: country:XX}", "a list under 'entities:'"),
        ("entities: [one]", "entry 1"),
        ("a: &x [1]\nentities: *x", "aliases (*name) are not allowed"),
        ("entities: [", "not valid YAML"),
    ],
)
def test_bad_gazetteer_is_a_located_config_error(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    """A malformed file or entry raises ConfigError naming the file (and the entry)."""
    directory = write(tmp_path / "gaz", yaml_text)
    with pytest.raises(ConfigError, match=r"g\.yaml") as caught:
        Gazetteer.load(directory)
    assert message in str(caught.value)


def test_entry_errors_name_the_entity(tmp_path: Path) -> None:
    """An entry error names the entity id so the analyst finds it."""
    directory = write(
        tmp_path / "gaz", "entities: [{id: place:foo, name: '', kind: place, aliases: [Foo]}]"
    )
    with pytest.raises(ConfigError, match="entity 'place:foo'"):
        Gazetteer.load(directory)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_missing_or_empty_directory_is_an_error(tmp_path: Path, make: str) -> None:
    """A gazetteer directory that does not exist or holds no YAML is a ConfigError."""
    directory = tmp_path / "gaz"
    if make == "empty":
        directory.mkdir()
    with pytest.raises(ConfigError, match="gaz"):
        Gazetteer.load(directory)


def test_cased_alias_matches_only_exact_case(
    tmp_path: Path, article: Callable[..., Article]
) -> None:
    """A `cased` alias matches "US" but not "us"; plain aliases ignore case and accents."""
    directory = write(
        tmp_path / "gaz",
        "entities:\n"
        "  - {id: country:US, name: United States, kind: country, aliases: [América], cased: [US]}\n",
    )
    gazetteer = Gazetteer.load(directory)
    assert ids(gazetteer, article("US troops")) == ["country:US"]
    assert ids(gazetteer, article("give us troops")) == []
    assert ids(gazetteer, article("AMERICA first")) == ["country:US"]


def test_prefix_alias_matches_word_endings(tmp_path: Path, article: Callable[..., Article]) -> None:
    """A trailing * matches any ending of a word that starts with the alias, never mid-word."""
    directory = write(
        tmp_path / "gaz",
        "entities:\n  - {id: country:RU, name: Russia, kind: country, aliases: [x], languages: {ru: [Росси*]}}\n",
    )
    gazetteer = Gazetteer.load(directory)
    item = article("Россией и российский, но не мороссия.")
    spans = [s.text for m in gazetteer.mentions(item) for s in m.spans]
    assert spans == ["Россией", "российский"]


def test_gazetteer_and_extractors_fold_a_field_once(
    gazetteer: Gazetteer, article: Callable[..., Article]
) -> None:
    """The extractors reuse the gazetteer's folded copy of a field instead of folding it again."""
    text = article("Сорт Urals подешевел на 3% до 58 долларов за баррель, сообщили трейдеры.")
    folded_text.cache_clear()
    extract_values(text, gazetteer.mentions(text))
    assert folded_text.cache_info().hits >= 1
