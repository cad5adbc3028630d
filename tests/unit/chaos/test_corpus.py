"""The chaos corpus and its oracle: deterministic, and strict about its own assumptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import Settings
from tests.chaos.corpus import (
    POISON_KINDS,
    PROBE_RULE,
    CorpusError,
    Record,
    expect,
    generate,
    marker,
    record_time,
    rule_pack,
    write_rules,
)

START_MS = 1_800_000_000_000


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """The harness's rule pack, written where the oracle reads it."""
    return write_rules(tmp_path / "rules")


def test_same_seed_gives_the_same_corpus() -> None:
    """A corpus is fixed by its seed: same records, same order."""
    first = generate(300, seed=3, start_ms=START_MS, rate=100)
    second = generate(300, seed=3, start_ms=START_MS, rate=100)
    assert first == second
    assert first != generate(300, seed=4, start_ms=START_MS, rate=100)


def test_records_are_stamped_at_the_rate() -> None:
    """Record n carries start + n / rate as its timestamp."""
    records = generate(5, seed=1, start_ms=START_MS, rate=50)
    assert [r.timestamp_ms for r in records] == [START_MS + 20 * n for n in range(5)]


def test_oracle_expects_one_alert_per_marked_article(rules: Path, unit_settings: Settings) -> None:
    """Each article carrying a rule's marker is one alert, keyed by rule, story and record time."""
    records = generate(500, seed=5, start_ms=START_MS, rate=100)
    expectation = expect(records, rules, unit_settings)
    assert expectation.articles == {r.article_id for r in records}
    marked = {
        r.article_id: rule["id"]
        for r in records
        for rule in rule_pack()["rules"][1:]
        if marker(rule["id"]) in json.loads(r.value)["body"]
    }
    assert 50 < len(marked) < 150
    assert {(a.article_id, a.rule_id) for a in expectation.alerts.values()} == set(marked.items())
    by_id = {r.article_id: r for r in records}
    for key, alert in expectation.alerts.items():
        window = record_time(by_id[alert.article_id].timestamp_ms).strftime("%Y%m%dT%H%M%S.%fZ")
        assert key.startswith(f"{alert.rule_id}@")
        assert key.endswith(f"/story:{alert.article_id}/{window}")
        assert expectation.key_of(alert.rule_id, alert.article_id) == key
    assert expectation.key_of(PROBE_RULE, records[0].article_id or "") is None


def test_keys_move_with_the_record_timestamps(rules: Path, unit_settings: Settings) -> None:
    """The same articles stamped later expect other keys: the producer's timestamp is part of them."""
    early = expect(generate(200, seed=5, start_ms=START_MS, rate=100), rules, unit_settings)
    late = expect(generate(200, seed=5, start_ms=START_MS + 1000, rate=100), rules, unit_settings)
    assert len(early.alerts) == len(late.alerts)
    assert not set(early.alerts) & set(late.alerts)


def test_poison_records_are_counted_apart(rules: Path, unit_settings: Settings) -> None:
    """One percent poison, of every kind, none of them an article."""
    records = generate(1000, seed=9, start_ms=START_MS, rate=100, poison_share=0.01)
    poison = [r for r in records if r.poison]
    assert len(poison) == 10
    assert {r.poison for r in poison} == set(POISON_KINDS)
    expectation = expect(records, rules, unit_settings)
    assert expectation.poison == 10
    assert len(expectation.articles) == 990


def test_oracle_refuses_near_duplicate_articles(rules: Path, unit_settings: Settings) -> None:
    """Two copies of one story would make the expectation depend on timing: the oracle says so."""
    (original,) = generate(1, seed=2, start_ms=START_MS, rate=100)
    value = json.loads(original.value)
    copy = Record(
        b"copy", json.dumps({**value, "id": "ca-999999"}).encode(), START_MS + 10, "ca-999999"
    )
    with pytest.raises(CorpusError, match="near-duplicates"):
        expect([original, copy], rules, unit_settings)
