"""Owners' rule packs on the real broker: publishing in turn, history, rollback, a broken pack."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas import Settings
from schemas.kafka import make_producer
from schemas.rules import PackRecord, RuleSpec, pack_version
from tests.integration.pipeline.conftest import (
    Pipeline,
    article,
    by_article,
    keyword_rule,
    pack_text,
    wait_for,
)
from tests.support.processes import ROOT, wirewatch_argv


def cli(pipeline: Pipeline, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``wirewatch ARGS`` on the pipeline's topics (``env``: more WIREWATCH_* variables)."""
    command, *rest = args
    return subprocess.run(
        [sys.executable, *wirewatch_argv(command), *rest],
        capture_output=True,
        text=True,
        env=pipeline.env(**env),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def publish(pipeline: Pipeline, owner: str, name: str, *rules: dict[str, Any]) -> str:
    """Publish one pack file as ``owner``'s; return the command's output."""
    folder = pipeline.tmp_path / owner
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(pack_text(*rules))
    done = cli(pipeline, "rules", "publish", str(folder / f"{name}.yaml"), "--owner", owner)
    assert done.returncode == 0, done.stderr
    return done.stdout


def status(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """`rules status --format json`, by pack."""
    done = cli(pipeline, "rules", "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {row["pack"]: row for row in rows}


def write_record(settings: Settings, key: str, value: bytes) -> None:
    """Put a record on the rules topic directly, as a publisher that skipped validation would."""

    async def run() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.rules, value, key=key.encode())
        finally:
            await producer.stop()

    asyncio.run(run())


def installed(worker: Any, packs: dict[str, str]) -> bool:
    """True when the worker's rule set is made of exactly ``packs`` (key -> version)."""
    rules = worker.readiness().get("rules", {})
    return rules.get("source") == "topic" and rules.get("packs") == packs


def test_owners_packs_history_rollback_and_a_broken_pack_on_a_running_worker(
    pipeline: Pipeline,
) -> None:
    """Two owners publish in turn and keep both; a rollback is installed; a broken pack changes nothing."""
    pipeline.write_pack(pack_text(keyword_rule("from-files", "zulu")))
    worker = pipeline.worker("w1")
    worker.wait_ready()
    assert worker.readiness()["rules"]["source"] == "files"

    publish(pipeline, "ana", "drones", keyword_rule("drone-1", "drone"))
    publish(pipeline, "bob", "oil", keyword_rule("oil-1", "crude"))
    packs = status(pipeline)
    assert set(packs) == {"ana/drones", "bob/oil"}
    assert packs["ana/drones"]["published_by"]
    assert packs["ana/drones"]["rules"] == 1
    first = packs["ana/drones"]["version"]
    assert wait_for(
        lambda: installed(worker, {"ana/drones": first, "bob/oil": packs["bob/oil"]["version"]})
    ), worker.log()

    out = publish(pipeline, "ana", "drones", keyword_rule("drone-2", "quadcopter"))
    second = status(pipeline)["ana/drones"]["version"]
    assert f"(was {first})" in out
    history = cli(pipeline, "rules", "history", "drones", "--format", "json")
    assert [json.loads(line)["version"] for line in history.stdout.splitlines()] == [first, second]
    diff = cli(pipeline, "rules", "diff", "drones")
    assert "-  - id: drone-1" in diff.stdout, diff.stdout
    assert "+  - id: drone-2" in diff.stdout

    rolled = cli(pipeline, "rules", "rollback", "ana/drones", first[:6])
    assert rolled.returncode == 0, rolled.stderr
    assert f"rolled back ana/drones to {first} (was {second})" in rolled.stdout
    oil = status(pipeline)["bob/oil"]["version"]
    assert wait_for(lambda: installed(worker, {"ana/drones": first, "bob/oil": oil})), worker.log()
    pipeline.produce(
        [article("d-1", "Drone over the bay", "a drone"), article("q-1", "Quad", "quadcopter")]
    )
    assert "d-1" in by_article(pipeline.alerts(lambda got: "d-1" in by_article(got)))

    broken = RuleSpec.model_validate(keyword_rule("drone-3", "drone AND ("))
    write_record(
        pipeline.settings,
        "ana/drones",
        PackRecord(
            owner="ana",
            name="drones",
            version=pack_version([broken]),
            published_by="mallory",
            rules=(broken,),
        ).encode(),
    )
    assert wait_for(lambda: bool(worker.readiness()["rules"]["failing"])), worker.log()
    [failing] = worker.readiness()["rules"]["failing"]
    assert failing["pack"] == "ana/drones"
    assert "drone-3" in failing["error"]
    assert installed(worker, {"ana/drones": first, "bob/oil": oil})
    _status_code, metrics = worker.get("/metrics")
    assert 'wirewatch_rule_packs_failing{pack="ana/drones"} 1.0' in metrics.decode()
    assert '"event": "rule_pack_rejected"' in worker.log()
    assert worker.running()


def test_deleting_a_pack_and_what_publish_refuses(pipeline: Pipeline, tmp_path: Path) -> None:
    """delete drops one pack; a rule id another pack holds, or a pack too large, is refused by name."""
    publish(pipeline, "ana", "drones", keyword_rule("drone-1", "drone"))
    publish(pipeline, "bob", "oil", keyword_rule("oil-1", "crude"))
    (tmp_path / "grab.yaml").write_text(pack_text(keyword_rule("drone-1", "uav")))
    refused = cli(pipeline, "rules", "publish", str(tmp_path / "grab.yaml"), "--owner", "bob")
    assert refused.returncode != 0
    assert "pack bob/grab: rule ids already used by pack ana/drones: drone-1" in refused.stderr

    big = [keyword_rule(f"big-{n}", f"word{n} AND " + "x" * 200) for n in range(30)]
    (tmp_path / "big.yaml").write_text(pack_text(*big))
    done = cli(
        pipeline, "rules", "publish", str(tmp_path / "big.yaml"), WIREWATCH_MAX_MESSAGE_BYTES="5000"
    )
    assert done.returncode != 0
    assert "big.yaml) is" in done.stderr
    assert "WIREWATCH_MAX_MESSAGE_BYTES=5,000" in done.stderr

    gone = cli(pipeline, "rules", "delete", "drones", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert set(status(pipeline)) == {"bob/oil"}
    history = cli(pipeline, "rules", "history", "ana/drones", "--format", "json")
    assert [json.loads(line)["action"] for line in history.stdout.splitlines()] == [
        "published",
        "deleted",
    ]
    audit = cli(pipeline, "audit", "--action", "rules", "--format", "json")
    actions = [(e["action"], e["target"]) for e in map(json.loads, audit.stdout.splitlines())]
    assert actions == [
        ("rules.published", "rules:ana/drones"),
        ("rules.published", "rules:bob/oil"),
        ("rules.deleted", "rules:ana/drones"),
    ]
