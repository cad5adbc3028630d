"""Detection of one raw record: refusals with reasons, repeats, stories, keys, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas import InvalidRecordError, Settings
from streams.detect import Detector, decode_articles
from streams.offline import Offline
from streams.routes import route
from streams.rules import RuleSet, load_pack_text


def rule(rule_id: str, query: str, **fields: object) -> dict[str, object]:
    """A rule of ``query`` (category ``energy``, severity ``high``, titled after its id unless given)."""
    return {
        "id": rule_id,
        "title": rule_id.capitalize(),
        "category": "energy",
        "severity": "high",
        "query": query,
        **fields,
    }


def pack_of(*rules: dict[str, object]) -> str:
    """A rule pack of ``rules``, as text."""
    return json.dumps({"rules": list(rules)})


PACK = pack_of(
    rule("leak", "leak*"),
    rule(
        "leak-by-entity",
        "pipeline",
        severity="low",
        alert={"policy": "threshold", "count": 2, "group_by": "entity"},
    ),
)
BODY = (
    "Engineers found a leak on the northern pipeline on Monday, the operator said, and "
    "closed two valves while crews checked the damage near the pumping station."
)


def record(article_id: str, body: str = BODY, **fields: object) -> bytes:
    """A raw JSON articles record."""
    values: dict[str, object] = {"id": article_id, "source": "example.org", "title": "Leak"}
    values.update(body=body, **fields)
    return json.dumps(values).encode()


@pytest.fixture
def detector(unit_settings: Settings) -> Detector:
    """A detector over the two-rule pack, with a fixed clock."""
    rules = RuleSet.compile([load_pack_text(PACK, name="test")])
    return Detector(unit_settings, lambda: rules, clock=lambda: 1_000.0)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(None, "empty", id="tombstone"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\xff\xfe{}", "invalid_utf8", id="utf8"),
        pytest.param(b"{not json", "invalid_json", id="json"),
        pytest.param(b"[" * 100_000, "invalid_json", id="deep-json"),
        pytest.param(b"[1, 2]", "not_an_object", id="array"),
        pytest.param(
            json.dumps({"id": "x", "title": 5, "body": "b"}).encode(), "wrong_type", id="schema"
        ),
    ],
)
def test_invalid_records_are_refused_with_a_reason(raw: bytes | None, reason: str) -> None:
    """Each kind of poison record raises InvalidRecordError with its own reason and origin."""
    with pytest.raises(InvalidRecordError) as caught:
        decode_articles(raw, origin="articles/0@7", max_body_bytes=1000)
    assert caught.value.reason == reason
    assert "articles/0@7" in str(caught.value)


def test_a_fired_article_becomes_a_story_request(detector: Detector) -> None:
    """An article a rule fired on leaves with its detections and its story features."""
    outcome = detector.detect(record("a1"), origin="o")
    assert outcome.request is not None
    assert {d.rule_id for d in outcome.request.detections} == {"leak", "leak-by-entity"}
    features = outcome.request.features
    assert features.article_id == "a1"
    assert features.categories == ("energy",)
    assert "leak" in features.terms
    assert features.sketch


def test_exact_repeat_is_dropped(detector: Detector) -> None:
    """The same article id again is a repeat with nothing to cluster."""
    detector.detect(record("a1"), origin="o")
    again = detector.detect(record("a1"), origin="o")
    assert again.repeat
    assert again.request is None


def test_an_edited_article_is_read_again(detector: Detector) -> None:
    """The same id with new words (an edited headline) is not a repeat; its keys stay the same."""
    first = detector.detect(record("a1"), origin="o")
    edited = detector.detect(record("a1", title="Leak closes the northern pipeline"), origin="o")
    assert not edited.repeat
    assert first.request is not None
    assert edited.request is not None
    assert {d.key for d in edited.request.detections} == {d.key for d in first.request.detections}
    assert detector.detect(
        record("a1", title="Leak closes the northern pipeline"), origin="o"
    ).repeat


def test_article_no_rule_fires_on_is_not_clustered(detector: Detector) -> None:
    """An article without detections makes no request: stories serve alerts."""
    quiet = record("q1", "Quiet markets on a bank holiday.", title="Markets")
    assert detector.detect(quiet, origin="o").request is None


def test_record_time_fixes_detection_time(detector: Detector) -> None:
    """The record's Kafka time becomes detected_at and clustering's clock, so a replay gets the same windows."""
    at = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    outcome = detector.detect(record("a1"), origin="o", record_time=at)
    assert outcome.request is not None
    assert {d.detected_at for d in outcome.request.detections} == {at}
    assert outcome.request.features.record_at == at
    assert outcome.article.received_at == at


LEAD = "Engineers found a leak on the northern pipeline on Monday"
WITH_TEASERS = f"{LEAD}.\n{LEAD}\nValves closed at the pumping station after a leak"


def test_a_page_written_unsplit_has_its_teasers_detected(detector: Detector) -> None:
    """A record whose body still ends with teasers (kcat) is split as produce would split it."""
    outcome = detector.detect(record("p1", WITH_TEASERS), origin="o")
    page, *teasers = outcome.parts
    assert page.article.body == f"{LEAD}."
    assert [t.article.kind for t in teasers] == ["teaser", "teaser"]
    found = [d for t in teasers if t.request for d in t.request.detections]
    assert found
    assert all(d.article_kind == "teaser" for d in found)
    assert {d.found_on.id for d in found if d.found_on} == {"p1"}
    assert {t.request.features.page for t in teasers if t.request} == {"p1"}
    assert page.request is not None
    assert page.request.features.page == "p1"


@pytest.mark.parametrize("page_first", [True, False], ids=["page-first", "teaser-first"])
def test_a_teaser_never_shares_its_pages_story(unit_settings: Settings, page_first: bool) -> None:
    """Even when a teaser repeats the page's lead, page and teaser stay in separate stories."""
    rules = RuleSet.compile([load_pack_text(PACK, name="test")])
    pipeline = Offline(unit_settings, lambda: rules)
    page, teaser, _ = decode_articles(record("p1", WITH_TEASERS), origin="o", max_body_bytes=10**6)
    order = [page, teaser] if page_first else [teaser, page]
    stories = {}
    for article in order:
        [clustered] = pipeline.process(article.model_dump_json().encode(), origin="o").clustered
        assert clustered.assignment is not None
        stories[article.id] = clustered.assignment.decision.story_id
    assert stories[page.id] != stories[teaser.id]


def test_change_rules_are_routed_by_series(unit_settings: Settings) -> None:
    """A change rule's detection is keyed by the series it reports, its condition left for later."""
    from streams.rules import load_gazetteer

    pack = pack_of(
        rule(
            "urals-widens",
            "Urals",
            category="commodity_price_move",
            extract=["spread"],
            where="spread - previous(spread) >= 2",
        )
    )
    gazetteer = load_gazetteer(unit_settings.gazetteer_path)
    rules = RuleSet.compile([load_pack_text(pack, name="t")], gazetteer=gazetteer)
    detector = Detector(unit_settings, lambda: rules, clock=lambda: 1_000.0)
    body = "The discount on Urals crude to Brent was 19.40 dollars per barrel on Monday."
    outcome = detector.detect(record("u1", body, title="Urals"), origin="o")
    assert outcome.request is not None
    routed = route(rules, outcome.request.detections)
    assert routed.detections == []
    assert [key for key, _ in routed.series] == ["spread|commodity:urals|commodity:brent|USD|bbl"]
    quiet = detector.detect(record("u2", "Urals loadings were steady.", title="Urals"), origin="o")
    assert quiet.request is None or route(rules, quiet.request.detections).series == []


def test_a_category_spike_counts_every_rule_of_its_category(unit_settings: Settings) -> None:
    """A spike grouped by category counts an article any rule of its category fired on, once."""
    pack = pack_of(
        rule("leak", "leak*"),
        rule("valve", "valve*", severity="low"),
        rule("energy-spike", "outage", alert={"policy": "spike", "group_by": "category"}),
    )
    rules = RuleSet.compile([load_pack_text(pack, name="t")])
    detector = Detector(unit_settings, lambda: rules, clock=lambda: 1_000.0)
    outcome = detector.detect(record("s1", "A leak closed two valves."), origin="o")
    assert outcome.request is not None
    keys = [key for key, _ in route(rules, outcome.request.detections).detections]
    assert keys.count("energy-spike|category:energy") == 1
    own = detector.detect(record("s2", "An outage after a leak."), origin="o")
    assert own.request is not None
    own_keys = [k for k, _ in route(rules, own.request.detections).detections]
    assert own_keys.count("energy-spike|category:energy") == 1
