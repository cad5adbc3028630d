"""Large rule sets through the rules topic: 10 packs of 1,000 rules, and 100,000 rules.

The rule book runs in the test process, following the real topic exactly as
a worker's does (same follower, same compile), without faust around it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemas import Article, Settings
from schemas.kafka import ensure_topics, make_producer, pipeline_topics
from schemas.rules import LEGACY_RULESET_KEY, RulePack, RuleSetMessage, RuleSpec
from streams.rule_admin import publish_packs, read_packs
from tests.integration.pipeline.conftest import following


def bulk_packs(packs: int, rules: int, *, first: int = 0) -> list[RulePack]:
    """``packs`` packs of ``rules`` rules each; rule ``n`` fires on the word ``zq<n>``."""
    found = []
    for p in range(packs):
        specs = tuple(
            RuleSpec(
                id=f"bulk-{n}", title=f"Bulk {n}", category="bulk", severity="low", query=f"zq{n}"
            )
            for n in range(first + p * rules, first + (p + 1) * rules)
        )
        found.append(RulePack(name=f"bulk-{p:03d}", source=f"bulk-{p:03d}.yaml", rules=specs))
    return found


def keys(owner: str, packs: int) -> list[str]:
    """The keys of ``owner``'s first ``packs`` bulk packs."""
    return [f"{owner}/bulk-{p:03d}" for p in range(packs)]


def article(word: str) -> Article:
    """An article that holds ``word``."""
    return Article(id=f"a-{word}", source="example.org", title="Bulk test", body=f"It says {word}.")


async def publish(settings: Settings, packs: list[RulePack], owner: str = "ana") -> None:
    """Publish ``packs`` as ``owner``'s, as `rules publish` does."""
    await publish_packs(
        settings, packs, owner=owner, actor=owner, via="cli", origin="test", gazetteer=None
    )


@pytest.fixture
def settings(kafka_settings: Settings, tmp_path: Path) -> Settings:
    """The test's topics, with a one-rule pack file as the start-up default."""
    (tmp_path / "files.yaml").write_text(
        "rules:\n  - {id: from-files, title: F, category: f, severity: low, query: zulu}\n"
    )
    return kafka_settings.model_copy(update={"rules_path": tmp_path})


async def test_ten_packs_of_a_thousand_rules_swap_in_at_once(settings: Settings) -> None:
    """10 packs of 1,000 rules publish (each record under the limit) and install in one swap."""
    async with following(settings) as state:
        await asyncio.wait_for(state.until("files"), 60)
        await publish(settings, bulk_packs(10, 1_000))
        report = await asyncio.wait_for(state.until("topic", *keys("ana", 10)), 120)
        assert len(state.installed) == 2  # the files, then every pack at once
        assert len(state.book.current.rules) == 10_000
        assert report["failing"] == []
        [detection] = state.book.current.evaluate(article("zq7654"))
        assert detection.rule_id == "bulk-7654"
    on_topic = await read_packs(settings)
    sizes = [len(record.encode()) for record in on_topic.records.values()]
    assert len(sizes) == 10
    assert max(sizes) < settings.max_message_bytes


async def test_the_old_single_rule_set_works_until_the_first_publish_splits_it(
    settings: Settings,
) -> None:
    """A worker reads the pre-pack record; publishing one pack moves the others to its owner."""
    legacy = RuleSetMessage(version="old", packs=tuple(bulk_packs(3, 2)), published_by="ops@host")
    await ensure_topics(settings, pipeline_topics(settings))
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topics.rules,
            legacy.model_dump_json().encode(),
            key=LEGACY_RULESET_KEY.encode(),
        )
    finally:
        await producer.stop()
    async with following(settings) as state:
        await asyncio.wait_for(state.until("topic", *keys("(legacy)", 3)), 60)
        assert set(state.book.current.rules) == {f"bulk-{n}" for n in range(6)}
        replacement = bulk_packs(1, 2, first=100)[0].model_copy(update={"name": "bulk-001"})
        await publish(settings, [replacement], owner="ops")
        report = await asyncio.wait_for(state.until("topic", *keys("ops", 3)), 60)
        assert set(state.book.current.rules) == {
            "bulk-0",
            "bulk-1",
            "bulk-4",
            "bulk-5",
            "bulk-100",
            "bulk-101",
        }
        assert report["failing"] == []
    on_topic = await read_packs(settings)
    assert on_topic.legacy is None
    assert set(on_topic.records) == {"ops/bulk-000", "ops/bulk-001", "ops/bulk-002"}


@pytest.mark.slow
async def test_a_hundred_thousand_rules_publish_and_install(settings: Settings) -> None:
    """100 packs of 1,000 rules publish and a worker's rule book installs all of them."""
    async with following(settings) as state:
        await asyncio.wait_for(state.until("files"), 60)
        await publish(settings, bulk_packs(100, 1_000))
        await asyncio.wait_for(state.until("topic", *keys("ana", 100)), 300)
        assert len(state.book.current.rules) == 100_000
        [detection] = state.book.current.evaluate(article("zq99999"))
        assert detection.rule_id == "bulk-99999"
