"""Rule sets on the rules topic: round trip, atomic swap, and refusal of invalid packs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from schemas import Article, Settings
from schemas.rules import RuleSetMessage
from streams.rulebook import RuleBook, ruleset_message
from streams.rules import RuleSet, load_pack_text
from wirewatch import cmd_pipeline

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
RULE = {
    "id": "r1",
    "title": "Rule",
    "category": "test",
    "severity": "low",
    "query": "alpha",
    "alert": {"policy": "threshold", "count": 2, "within": "30m", "renotify_after": "6h"},
}


def test_ruleset_message_survives_the_topic() -> None:
    """A published message reloads from its JSON equal, durations included."""
    message = ruleset_message([load_pack_text(json.dumps({"rules": [RULE]}), name="p")])
    reloaded = RuleSetMessage.model_validate_json(message.model_dump_json())
    assert reloaded == message
    assert reloaded.packs[0].rules[0].alert.within.total_seconds() == 1800


def test_install_swaps_and_reports(unit_settings: Settings) -> None:
    """install() makes the new set current, sets ready and calls the hook."""
    seen: list[str] = []
    book = RuleBook(unit_settings, on_install=lambda rules: seen.append(rules.version))
    with pytest.raises(RuntimeError, match="no rule set"):
        _ = book.current
    rules = RuleSet.compile([load_pack_text(json.dumps({"rules": [RULE]}), name="p")])
    book.install(rules, origin="test")
    assert book.current is rules
    assert book.ready.is_set()
    assert seen == [rules.version]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("rules: [{id: r1}]", id="missing-fields"),
        pytest.param(json.dumps({"rules": [{**RULE, "query": "alpha AND ("}]}), id="bad-query"),
    ],
)
def test_publish_refuses_an_invalid_pack(
    unit_settings: Settings, tmp_path: Path, text: str
) -> None:
    """An invalid pack is reported with its file name and nothing is published."""
    pack = tmp_path / "bad.yaml"
    pack.write_text(text)
    result = CliRunner().invoke(cmd_pipeline.publish, [str(pack)], obj=unit_settings)
    assert result.exit_code != 0
    assert "bad" in str(result.exception)


def test_publish_dry_run_validates(unit_settings: Settings, tmp_path: Path) -> None:
    """--dry-run compiles a valid pack and says so without touching Kafka."""
    pack = tmp_path / "good.yaml"
    pack.write_text(json.dumps({"rules": [RULE]}))
    result = CliRunner().invoke(cmd_pipeline.publish, [str(pack), "--dry-run"], obj=unit_settings)
    assert result.exit_code == 0, result.output
    assert "1 rules in 1 packs, valid" in result.output


ENTITY_RULE = {
    "id": "ru-drone",
    "title": "Russian drone",
    "category": "test",
    "severity": "high",
    "query": "drone*",
    "entities": {"any": ["country:RU"]},
}


async def installed(settings: Settings) -> RuleBook:
    """A rule book that has installed the packs at ``settings.rules_path`` (empty topic)."""
    book = RuleBook(settings)
    book.caught_up.set()
    task = asyncio.create_task(book.run())
    await asyncio.wait_for(book.ready.wait(), 30)
    task.cancel()
    return book


async def test_workers_compile_with_the_gazetteer(
    unit_settings: Settings, tmp_path: Path, make_article: Callable[..., Article]
) -> None:
    """A rule requiring an entity fires in a worker's rule set, as it does in `scan`."""
    (tmp_path / "pack.yaml").write_text(json.dumps({"rules": [ENTITY_RULE]}))
    settings = unit_settings.model_copy(
        update={"rules_path": tmp_path, "gazetteer_path": SEEDS / "entities"}
    )
    book = await installed(settings)
    article = make_article(title="Russian drone crashes in a field", body="No one was hurt.")
    [detection] = book.current.evaluate(article)
    assert "country:RU" in {entity.id for entity in detection.entities}


async def test_missing_gazetteer_is_reported_for_the_rules_it_blinds(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """Without a gazetteer, the rules that require entities are named in an error event."""
    (tmp_path / "pack.yaml").write_text(json.dumps({"rules": [ENTITY_RULE, RULE]}))
    settings = unit_settings.model_copy(
        update={"rules_path": tmp_path, "gazetteer_path": tmp_path / "missing"}
    )
    with structlog.testing.capture_logs() as events:
        await installed(settings)
    [event] = [e for e in events if e["event"] == "rules_cannot_fire"]
    assert event["log_level"] == "error"
    assert event["rules"] == ["ru-drone"]


async def test_worker_rules_see_entities_and_figures(unit_settings: Settings) -> None:
    """The rule book compiles with the gazetteer, so a rule needing a commodity figure fires."""
    settings = unit_settings.model_copy(
        update={"rules_path": SEEDS / "rules", "gazetteer_path": SEEDS / "entities"}
    )
    book = await installed(settings)
    article = Article(
        id="urals-1",
        source="Energy Ledger",
        title="Urals discount to Brent widest in a year",
        body="The discount on Russian Urals crude to Brent widened to $19.40 a barrel.",
    )
    fired = {d.rule_id: d for d in book.current.evaluate(article)}
    assert "commodity-price-level-or-move" in fired
    spread = next(v for v in fired["commodity-price-level-or-move"].values if v.kind == "spread")
    assert (spread.commodity, spread.benchmark, spread.value) == (
        "commodity:urals",
        "commodity:brent",
        19.4,
    )


async def test_a_rule_set_over_the_size_limits_is_refused_from_the_topic(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """A published set larger than WIREWATCH_RULES_MAX_SET_BYTES is rejected; the current set stays."""
    (tmp_path / "pack.yaml").write_text(json.dumps({"rules": [RULE]}))
    small = ruleset_message([load_pack_text(json.dumps({"rules": [RULE]}), name="p")])
    big = ruleset_message(
        [
            load_pack_text(json.dumps({"rules": [{**RULE, "id": f"r{i}"}]}), name=f"p{i}")
            for i in range(3)
        ]
    )
    limit = len(small.packs[0].model_dump_json()) * 2
    settings = unit_settings.model_copy(
        update={"rules_path": tmp_path, "rules_max_set_bytes": limit}
    )
    book = await installed(settings)
    before = book.current
    with structlog.testing.capture_logs() as events:
        await book._install_message(big.model_dump_json().encode())
    assert book.current is before
    [event] = [e for e in events if e["event"] == "rules_rejected"]
    assert "WIREWATCH_RULES_MAX_SET_BYTES" in event["error"]
    await book._install_message(small.model_dump_json().encode())
    assert book.current is not before
