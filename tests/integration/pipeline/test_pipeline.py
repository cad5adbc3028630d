"""The stream workers end to end on the real broker: alerts, poison records, rule swaps."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

from schemas.kafka import story_topics
from schemas.stories import STORY_RECORD, StoryAssignment
from streams.app import app_id
from streams.rule_admin import publish_packs
from streams.rules import load_pack_text
from tests.integration.pipeline.conftest import (
    ROOT,
    Pipeline,
    article,
    by_article,
    keyword_rule,
    pack_text,
    wait_for,
)
from tests.support.topics import Offsets, read_to_end

SEEDS = ROOT / "seeds" / "articles.jsonl"


def test_seed_articles_become_alerts_with_evidence(pipeline: Pipeline) -> None:
    """Seed records produced raw to articles yield alerts carrying their evidence."""
    pipeline.write_pack(
        pack_text(
            keyword_rule("drones-airspace", "drone* NEAR/8 airspace"),
            keyword_rule("oil-price", "(brent OR urals) AND (barrel OR price*)"),
        )
    )
    worker = pipeline.worker("w1")
    worker.wait_ready()
    records = [json.loads(line) for line in SEEDS.read_text().splitlines() if line.strip()]
    pipeline.produce(records)
    alerts = pipeline.alerts(
        lambda got: (
            {"drones-airspace", "oil-price"} <= {a.rule_id for a in got}
            and "ww-seed-001" in by_article(got)
        )
    )
    first = next(a for a in alerts if a.evidence[0].article_id == "ww-seed-001")
    evidence = first.evidence[0]
    assert first.rule_id == "drones-airspace"
    assert evidence.url
    assert evidence.source == "Baltic Observer"
    assert evidence.snippet
    assert evidence.snippet_highlights
    assert all(a.key.startswith(f"{a.rule_id}@{a.rule_version}/") for a in alerts)
    status, body = worker.get("/metrics")
    assert status == 200
    assert b"wirewatch_alerts_total" in body
    assert b"wirewatch_consumer_lag" in body


def test_kcat_record_flows_like_any_other(pipeline: Pipeline) -> None:
    """A JSON record written by kcat (no key) is validated, split and alerts like any other.

    Its body still ends with a teaser list, as a scraper would write it: the
    worker splits it as ``wirewatch produce`` would, and the teaser alerts as
    an article of its own, linked to the page.
    """
    kcat = shutil.which("kcat")
    assert kcat, "kcat is not installed (Debian package `kcat`)"
    pipeline.write_pack(
        pack_text(
            keyword_rule("pipeline-leak", "pipeline AND leak*"),
            keyword_rule("gold-record", "gold NEAR/3 record"),
        )
    )
    pipeline.worker("w1").wait_ready()
    body = "A pipeline leak was found.\nGold steadies near a record high\nEU agrees new listings"
    record = json.dumps(article("kcat-1", "Pipeline leak in the north", body))
    subprocess.run(
        [
            kcat,
            "-P",
            "-b",
            pipeline.settings.bootstrap_servers,
            "-t",
            pipeline.settings.topics.articles,
        ],
        input=record.encode(),
        check=True,
        timeout=30,
    )
    alerts = pipeline.alerts(lambda got: len(got) >= 2)
    page = next(a for a in alerts if a.evidence[0].article_id == "kcat-1")
    assert page.rule_id == "pipeline-leak"
    teaser = next(a for a in alerts if a.rule_id == "gold-record").evidence[0]
    assert teaser.kind == "teaser"
    assert teaser.title == "Gold steadies near a record high"
    assert teaser.found_on is not None
    assert teaser.found_on.id == "kcat-1"


def test_poison_records_are_dead_lettered_and_the_worker_goes_on(pipeline: Pipeline) -> None:
    """Invalid JSON, invalid UTF-8, a wrong schema and an engine error go to articles.dlq."""
    pipeline.write_pack(pack_text(keyword_rule("leak", "leak*")))
    worker = pipeline.worker("w1", argv=("-m", "tests.integration.pipeline.failing_worker"))
    worker.wait_ready()
    pipeline.produce(
        [
            b"{not json",
            b"\xff\xfe invalid utf-8",
            json.dumps({"id": "bad-1", "title": 5, "body": "x"}).encode(),
            article("boom-1", "explode", "A leak that makes the engine fail."),
            article("good-1", "Leak found", "A leak after the poison."),
        ]
    )
    letters = pipeline.dead_letters(lambda got: len(got) >= 4)
    reasons = {letter.reason for letter in letters}
    assert {"invalid_json", "invalid_utf8", "detect_error"} <= reasons
    assert len(reasons - {"invalid_json", "invalid_utf8", "detect_error"}) == 1  # the schema error
    utf8 = next(letter for letter in letters if letter.reason == "invalid_utf8")
    assert utf8.payload() == b"\xff\xfe invalid utf-8"
    assert all(letter.stage == "detect" and "@" in letter.origin for letter in letters)
    pipeline.alerts(lambda got: "good-1" in by_article(got))
    assert worker.running()


def test_published_rule_pack_changes_what_fires_without_restart(pipeline: Pipeline) -> None:
    """After publishing a new pack, the running worker fires the new rule and not the old one."""
    pipeline.write_pack(pack_text(keyword_rule("alpha-rule", "alpha")))
    worker = pipeline.worker("w1")
    worker.wait_ready()
    pipeline.produce([article("a-1", "Alpha report", "alpha words")])
    pipeline.alerts(lambda got: "a-1" in by_article(got))

    pack = load_pack_text(pack_text(keyword_rule("bravo-rule", "bravo")), name="swap")
    asyncio.run(
        publish_packs(
            pipeline.settings,
            [pack],
            owner="test",
            actor="test",
            via="cli",
            origin="test",
            gazetteer=None,
        )
    )
    swapped = wait_for(lambda: worker.readiness().get("rules", {}).get("source") == "topic")
    assert swapped, f"rule set not swapped:\n{worker.log()}"

    pipeline.produce(
        [article("a-2", "Alpha again", "alpha words"), article("b-1", "Bravo news", "bravo words")]
    )
    alerts = pipeline.alerts(lambda got: "b-1" in by_article(got))
    assert by_article(alerts).keys() == {"a-1", "b-1"}
    assert worker.running()


def test_threshold_window_survives_a_restart(pipeline: Pipeline) -> None:
    """A threshold rule that saw 2 of 3 reports of a story before a restart fires on the 3rd after it."""
    pipeline.write_pack(
        pack_text(
            keyword_rule("ceasefire-3", "ceasefire", policy="threshold", count=3, within="30m")
        )
    )
    # Three reports of one event in words of their own: a threshold counts
    # reports, so copies of one text would count once.
    reports = {
        "cf-1": "Negotiators said the ceasefire around Zaporizhzhia held overnight, with OSCE "
        "monitors visiting 14 towns and reporting no shelling near the river crossings.",
        "cf-2": "The 72-hour ceasefire in the Zaporizhzhia region was holding on Thursday, OSCE "
        "observers said after touring 14 towns along the front line.",
        "cf-3": "No shelling was recorded overnight as the Zaporizhzhia truce entered its second "
        "day; OSCE teams checked 14 towns and both armies kept to the ceasefire.",
    }
    first = pipeline.worker("first")
    first.wait_ready()
    pipeline.produce(
        [article(i, "Ceasefire holds", reports[i], source=f"outlet-{i}") for i in ("cf-1", "cf-2")]
    )
    changelog = f"{pipeline.settings.topic_prefix}{pipeline.settings.pipeline_id}-aggregate-windows-changelog"
    pipeline.read(changelog, lambda values: len(values) >= 2)
    assert first.stop() == 0, first.log()

    second = pipeline.worker("second")
    second.wait_ready()
    pipeline.produce([article("cf-3", "Ceasefire holds", reports["cf-3"], source="outlet-3")])
    alerts = pipeline.alerts(lambda got: len(got) >= 1)
    assert len(alerts) == 1
    assert alerts[0].article_count == 3
    assert {e.article_id for e in alerts[0].evidence} == {"cf-1", "cf-2", "cf-3"}


def test_story_assignments_are_on_kafka_before_their_requests_are_committed(
    pipeline: Pipeline,
) -> None:
    """Once the cluster agent has committed a request's offset, the article's story is on the stories topic.

    Otherwise a worker stopping (or killed) just after a commit takes the
    decisions with it, and the worker that takes over clustering decides
    those articles again from a state that lacks them.
    """
    pipeline.write_pack(pack_text(keyword_rule("report-rule", "report")))
    worker = pipeline.worker("w1")
    worker.wait_ready()
    ids = {f"st-{n}" for n in range(3)}
    pipeline.produce(
        [article(i, f"Report {i}", f"report {i} on a matter of its own") for i in sorted(ids)]
    )
    settings = pipeline.settings
    requests, stories = story_topics(settings)

    async def committed() -> int:
        async with Offsets(settings) as offsets:
            return sum((await offsets.committed(app_id(settings), [requests.name])).values())

    assert wait_for(lambda: asyncio.run(committed()) >= len(ids), timeout=30), worker.log()
    records = asyncio.run(read_to_end(settings, stories.name))
    assigned = {
        record.features.article_id
        for record in (STORY_RECORD.validate_json(r.value) for r in records)
        if isinstance(record, StoryAssignment)
    }
    assert ids <= assigned
