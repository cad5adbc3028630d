"""Rule health in headless Chromium: the published packs in force, and a pack that fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from schemas import Settings
from schemas.kafka import make_producer
from schemas.rules import PackRecord, RuleSpec, pack_version
from streams.rule_admin import publish_packs
from streams.rules import load_pack_text
from tests.integration.dashboard.conftest import DESK, Console
from tests.integration.pipeline.conftest import Pipeline, keyword_rule, pack_text
from tests.support.processes import Child, wirewatch_argv
from tests.support.servers import free_port


@pytest.fixture
def dashboard(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Child, Settings]]:
    """A dashboard without accounts (loopback) on topics of its own, started from a pack file."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}.",
        partitions=1,
    )
    pipeline = Pipeline(settings, tmp_path)
    pipeline.write_pack(pack_text(keyword_rule("from-file", "zulu")))
    port = free_port()
    env = pipeline.env(WIREWATCH_DASHBOARD_PORT=str(port))
    child = Child("dashboard", env, tmp_path / "dashboard.log", port, wirewatch_argv("dashboard"))
    pipeline.workers.append(child.start())
    try:
        child.wait_ready()
        yield child, settings
    finally:
        pipeline.close()


def in_thread(job: object) -> None:
    """Run a coroutine to its end in a thread (Playwright's sync API holds this one's loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, job).result()  # type: ignore[arg-type]


async def put_record(settings: Settings, record: PackRecord) -> None:
    """Write a pack record without the publisher's checks, as a rogue or outdated client might."""
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topics.rules, record.encode(), key=record.key.encode()
        )
    finally:
        await producer.stop()


def test_rule_health_lists_the_packs_and_a_failing_one(
    browser: Browser, console: Console, dashboard: tuple[Child, Settings]
) -> None:
    """After a publication the panel lists the packs; a pack that does not compile is shown failing."""
    child, settings = dashboard
    page = console.watch(browser.new_context(viewport=DESK).new_page())
    page.goto(f"http://127.0.0.1:{child.port}/#health")
    facts = page.locator("#health-facts")
    expect(facts).to_contain_text("the pack files", timeout=15_000)
    pack = load_pack_text(pack_text(keyword_rule("drone-1", "drone")), name="drones")
    in_thread(
        publish_packs(
            settings, [pack], owner="ana", actor="ana", via="cli", origin="test", gazetteer=None
        )
    )
    expect(facts).to_contain_text("1 published pack", timeout=15_000)
    facts.get_by_text("1 published pack").click()
    expect(facts).to_contain_text("ana/drones")
    broken = RuleSpec.model_validate(keyword_rule("drone-2", "drone AND ("))
    record = PackRecord(
        owner="ana",
        name="drones",
        version=pack_version([broken]),
        published_by="x",
        rules=(broken,),
    )
    in_thread(put_record(settings, record))
    failing = page.locator(".failing-packs")
    expect(failing).to_contain_text("ana/drones", timeout=15_000)
    expect(failing).to_contain_text(f"version {record.version} not in force")
    expect(failing).to_contain_text("drone-2")
    expect(page.locator("#rules-table")).to_contain_text("drone-1")
    page.context.close()
