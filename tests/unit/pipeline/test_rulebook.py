"""The rule book of a worker: atomic swaps, the union of the rules topic, refusal of invalid packs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from aiokafka import ConsumerRecord
from click.testing import CliRunner

from schemas import Article, Settings
from schemas.live_config import GazetteerRecord, text_version
from schemas.rules import PackRecord, RuleSpec, pack_version
from streams.rulebook import RuleBook, RuleReport
from streams.rules import RuleSet, load_pack_text
from wirewatch import cmd_rule_packs

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
RULE = {
    "id": "r1",
    "title": "Rule",
    "category": "test",
    "severity": "low",
    "query": "alpha",
    "alert": {"policy": "threshold", "count": 2, "within": "30m", "renotify_after": "6h"},
}


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
    result = CliRunner().invoke(cmd_rule_packs.publish, [str(pack)], obj=unit_settings)
    assert result.exit_code != 0
    assert "bad" in str(result.exception)


def test_publish_dry_run_validates(unit_settings: Settings, tmp_path: Path) -> None:
    """--dry-run compiles a valid pack and says so without touching Kafka."""
    pack = tmp_path / "good.yaml"
    pack.write_text(json.dumps({"rules": [RULE]}))
    result = CliRunner().invoke(
        cmd_rule_packs.publish, [str(pack), "--dry-run", "--owner", "ana"], obj=unit_settings
    )
    assert result.exit_code == 0, result.output
    assert "1 rules in 1 packs of ana, valid" in result.output


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
    book.gazetteers_caught_up.set()
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


def pack_record(owner: str, name: str, *rules: dict[str, object]) -> ConsumerRecord[bytes, bytes]:
    """A record of the rules topic carrying ``owner``'s pack ``name``."""
    specs = tuple(RuleSpec.model_validate(r) for r in rules)  # unchecked queries, as on a topic
    value = PackRecord(
        owner=owner, name=name, version=pack_version(specs), published_by=owner, rules=specs
    ).encode()
    return ConsumerRecord(
        "rules", 0, pack_record.offset, 0, 0, f"{owner}/{name}".encode(), value, None, 0, 0, []
    )


pack_record.offset = 0  # type: ignore[attr-defined]  # one growing offset for every record


class Reports(list[RuleReport]):
    """The rule book's reports, and a way to wait for the ``n``-th one."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def append(self, report: RuleReport) -> None:
        super().append(report)
        self.changed.set()

    async def wait(self, count: int) -> RuleReport:
        async with asyncio.timeout(30):
            while len(self) < count:
                self.changed.clear()
                await self.changed.wait()
        return self[-1]


def running_book(
    settings: Settings, tmp_path: Path, *records: ConsumerRecord[bytes, bytes]
) -> tuple[RuleBook, Reports, asyncio.Task[None]]:
    """A rule book with a one-rule pack file as its default, given ``records``, then run."""
    (tmp_path / "files.yaml").write_text(json.dumps({"rules": [{**RULE, "id": "from-file"}]}))
    reports = Reports()
    book = RuleBook(settings.model_copy(update={"rules_path": tmp_path}), on_report=reports.append)
    for record in records:
        book.on_record(record)
    book.caught_up.set()
    book.gazetteers_caught_up.set()
    return book, reports, asyncio.create_task(book.run())


async def test_a_pack_over_the_size_limits_is_refused_from_the_topic(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """A pack on the topic larger than WIREWATCH_RULES_MAX_PACK_BYTES is refused; the set stays."""
    settings = unit_settings.model_copy(update={"rules_max_pack_bytes": 2_000})
    book, reports, task = running_book(
        settings, tmp_path, pack_record("ana", "drones", {**RULE, "id": "a1"})
    )
    try:
        await reports.wait(1)
        installed = book.current
        book.on_record(
            pack_record("bob", "oil", {**RULE, "id": "b1", "query": "oil OR " + "x" * 3_000})
        )
        await reports.wait(2)
        assert book.current is installed
        [failure] = reports[-1]["failing"]
        assert failure["pack"] == "bob/oil"
        assert "WIREWATCH_RULES_MAX_PACK_BYTES" in failure["error"]
    finally:
        task.cancel()


async def test_the_union_of_the_topic_is_installed_and_a_broken_pack_reported(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """Packs on the topic replace the files; a broken new version leaves the set as it was."""
    book, reports, task = running_book(
        unit_settings,
        tmp_path,
        pack_record("ana", "drones", {**RULE, "id": "a1"}),
        pack_record("bob", "oil", {**RULE, "id": "b1"}),
    )
    try:
        await reports.wait(1)
        assert set(book.current.rules) == {"a1", "b1"}
        assert reports[-1]["source"] == "topic"
        assert len(reports[-1]["packs"]) == 2
        installed = book.current
        with structlog.testing.capture_logs() as events:
            book.on_record(pack_record("ana", "drones", {**RULE, "id": "a1", "query": "("}))
            await reports.wait(2)
        assert book.current is installed
        [failure] = reports[-1]["failing"]
        assert failure["pack"] == "ana/drones"
        [event] = [e for e in events if e["event"] == "rule_pack_rejected"]
        assert event["log_level"] == "error"
        assert event["keeps"] is not None
        book.on_record(pack_record("ana", "drones", {**RULE, "id": "a9"}))
        await reports.wait(3)
        assert set(book.current.rules) == {"a9", "b1"}
        assert reports[-1]["failing"] == []
    finally:
        task.cancel()


async def test_deleting_every_pack_goes_back_to_the_files(
    unit_settings: Settings, tmp_path: Path
) -> None:
    """With no pack left on the topic, the packs at WIREWATCH_RULES_PATH are the rule set."""
    book, reports, task = running_book(
        unit_settings, tmp_path, pack_record("ana", "drones", {**RULE, "id": "a1"})
    )
    try:
        await reports.wait(1)
        assert set(book.current.rules) == {"a1"}
        book.on_record(ConsumerRecord("rules", 0, 99, 0, 0, b"ana/drones", None, None, 0, 0, []))
        await reports.wait(2)
        assert set(book.current.rules) == {"from-file"}
        assert reports[-1]["source"] == "files"
        assert reports[-1]["packs"] == []
    finally:
        task.cancel()


def gazetteer_record(name: str, text: str) -> ConsumerRecord[bytes, bytes]:
    """A record of the gazetteers topic carrying one gazetteer file."""
    value = GazetteerRecord(
        name=name, text=text, version=text_version(text), published_by="ana"
    ).model_dump_json()
    return ConsumerRecord("gazetteers", 0, 0, 0, 0, name.encode(), value.encode(), None, 0, 0, [])


GAZETTEER = """entities:
  - id: country:ZZ
    name: Zedland
    kind: country
    aliases: [Zedland, Zedlandic]
"""


async def test_a_published_gazetteer_is_used_without_a_restart(
    unit_settings: Settings, tmp_path: Path, make_article: Callable[..., Article]
) -> None:
    """A gazetteer file on the topic recompiles the rules with it; a broken one changes nothing."""
    zed = {**ENTITY_RULE, "id": "zed-drone", "entities": {"any": ["country:ZZ"]}}
    (tmp_path / "pack.yaml").write_text(json.dumps({"rules": [zed]}))
    settings = unit_settings.model_copy(
        update={"rules_path": tmp_path, "gazetteer_path": SEEDS / "entities"}
    )
    reports = Reports()
    book = RuleBook(settings, on_report=reports.append)
    book.caught_up.set()
    book.gazetteers_caught_up.set()
    task = asyncio.create_task(book.run())
    article = make_article(title="Zedland drone", body="A Zedlandic drone was seen.")
    try:
        first = await reports.wait(1)
        assert first["gazetteer"]["source"] == str(SEEDS / "entities")
        assert book.current.evaluate(article) == []
        book.on_gazetteer_record(gazetteer_record("zed", GAZETTEER))
        second = await reports.wait(2)
        assert second["gazetteer"]["source"] == "topic"
        [detection] = book.current.evaluate(article)
        assert "country:ZZ" in {e.id for e in detection.entities}
        working = book.current
        book.on_gazetteer_record(gazetteer_record("zed", "entities: [{id: 1}]"))
        third = await reports.wait(3)
        assert third["gazetteer"]["error"]
        assert third["gazetteer"]["version"] == second["gazetteer"]["version"]
        assert book.current is working
    finally:
        task.cancel()
