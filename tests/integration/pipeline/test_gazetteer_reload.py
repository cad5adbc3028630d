"""A gazetteer published while a rule book runs: the rules are compiled with it at once."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from schemas import Article, ConfigError, Settings
from streams.gazetteer_admin import gazetteer_records, publish_gazetteers, read_gazetteers
from tests.integration.pipeline.conftest import following, keyword_rule, pack_text
from tests.support.processes import ROOT

ZEDLAND = """entities:
  - {id: "country:ZZ", name: Zedland, kind: country, aliases: [Zedland, Zedlandic]}
"""


async def test_a_published_gazetteer_changes_what_fires(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """Publishing the gazetteer with a new entity makes a rule needing it fire; a clash is refused."""
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = {**keyword_rule("zed-drone", "drone"), "entities": {"any": ["country:ZZ"]}}
    (rules / "zed.yaml").write_text(pack_text(rule))
    entities = tmp_path / "entities"
    shutil.copytree(ROOT / "seeds" / "entities", entities)
    settings = kafka_settings.model_copy(
        update={"rules_path": rules, "gazetteer_path": ROOT / "seeds" / "entities"}
    )
    article = Article(id="z-1", source="x.org", title="Zedland drone", body="A Zedlandic drone.")
    async with following(settings) as state:
        await asyncio.wait_for(state.until("files"), 60)
        assert state.book.current.evaluate(article) == []
        (entities / "zedland.yaml").write_text(ZEDLAND)
        written, _ = await publish_gazetteers(
            settings, gazetteer_records(entities, "ops"), actor="ops", via="cli", origin="test"
        )
        assert "zedland" in {r.name for r in written}

        async def recompiled() -> None:
            while state.reports[-1]["gazetteer"]["source"] != "topic":
                state.changed.clear()
                await state.changed.wait()

        await asyncio.wait_for(recompiled(), 60)
        [detection] = state.book.current.evaluate(article)
        assert "country:ZZ" in {e.id for e in detection.entities}

    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "other.yaml").write_text(ZEDLAND.replace("Zedlandic", "Zeds"))
    with pytest.raises(ConfigError, match="defined twice"):
        await publish_gazetteers(
            settings, gazetteer_records(clash, "ops"), actor="ops", via="cli", origin="test"
        )
    assert "other" not in await read_gazetteers(settings)
