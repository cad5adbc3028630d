"""RuleSet: compiling packs, and detections that explain themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas import Article, ConfigError, Detection, TextField
from schemas.rules import RulePack
from streams.rules import RulePackError, RuleSet, rule_version, ruleset_version
from streams.rules.entities import Gazetteer
from tests.unit.engine.conftest import compile_rules, make_rule

URALS = (
    "The discount on Russian Urals crude to Brent reached a one-year high of "
    "19.40 dollars per barrel, traders said."
)


def test_detection_carries_rule_article_and_evidence(make_article: Callable[..., Article]) -> None:
    """A detection names the rule, its version and the article, with spans into the text."""
    rule = make_rule('(drone* OR jet*) NEAR/12 (airspace OR "shot down")', tags=("air",))
    article = make_article(
        title="Drones over Poland",
        body="Polish jets shot down two drones that had entered the airspace.",
    )
    [detection] = compile_rules(rule).evaluate(article)
    assert detection.key == f"{article.id}/{rule.id}@{rule_version(rule)}"
    assert (detection.rule_id, detection.category, detection.severity) == (
        rule.id,
        rule.category,
        rule.severity,
    )
    assert detection.story_id == article.id
    assert detection.tags == ("air",)
    assert detection.spans
    for span in detection.spans:
        assert article.text_of(span.field.value)[span.start : span.end] == span.text
    assert {s.text for s in detection.spans} >= {"jets", "shot down", "airspace"}
    assert all(span.field is TextField.BODY for span in detection.spans)
    for start, end in detection.snippet_highlights:
        assert detection.snippet[start:end] in {s.text for s in detection.spans}
    # built without re-validation, so check it is a valid message all the same
    assert Detection.model_validate_json(detection.model_dump_json()) == detection


def test_story_id_is_passed_through(make_article: Callable[..., Article]) -> None:
    """The caller's story id is used when given."""
    [detection] = compile_rules(make_rule("drone")).evaluate(
        make_article(body="A drone."), story_id="story-7"
    )
    assert detection.story_id == "story-7"


def test_snippet_is_cut_around_the_densest_spans(make_article: Callable[..., Article]) -> None:
    """A long body gives a short snippet with ellipses, centred on the matched words."""
    body = "Filler words here. " * 40 + "Then a drone crossed the airspace. " + "More filler. " * 40
    [detection] = compile_rules(make_rule("drone NEAR/5 airspace", min_score=0)).evaluate(
        make_article(body=body)
    )
    assert detection.snippet.startswith("…")
    assert detection.snippet.endswith("…")
    assert len(detection.snippet) < 300
    assert [detection.snippet[s:e] for s, e in detection.snippet_highlights] == [
        "drone",
        "airspace",
    ]


@pytest.mark.parametrize(
    ("query", "title", "body", "score"),
    [
        # one whole match in the title, the lead sentence or the summary is worth 1
        ("drone AND airspace", "Drone in the airspace", "Nothing here.", 1.0),
        ("drone AND airspace", "Headline", "A drone in the airspace. More.", 1.0),
        # a second place counts half as much; a lone term is half a place
        ("drone AND airspace", "Drone seen", "A drone in the airspace. More.", 1.25),
        # later body sentences are worth less, the last one least
        ("drone AND airspace", "Headline", "One. A drone in the airspace. Two. Three.", 0.8),
        ("drone AND airspace", "Headline", "One. Two. A drone in the airspace. Three.", 0.6),
        ("drone AND airspace", "Headline", "One. Two. A drone in the airspace.", 0.4),
        # repetition adds up, halving each time: 0.6 + 0.3 + 0.1
        (
            "drone AND airspace",
            "Headline",
            "One. Two. Drone airspace. Drone airspace. Drone airspace.",
            1.0,
        ),
        # a single-term query: every place holds all its evidence
        ("drone", "Headline", "One. A drone.", 0.8),
        # no evidence to weigh: the query holds for the whole article
        ("NOT balloon", "Headline", "A drone.", 1.0),
    ],
)
def test_score(
    make_article: Callable[..., Article], query: str, title: str, body: str, score: float
) -> None:
    """The aboutness score weighs each place of evidence by where it is and how complete."""
    [detection] = compile_rules(make_rule(query, min_score=0)).evaluate(
        make_article(title=title, body=body)
    )
    assert detection.score == score
    assert detection.score == round(sum(part.counted for part in detection.score_parts), 3)


@pytest.mark.parametrize(
    ("min_score", "body", "fires"),
    [
        (None, "A drone entered the airspace. It left.", True),
        (None, "It was quiet. Later. A drone entered the airspace. It left.", False),
        (0.5, "It was quiet. Later. A drone entered the airspace. It left.", True),
        (0, "It was quiet. Later. Then. A drone entered the airspace.", True),
    ],
)
def test_min_score_decides(
    make_article: Callable[..., Article], min_score: float | None, body: str, fires: bool
) -> None:
    """A rule fires when the score reaches its min_score (1 unless the rule says otherwise)."""
    fields = {} if min_score is None else {"min_score": min_score}
    rules = compile_rules(make_rule("drone NEAR/3 airspace", **fields))
    assert bool(rules.evaluate(make_article(title="Headline", body=body))) is fires


def test_judge_tells_why_a_rule_does_not_fire(make_article: Callable[..., Article]) -> None:
    """judge() reports the evidence, the score and min_score of a rule that does not fire."""
    rules = compile_rules(make_rule("drone NEAR/3 airspace"))
    article = make_article(
        title="Headline", body="Quiet. Still quiet. A drone entered the airspace."
    )
    verdict = rules.judge(article, "test-rule")
    assert (verdict.matched, verdict.fires, verdict.score, verdict.min_score) == (
        True,
        False,
        0.4,
        1.0,
    )
    [part] = verdict.parts
    assert (part.field, part.sentence, part.terms) == ("body", 2, ("airspace", "drone"))
    assert not rules.judge(make_article(body="Nothing."), "test-rule").matched


def test_judge_refuses_unknown_and_disabled_rules(make_article: Callable[..., Article]) -> None:
    """judge() names a rule id that is not in the set or is disabled."""
    rules = compile_rules(make_rule(), make_rule(id="off", enabled=False))
    with pytest.raises(ConfigError, match="no rule 'nope'"):
        rules.judge(make_article(), "nope")
    with pytest.raises(ConfigError, match="disabled"):
        rules.judge(make_article(), "off")


@pytest.mark.parametrize(
    ("rule_fields", "language", "article_language", "title", "body", "fires"),
    [
        ({}, None, "en", "Headline", "A drone.", True),
        ({"fields": ("title",)}, None, "en", "Headline", "A drone.", False),
        ({"fields": ("title",)}, None, "en", "Drone", "Body.", True),
        ({}, "en", "en-GB", "Headline", "A drone.", True),
        ({}, "ru", "en", "Headline", "A drone.", False),
        ({"enabled": False}, None, "en", "Headline", "A drone.", False),
        ({"queries": {"uk": "дрон*"}}, None, "uk", "Заголовок", "Дрони.", True),
        ({"queries": {"uk": "дрон*"}}, None, "ru", "Заголовок", "Дроны.", False),
        # the base query applies in every language
        ({"queries": {"uk": "дрон*"}}, None, "uk", "Заголовок", "A drone.", True),
    ],
)
def test_fields_language_and_enabled(
    make_article: Callable[..., Article],
    rule_fields: dict[str, Any],
    language: str | None,
    article_language: str,
    title: str,
    body: str,
    fires: bool,
) -> None:
    """Rule fields, rule language, per-language queries and enabled decide where a rule applies."""
    rules = compile_rules(make_rule("drone", language=language, **rule_fields))
    article = make_article(title=title, body=body, language=article_language)
    assert bool(rules.evaluate(article)) is fires


@pytest.mark.parametrize(
    ("entities", "fires"),
    [
        ({"any": ["country:RU"]}, True),
        ({"any": ["country:PL"]}, False),
        ({"all": ["country:RU", "commodity:urals"]}, True),
        ({"all": ["country:RU", "country:PL"]}, False),
        ({"none": ["country:PL"]}, True),
        ({"none": ["commodity:brent"]}, False),
    ],
)
def test_entity_requirements(
    make_article: Callable[..., Article],
    small_gazetteer: Gazetteer,
    entities: dict[str, list[str]],
    fires: bool,
) -> None:
    """entities: {any, all, none} are checked against the gazetteer's mentions."""
    rules = compile_rules(make_rule("discount", entities=entities), gazetteer=small_gazetteer)
    detections = rules.evaluate(make_article(body=URALS))
    assert bool(detections) is fires
    if detections:
        assert {"country:RU", "commodity:urals", "commodity:brent"} <= {
            e.id for e in detections[0].entities
        }


def test_entity_requirement_without_gazetteer_never_fires(
    make_article: Callable[..., Article],
) -> None:
    """Without a gazetteer no entity is known, so a rule needing one cannot fire."""
    rules = compile_rules(make_rule("discount", entities={"any": ["country:RU"]}))
    assert rules.evaluate(make_article(body=URALS)) == []


@pytest.mark.parametrize(
    ("where", "extract", "fires", "kinds"),
    [
        (None, ("spread", "extreme"), True, {"spread", "extreme"}),
        ("spread >= 19", (), True, {"spread", "extreme", "price", "change_pct"}),
        ("spread >= 20", (), False, set()),
        ("extreme is not null and commodity = 'urals'", ("extreme",), True, {"extreme"}),
        ("abs(change_pct) >= 2", ("change_pct",), False, set()),
    ],
)
def test_figures_and_where_conditions(
    make_article: Callable[..., Article],
    small_gazetteer: Gazetteer,
    where: str | None,
    extract: tuple[str, ...],
    fires: bool,
    kinds: set[str],
) -> None:
    """extract keeps the figures of those kinds; where must hold over them for the rule to fire."""
    rule = make_rule("urals", where=where, extract=extract)
    detections = compile_rules(rule, gazetteer=small_gazetteer).evaluate(make_article(body=URALS))
    assert bool(detections) is fires
    if detections:
        values = detections[0].values
        assert values
        assert {v.kind for v in values} <= kinds
        spread = next((v for v in values if v.kind == "spread"), None)
        if spread is not None:
            assert (spread.value, spread.currency, spread.unit) == (19.40, "USD", "bbl")
            assert spread.commodity == "commodity:urals"


def test_rules_without_figures_carry_none(
    make_article: Callable[..., Article], small_gazetteer: Gazetteer
) -> None:
    """A rule with neither extract nor where attaches no figures."""
    [detection] = compile_rules(make_rule("urals"), gazetteer=small_gazetteer).evaluate(
        make_article(body=URALS)
    )
    assert detection.values == ()


@pytest.mark.parametrize(
    ("packs", "fragment"),
    [
        ([[make_rule("a"), make_rule("b")]], "used twice"),
        ([[make_rule("a OR")]], "ends too early"),
        ([[make_rule("regex:/(a)\\1/")]], "RE2 cannot compile"),
        ([[make_rule("a", where="price >>> 2")]], "where"),
        ([[make_rule("a", queries={"ru": "(a"})]], "queries.ru"),
    ],
)
def test_compile_rejects_bad_packs(packs: list[list[Any]], fragment: str) -> None:
    """Packs that arrive unvalidated (from the rules topic) are checked when compiled."""
    with pytest.raises(RulePackError, match="rule test-rule") as caught:
        RuleSet.compile([RulePack(name=f"p{i}", rules=tuple(p)) for i, p in enumerate(packs)])
    assert fragment in str(caught.value)


def test_versions_are_content_hashes() -> None:
    """Same content, same version; where a pack was read from does not count; edits do."""
    rule = make_rule("drone")
    pack = RulePack(name="air", source="/a/air.yaml", rules=(rule,))
    moved = pack.model_copy(update={"source": "/b/air.yaml"})
    edited = RulePack(name="air", rules=(make_rule("drone*"),))
    assert ruleset_version([pack]) == ruleset_version([moved]) == RuleSet.compile([pack]).version
    assert ruleset_version([pack]) != ruleset_version([edited])
    assert rule_version(rule) == rule_version(make_rule("drone", title="Another title"))
    assert rule_version(rule) != rule_version(make_rule("drone", severity="low"))


def test_rules_mapping_includes_disabled_rules() -> None:
    """rules lists every rule by id, the disabled ones too (they just never fire)."""
    on, off = make_rule("a", id="on"), make_rule("b", id="off", enabled=False)
    assert set(compile_rules(on, off).rules) == {"on", "off"}


def test_many_rules_share_terms(make_article: Callable[..., Article]) -> None:
    """Rules that share terms each fire independently, in rule order."""
    rules = compile_rules(
        *(make_rule(f"drone NEAR/{n} airspace", id=f"near-{n}") for n in range(10)),
        make_rule("NOT balloon", id="negative"),
        make_rule("regex:/air\\w+/", id="regex"),
    )
    article = make_article(body="A drone was seen near the edge of the airspace.")
    # seven words between "drone" and "airspace"
    assert [d.rule_id for d in rules.evaluate(article)] == [
        "near-7",
        "near-8",
        "near-9",
        "negative",
        "regex",
    ]
