"""Detection of one raw record: refusals with reasons, repeats, stories, keys, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas import InvalidRecordError, Settings
from streams.detect import Detector, decode_article
from streams.rules import RuleSet, load_pack_text

PACK = json.dumps(
    {
        "rules": [
            {
                "id": "leak",
                "title": "Leak",
                "category": "energy",
                "severity": "high",
                "query": "leak*",
            },
            {
                "id": "leak-by-entity",
                "title": "Leak by entity",
                "category": "energy",
                "severity": "low",
                "query": "pipeline",
                "alert": {"policy": "threshold", "count": 2, "group_by": "entity"},
            },
        ]
    }
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
        decode_article(raw, origin="articles/0@7", max_body_bytes=1000)
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
