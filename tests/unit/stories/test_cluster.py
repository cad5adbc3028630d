"""Story clustering: which story an article joins, why, and how state stays the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import Detection, Severity
from schemas.rules import AlertPolicy
from schemas.stories import (
    StoryAssignment,
    StoryDecision,
    StoryFeatures,
    StoryFigure,
    StoryRequest,
)
from streams.stories import Clusterer
from streams.stories.copies import sketch_text

T0 = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
POLICIES = {
    "by-story": AlertPolicy(policy="corroboration", sources=2),
    "by-entity": AlertPolicy(policy="threshold", count=2, group_by="entity"),
}
POKROVSK = {
    "terms": ("assault", "pokrovsk", "armour", "villag", "rodynsk", "captur"),
    "entities": ("country:RU", "country:UA", "place:pokrovsk"),
    "numbers": ("57", "14"),
}


def features(article_id: str, hours: float = 0, **fields: Any) -> StoryFeatures:
    """Features of an article reported ``hours`` after T0 (and recorded then)."""
    at = T0 + timedelta(hours=hours)
    values: dict[str, Any] = {
        "article_id": article_id,
        "source": f"outlet-{article_id}",
        "event_at": at,
        "record_at": at,
        "categories": ("military_offensive",),
        "language": "en",
    }
    values.update(fields)
    return StoryFeatures(**values)


def request(feats: StoryFeatures, rules: tuple[str, ...] = ("by-story",)) -> StoryRequest:
    """A request with one detection per rule."""
    detections = tuple(
        Detection(
            key=f"{feats.article_id}/{rule}@v1",
            article_id=feats.article_id,
            story_id=feats.article_id,
            source=feats.source,
            title="t",
            rule_id=rule,
            rule_version="v1",
            rule_title=rule,
            category="military_offensive",
            severity=Severity.HIGH,
            detected_at=feats.record_at,
        )
        for rule in rules
    )
    return StoryRequest(features=feats, detections=detections)


def make_clusterer(**overrides: Any) -> Clusterer:
    """A clusterer with the default scores and a 72 h window."""
    settings: dict[str, Any] = {
        "window_s": 72 * 3600,
        "max_open": 1000,
        "max_articles": 500,
        "join_score": 0.25,
        "copy_similarity": 0.5,
        "policies": POLICIES.get,
    }
    settings.update(overrides)
    return Clusterer(**settings)


def assign(clusterer: Clusterer, feats: StoryFeatures) -> StoryAssignment:
    """Assign one article and return its (new) assignment."""
    outcome = clusterer.assign(request(feats))
    assert outcome.assignment is not None
    return outcome.assignment


def decided_after_pokrovsk(second: StoryFeatures) -> StoryDecision:
    """The decision on ``second`` by a clusterer that holds the Pokrovsk report ``a1``."""
    clusterer = make_clusterer()
    assign(clusterer, features("a1", **POKROVSK))
    return assign(clusterer, second).decision


def test_reports_in_other_words_join_and_say_why() -> None:
    """A rewrite sharing rare words, a place and numbers joins; the decision names them."""
    clusterer = make_clusterer()
    first = assign(clusterer, features("a1", **POKROVSK))
    second = assign(
        clusterer,
        features(
            "a2",
            2,
            terms=("fight", "pokrovsk", "repel", "rodynsk", "tank", "armour"),
            entities=("place:pokrovsk", "country:UA", "country:RU"),
            numbers=("57",),
        ),
    )
    assert first.decision.kind == "opened"
    assert first.decision.story_id == "a1"
    decision = second.decision
    assert (decision.kind, decision.story_id) == ("joined", "a1")
    assert decision.similarity is not None
    assert decision.similarity.score >= decision.threshold  # type: ignore[operator]
    assert "place:pokrovsk" in decision.shared_entities
    assert decision.shared_numbers == ("57",)
    assert {"pokrovsk", "rodynsk"} <= set(decision.shared_terms)
    assert decision.gap_h == 2.0


def test_a_report_in_another_language_joins_through_entities_and_numbers() -> None:
    """Words do not compare across languages; two specific things in common do."""
    decision = decided_after_pokrovsk(
        features(
            "a2",
            1,
            language="uk",
            terms=("наступ", "покров"),
            entities=("place:pokrovsk", "country:UA"),
            numbers=("57", "14"),
        )
    )
    assert decision.story_id == "a1"
    assert decision.similarity is not None
    assert decision.similarity.terms is None


def test_another_event_with_the_same_entities_opens_its_own_story() -> None:
    """Same countries, same category, other place and numbers: refused, with the reason."""
    decision = decided_after_pokrovsk(
        features(
            "a2",
            3,
            terms=("assault", "kupiansk", "outskirt", "infiltr"),
            entities=("country:RU", "country:UA", "place:kupiansk"),
            numbers=("27000",),
        )
    )
    assert (decision.kind, decision.story_id, decision.candidate) == ("opened", "a2", "a1")
    assert decision.refused


def test_figures_of_another_day_keep_stories_apart() -> None:
    """Brent at 81.20 and at 79.75 a day later: the figures disagree, whatever else is shared."""
    clusterer = make_clusterer()
    brent = {
        "terms": ("brent", "crude", "opec", "barrel", "wti"),
        "entities": ("commodity:brent", "commodity:wti", "org:OPEC-PLUS"),
        "categories": ("commodity_price_move",),
    }
    assign(
        clusterer,
        features(
            "a1",
            figures=(StoryFigure(series="price commodity:brent USD/bbl", value=81.2),),
            **brent,
        ),
    )
    decision = assign(
        clusterer,
        features(
            "a2",
            24,
            figures=(StoryFigure(series="price commodity:brent USD/bbl", value=79.75),),
            **brent,
        ),
    ).decision
    assert decision.kind == "opened"
    assert decision.conflicts
    assert decision.refused is not None
    assert decision.refused.startswith("figures disagree")


def test_a_report_beyond_the_window_opens_a_new_story() -> None:
    """An incursion a week later is another event, even in the same words."""
    assert decided_after_pokrovsk(features("a2", 24 * 7, **POKROVSK)).story_id == "a2"


def test_a_near_verbatim_copy_counts_as_its_original() -> None:
    """A reprint joins as a copy, and its detections carry the original and its source."""
    text = (
        "Russian troops launched one of their largest assaults of the autumn on the approaches "
        "to Pokrovsk on Wednesday, attacking with armoured columns from three directions."
    )
    clusterer = make_clusterer()
    assign(clusterer, features("a1", sketch=sketch_text(text), **POKROVSK))
    outcome = clusterer.assign(
        request(features("a2", 1, source="reprint.example", sketch=sketch_text(text + " More.")))
    )
    assert outcome.assignment is not None
    decision = outcome.assignment.decision
    assert (decision.kind, decision.story_id, decision.copy_of) == ("copy", "a1", "a1")
    assert outcome.assignment.copy_of_source == "outlet-a1"
    detection = outcome.detections[0][1]
    assert (detection.copy_of, detection.copy_of_source) == ("a1", "outlet-a1")


def test_detections_are_keyed_by_rule_and_story() -> None:
    """Story-grouped rules key by the story joined; entity thresholds by entity."""
    clusterer = make_clusterer()
    clusterer.assign(request(features("a1", **POKROVSK)))
    feats = features("a2", 1, **POKROVSK)
    outcome = clusterer.assign(request(feats, ("by-story", "by-entity", "gone")))
    keys = [key for key, _ in outcome.detections]
    assert "by-story|story:a1" in keys
    assert "by-entity|entity:place:pokrovsk" not in keys  # no entity mentions on the detection
    assert all(not key.startswith("gone|") for key in keys)
    assert {d.story_id for _, d in outcome.detections} == {"a1"}


def test_a_replayed_request_gets_the_same_answer() -> None:
    """The same article again: no new decision, its detections keyed as the first time."""
    clusterer = make_clusterer()
    assign(clusterer, features("a1", **POKROVSK))
    first = clusterer.assign(request(features("a2", 1, **POKROVSK)))
    again = clusterer.assign(request(features("a2", 1, terms=("other",))))
    assert again.assignment is None
    assert again.detections == first.detections


def test_every_worker_that_applies_the_decisions_agrees() -> None:
    """A follower applying the published decisions in order decides the next article alike."""
    writer, follower = make_clusterer(), make_clusterer()
    articles = [
        features("a1", **POKROVSK),
        features("a2", 1, **POKROVSK),
        features(
            "b1", 2, terms=("gold", "record"), entities=("commodity:gold",), numbers=("4400",)
        ),
        features(
            "b2",
            3,
            terms=("gold", "bullion", "record"),
            entities=("commodity:gold",),
            numbers=("4400",),
        ),
    ]
    for feats in articles:
        outcome = writer.assign(request(feats))
        assert outcome.assignment is not None
        follower.observe(outcome.assignment)
        follower.observe(outcome.assignment)  # read twice (a worker reads back its own)
    nxt = features("a3", 4, **POKROVSK)
    assert writer.decide(nxt) == follower.decide(nxt)
    assert writer.index.df == follower.index.df
    assert list(writer.index.stories) == list(follower.index.stories)


def test_a_bridging_article_merges_the_younger_story_into_the_older() -> None:
    """Two stories of one event opened apart are merged; the absorbed one's rules get a control."""
    clusterer = make_clusterer()
    assign(
        clusterer,
        features(
            "a1",
            terms=("pokrovsk", "assault", "rodynsk"),
            entities=("place:pokrovsk",),
            numbers=("57",),
        ),
    )
    assign(
        clusterer,
        features(
            "b1",
            1,
            language="uk",
            terms=("наступ",),
            entities=("place:donetsk",),
            numbers=("14", "30"),
        ),
    )
    bridge = clusterer.assign(
        request(
            features(
                "c1",
                2,
                terms=("pokrovsk", "assault", "rodynsk"),
                entities=("place:pokrovsk", "place:donetsk"),
                numbers=("57", "14", "30"),
            )
        )
    )
    assert bridge.assignment is not None
    decision = bridge.assignment.decision
    assert decision.story_id == "a1"
    assert decision.merged == ("b1",)
    assert [key for key, _ in bridge.controls] == ["by-story|story:b1"]
    control = bridge.controls[0][1]
    assert (control.type, control.from_group, control.into_group) == (
        "story_merge",
        "story:b1",
        "story:a1",
    )
    assert "b1" not in clusterer.index.stories


def test_a_full_story_stops_absorbing() -> None:
    """At the size bound a story takes no more articles; the next report opens a story, and it says so."""
    clusterer = make_clusterer(max_articles=3)
    outcomes = [clusterer.assign(request(features(f"a{n}", n / 10, **POKROVSK))) for n in range(5)]
    stories = [o.assignment.decision.story_id for o in outcomes if o.assignment]
    assert stories == ["a0", "a0", "a0", "a3", "a3"]
    assert [o.full for o in outcomes] == [[], [], ["a0"], [], []]
    refused = outcomes[3].assignment
    assert refused is not None
    assert refused.decision.refused == "the story is full (3 articles)"


@pytest.mark.parametrize("hours", [80.0, 100.0])
def test_stories_close_when_nothing_joins_them_within_the_window(hours: float) -> None:
    """Record time moves the window: old stories close and their features leave the frequencies."""
    clusterer = make_clusterer()
    assign(clusterer, features("a1", **POKROVSK))
    assign(clusterer, features("b1", hours, terms=("gold",), entities=("commodity:gold",)))
    assert list(clusterer.index.stories) == ["b1"]
    assert "e:place:pokrovsk" not in clusterer.index.df


def test_at_most_max_open_stories_are_kept() -> None:
    """Beyond max_open, the least recently joined story closes first."""
    clusterer = make_clusterer(max_open=2)
    for n in range(4):
        assign(clusterer, features(f"x{n}", n, terms=(f"word{n}",), entities=(f"place:p{n}",)))
    assert list(clusterer.index.stories) == ["x2", "x3"]


GOLD = {
    "terms": ("gold", "bullion", "record"),
    "entities": ("commodity:gold",),
    "numbers": ("4400",),
}


def test_a_teaser_never_joins_the_story_of_its_page_and_says_why() -> None:
    """A teaser repeating its page opens a story of its own; the decision names the refusal."""
    clusterer = make_clusterer()
    assign(clusterer, features("p1", page="p1", **POKROVSK))
    decision = assign(clusterer, features("t1", kind="teaser", page="p1", **POKROVSK)).decision
    assert (decision.kind, decision.story_id, decision.candidate) == ("opened", "t1", "p1")
    assert decision.refused is not None
    assert "holds page p1, where this teaser was read" in decision.refused
    other = assign(clusterer, features("t2", 1, kind="teaser", page="p9", **POKROVSK))
    assert other.decision.story_id == "p1"  # a teaser of another page may join


def test_a_page_never_joins_the_story_of_its_teasers() -> None:
    """The page arriving after its teaser is kept apart too (requests can come in any order)."""
    clusterer = make_clusterer()
    assign(clusterer, features("t1", kind="teaser", page="p1", **POKROVSK))
    decision = assign(clusterer, features("p1", 1, page="p1", **POKROVSK)).decision
    assert decision.story_id == "p1"
    assert (
        decision.refused == "the story holds teasers read on this page: they report other stories"
    )


def test_a_teaser_is_no_copy_of_its_page() -> None:
    """Even a teaser whose text is the page's opening does not join it as a copy."""
    text = "Russian troops assaulted the approaches to Pokrovsk from three directions on Wednesday"
    clusterer = make_clusterer()
    assign(clusterer, features("p1", page="p1", sketch=sketch_text(text), **POKROVSK))
    teaser = features("t1", kind="teaser", page="p1", sketch=sketch_text(text), **POKROVSK)
    assert assign(clusterer, teaser).decision.kind == "opened"


def test_the_full_article_a_teaser_announced_joins_the_teasers_story() -> None:
    """The teaser's figures stay off its page's story; the full report later joins the teaser."""
    clusterer = make_clusterer()
    assign(clusterer, features("p1", page="p1", **POKROVSK))
    assign(
        clusterer,
        features("t1", kind="teaser", page="p1", categories=("commodity_price_move",), **GOLD),
    )
    full = features("g1", 3, categories=("commodity_price_move",), **GOLD)
    decision = assign(clusterer, full).decision
    assert (decision.kind, decision.story_id) == ("joined", "t1")
    assert "e:commodity:gold" not in clusterer.index.stories["p1"].features


def test_a_bridging_article_does_not_merge_a_page_with_its_teaser() -> None:
    """An article close to both stays with one: the page's and its teaser's stories stay apart."""
    clusterer = make_clusterer()
    assign(clusterer, features("p1", page="p1", **POKROVSK))
    assign(clusterer, features("t1", kind="teaser", page="p1", **POKROVSK))
    decision = assign(clusterer, features("c1", 1, **POKROVSK)).decision
    assert decision.kind == "joined"
    assert decision.merged == ()
    assert {"p1", "t1"} <= set(clusterer.index.stories)
