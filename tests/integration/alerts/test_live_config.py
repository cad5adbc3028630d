"""Routes and receivers published while a notifier runs: swapped in without a restart, secrets kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import structlog
from cryptography.fernet import Fernet

from alerts.config_admin import publish_routes, read_receivers, routes_record, set_receiver
from schemas import Settings
from schemas.kafka import encode, make_producer
from schemas.live_config import ROUTES_KEY, RoutesRecord, text_version
from tests.integration.alerts.conftest import (
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
    write_routes,
)
from tests.integration.identity.conftest import raw_values
from tests.support.processes import ROOT, settings_env, wirewatch_argv
from tests.support.servers import Webhook
from tests.unit.alerts.factories import make_alert

TOKEN = "hush-9f3b2c7d1e"
"""A secret in the published receiver's URL: it must never show outside the notifier's sends."""


async def test_published_routes_and_receiver_are_used_without_a_restart(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """A new receiver and routes to it take effect at once; a broken route tree changes nothing."""
    files = write_routes(
        tmp_path / "routes.yaml",
        {"old": {"template": "text"}},
        {"receiver": "old", "group_by": ["..."], "group_wait": "0s"},
    )
    key = Fernet.generate_key().decode()
    settings = notifier_settings(
        kafka_settings, files, {"old": [webhook.url("old")]}, receivers_key=key
    )
    with structlog.testing.capture_logs() as events:
        async with running_notifier(settings) as notifier:
            await produce(settings, [make_alert(rule_id="first")])
            await wait_until(lambda: len(webhook.accepted.get("old", [])) == 1, what="old hook")

            await set_receiver(
                settings,
                "desk",
                [webhook.url(f"desk?token={TOKEN}")],
                actor="ops",
                via="cli",
                origin="test",
            )
            record, table = routes_record(
                write_routes(
                    tmp_path / "new-routes.yaml",
                    {"desk": {"template": "text"}},
                    {"receiver": "desk", "group_by": ["..."], "group_wait": "0s"},
                ),
                "ops",
            )
            assert await publish_routes(settings, record, table, actor="ops", via="cli", origin="t")
            await wait_until(
                lambda: notifier.health()["config"]["receivers"] == ["desk"], what="the swap"
            )
            await produce(settings, [make_alert(rule_id="second")])
            await wait_until(lambda: len(webhook.accepted.get("desk", [])) == 1, what="desk hook")
            assert len(webhook.accepted["old"]) == 1

            broken = "receivers: {desk: {}}\nroute: {receiver: nobody}\n"
            await put_routes(settings, broken)
            await wait_until(lambda: notifier.health()["config"]["error"] is not None)
            assert "nobody" in notifier.health()["config"]["error"]
            assert notifier.metrics.config_failing._value.get() == 1
            await produce(settings, [make_alert(rule_id="third")])
            await wait_until(lambda: len(webhook.accepted.get("desk", [])) == 2, what="still desk")
    assert any(e["event"] == "notifier_reconfigured" for e in events)
    assert [e for e in events if e["event"] == "notifier_config_rejected"]
    assert TOKEN not in str(events)
    on_topic = await raw_values(settings, settings.topics.receivers)
    assert b"desk" in on_topic
    assert TOKEN.encode() not in on_topic
    assert TOKEN.encode() not in await raw_values(settings, settings.topics.audit)


async def put_routes(settings: Settings, text: str) -> None:
    """Put a routes record on the topic without the publisher's checks."""
    record = RoutesRecord(text=text, version=text_version(text), published_by="rogue")
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topics.routes, encode(record), key=ROUTES_KEY.encode()
        )
    finally:
        await producer.stop()


async def test_receivers_set_reads_urls_from_stdin_and_never_prints_them(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """`receivers set` takes the URL on stdin, refuses to go unencrypted without a key, shows no URL."""
    url = f"json://hooks.example.org/desk?token={TOKEN}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(settings_env(kafka_settings), WIREWATCH_LOG_FORMAT="json")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *wirewatch_argv("receivers"), *args],
            input=url + "\n",
            capture_output=True,
            text=True,
            env={**env, **extra},
            cwd=ROOT,
            timeout=120,
            check=False,
        )

    refused = run("set", "desk")
    assert refused.returncode == 2
    assert "unencrypted" in refused.stderr
    done = run("set", "desk", WIREWATCH_RECEIVERS_KEY=Fernet.generate_key().decode())
    assert done.returncode == 0, done.stderr
    assert "1 URL(s) published, encrypted" in done.stdout
    bad = run("set", "desk", WIREWATCH_RECEIVERS_KEY="not-a-key")
    assert "not a Fernet key" in bad.stderr
    listed = run("list")
    assert "desk" in listed.stdout
    for output in (refused, done, bad, listed):
        assert TOKEN not in output.stdout + output.stderr
    [record] = (await read_receivers(kafka_settings)).values()
    assert record.encrypted
    assert TOKEN not in record.model_dump_json()
