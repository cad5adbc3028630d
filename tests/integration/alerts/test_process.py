"""The `wirewatch notifier` process: secrets never logged at DEBUG, clean SIGTERM, SIGKILL x20."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from schemas import Settings
from tests.integration.alerts.conftest import (
    notifier_settings,
    produce,
    wait_until,
    write_routes,
)
from tests.integration.alerts.test_faults import read_dead_letters
from tests.support.processes import settings_env
from tests.support.servers import Behaviour, Webhook
from tests.unit.alerts.factories import make_alert

WIREWATCH = str(Path(sys.executable).parent / "wirewatch")


def start_notifier(settings: Settings, cwd: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start `wirewatch notifier` with ``settings``; stdout and stderr go to ``log``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    environ.update(settings_env(settings))
    environ.update(env)
    with log.open("ab") as out:
        return subprocess.Popen(
            [WIREWATCH, "notifier"], cwd=cwd, env=environ, stdout=out, stderr=out
        )


def fetch(url: str) -> str:
    """GET a loopback URL and return the body."""
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # loopback http only
        body: bytes = response.read()
        return body.decode()


async def test_debug_logs_metrics_and_dead_letters_hold_no_secret(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """At DEBUG, no log line, metric or dead letter of the notifier contains a receiver's secret."""
    secrets_dir = tmp_path / "receivers"
    secrets_dir.mkdir()
    (secrets_dir / "filed").write_text(
        f"# from a secret file\n{webhook.url('filedTOKENq8Zr2', user='svc:FiLeSeCrEt77')}\n"
    )
    routes = write_routes(
        tmp_path / "routes.yaml",
        {
            "good": {"template": "slack"},
            "down": {"template": "text"},
            "filed": {"template": "text"},
        },
        {
            "receiver": "good",
            "group_by": ["..."],
            "group_wait": "0s",
            "routes": [
                {"match": {}, "receiver": "good", "continue": True},
                {"match": {}, "receiver": "filed", "continue": True},
                {"match": {}, "receiver": "down"},
            ],
        },
    )
    secrets = [
        "hunter2SECRET",
        "PathTok3nABCDEF",
        "qsTokenZZ9911",
        "DownPa55word",
        "FiLeSeCrEt77",
        "filedTOKENq8Zr2",
    ]
    settings = notifier_settings(
        kafka_settings,
        routes,
        {
            "good": [
                webhook.url("PathTok3nABCDEF", user="bot:hunter2SECRET") + "?token=qsTokenZZ9911"
            ],
            "down": [webhook.url("downhook", user="ops:DownPa55word")],
        },
        receivers_dir=secrets_dir,
        notify_max_attempts=2,
        log_level="DEBUG",
        log_format="json",
    )
    webhook.script("downhook", *[Behaviour(status=500)] * 100)
    log = tmp_path / "notifier.log"
    process = start_notifier(settings, tmp_path, log)
    try:
        await produce(settings, [make_alert() for _ in range(3)])
        await wait_until(
            lambda: len(webhook.accepted.get("PathTok3nABCDEF", [])) == 3, 30, "good deliveries"
        )
        await wait_until(
            lambda: len(webhook.accepted.get("filedTOKENq8Zr2", [])) == 3, 30, "filed deliveries"
        )
        letters = await read_dead_letters(settings, 3)
        base = f"http://127.0.0.1:{settings.notifier_web_port}"
        failed = 'wirewatch_notifier_notifications_failed_total{receiver="down"} 3.0'
        # The counter moves once the ledger holds the outcome, just after the dead letter.
        deadline = time.monotonic() + 10
        metrics = await asyncio.to_thread(fetch, base + "/metrics")
        while failed not in metrics and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            metrics = await asyncio.to_thread(fetch, base + "/metrics")
        health = json.loads(await asyncio.to_thread(fetch, base + "/healthz"))
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    lines = log.read_text().splitlines()
    assert code == 0, lines[-20:]
    assert health["ok"] is True
    assert any('"notifier_stopped"' in line for line in lines)
    assert any('"level": "debug"' in line for line in lines), "the run logged at DEBUG"
    assert any("delivery_attempt_failed" in line for line in lines), "failures were logged"
    assert failed in metrics
    texts = {
        "log": lines,
        "metrics": [metrics],
        "dead letters": [d.model_dump_json() for d in letters],
    }
    for where, items in texts.items():
        for item in items:
            for secret in secrets:
                assert secret not in item, f"{secret!r} leaked into the {where}: {item}"


@pytest.mark.slow
async def test_sigkill_twenty_times_loses_nothing(kafka_settings: Settings, tmp_path: Path) -> None:
    """Killing the notifier 20 times mid-run loses no alert; duplicates only from the send/record window."""
    out = tmp_path / "delivered.jsonl"
    routes = write_routes(
        tmp_path / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_by": ["..."], "group_wait": "0s"},
    )
    settings = notifier_settings(
        kafka_settings, routes, {"file": [f"jsonl://{out}"]}, notifier_instance_id="notifier-1"
    )
    alerts = [make_alert() for _ in range(150)]
    log = tmp_path / "notifier.log"

    def delivered() -> list[str]:
        if not out.exists():
            return []
        return [
            key
            for line in out.read_text().splitlines()
            if line.endswith("}")
            for key in json.loads(line)["alert_keys"]
        ]

    async def feed() -> None:
        for i in range(0, len(alerts), 3):
            await produce(settings, alerts[i : i + 3])
            await asyncio.sleep(0.25)  # a steady trickle, so kills land between sends

    feeding = asyncio.create_task(feed())
    rng = random.Random(6)
    kills = 0
    started = time.monotonic()
    while kills < 20:
        before = len(delivered())
        process = start_notifier(settings, tmp_path, log)
        try:
            await wait_until(
                lambda before=before: len(delivered()) > before or feeding.done(),
                60,
                "a send after start",
            )
            await asyncio.sleep(rng.uniform(0.0, 0.4))
        finally:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait, 30)
        kills += 1
    await feeding
    process = start_notifier(settings, tmp_path, log)
    try:
        keys = {a.key for a in alerts}
        await wait_until(lambda: keys <= set(delivered()), 90, "every alert delivered")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)
    counts = Counter(delivered())
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nSIGKILL x{kills} in {time.monotonic() - started:.0f} s: {len(alerts)} alerts, "
        f"{len(counts)} delivered, {duplicates} duplicates"
    )
    assert set(counts) == {a.key for a in alerts}
    # A duplicate needs a kill between a send and its ledger record: at most one per kill
    # per alert in flight; with sends of a few ms, a handful at most.
    assert duplicates <= kills


async def test_repeat_from_a_kill_between_send_and_record_carries_the_same_keys(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """The one window for a repeat, made on purpose: the webhook keeps a notification but never
    answers, the notifier is SIGKILLed before its ledger record, and its successor sends again.
    Both copies carry the same alert keys, notification key and Idempotency-Key, so the receiver
    can drop the second."""
    routes = write_routes(
        tmp_path / "routes.yaml",
        {"hook": {"template": "text"}},
        {"receiver": "hook", "group_by": ["..."], "group_wait": "0s"},
    )
    settings = notifier_settings(
        kafka_settings,
        routes,
        {"hook": [webhook.url("hook")]},
        # A group of its own: the default one is shared by every notifier on the broker.
        notifier_group=f"{kafka_settings.topic_prefix}notifier",
        notifier_instance_id="notifier-1",
        notify_timeout_s=60.0,
    )
    webhook.script("hook", Behaviour(hang_s=60.0, kept=True))
    alert = make_alert()
    await produce(settings, [alert])
    log = tmp_path / "notifier.log"
    for copies in (1, 2):
        process = start_notifier(settings, tmp_path, log)
        try:
            await wait_until(
                lambda copies=copies: len(webhook.accepted.get("hook", [])) == copies,
                60,
                f"copy {copies}",
            )
        finally:
            process.send_signal(signal.SIGKILL if copies == 1 else signal.SIGTERM)
            await asyncio.to_thread(process.wait, 30)
    first, repeat = webhook.accepted["hook"]
    assert first["alert_keys"] == repeat["alert_keys"] == [alert.key]
    assert first["notification_key"] == repeat["notification_key"]
    assert f"alert key: {alert.key}" in repeat["message"]
    idempotency = [headers["Idempotency-Key"] for headers in webhook.accepted_headers["hook"]]
    assert idempotency == [first["notification_key"]] * 2
