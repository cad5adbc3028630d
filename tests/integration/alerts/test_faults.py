"""A failing webhook: 500s, then 429 with Retry-After, then a hang, then recovery; and dead letters."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from schemas import DeadLetter, Settings
from schemas.kafka import make_consumer, make_producer
from tests.integration.alerts.conftest import (
    counter,
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
    write_routes,
)
from tests.support.servers import Behaviour, SmtpServer, Webhook
from tests.unit.alerts.factories import make_alert


def routes(tmp_path: Path) -> Path:
    return write_routes(
        tmp_path / "routes.yaml",
        {"mail": {"template": "email"}, "hook": {"template": "text"}},
        {
            "receiver": "hook",
            "group_by": ["..."],
            "group_wait": "0s",
            "routes": [
                {"match": {"category": "sanctions"}, "receiver": "mail", "continue": True},
                {"match": {"category": "sanctions"}, "receiver": "hook"},
            ],
        },
    )


async def test_flaky_webhook_gets_each_alert_once(
    kafka_settings: Settings, tmp_path: Path, smtp_server: SmtpServer, webhook: Webhook
) -> None:
    """Through 500s, 429s, a hang and recovery every alert reaches the webhook exactly once; email is unaffected."""
    settings = notifier_settings(
        kafka_settings,
        routes(tmp_path),
        {"mail": [smtp_server.url()], "hook": [webhook.url("flaky")]},
    )
    webhook.script(
        "flaky",
        *[Behaviour(status=500)] * 6,
        *[Behaviour(status=429, retry_after="1")] * 3,
        *[Behaviour(hang_s=3.0)] * 2,
    )
    alerts = [make_alert() for _ in range(12)]
    await produce(settings, alerts)
    async with running_notifier(settings) as notifier:
        await wait_until(lambda: len(smtp_server.messages) == 12, 20, "12 emails")
        await wait_until(lambda: len(webhook.accepted.get("flaky", [])) == 12, 60, "12 webhooks")
        retried = counter(notifier, "wirewatch_notifier_retries_total", receiver="hook")
        failed = counter(notifier, "wirewatch_notifier_notifications_failed_total", receiver="hook")
        mail_retried = counter(notifier, "wirewatch_notifier_retries_total", receiver="mail")
    titles = Counter(payload["title"] for payload in webhook.accepted["flaky"])
    assert sorted(titles) == sorted(f"[HIGH] {a.headline}" for a in alerts)
    assert set(titles.values()) == {1}, "each alert delivered exactly once"
    assert webhook.requests["flaky"] >= 12 + 11
    assert retried >= 11
    assert failed == 0
    assert mail_retried == 0
    assert len(smtp_server.messages) == 12


async def read_dead_letters(settings: Settings, count: int) -> list[DeadLetter]:
    consumer = make_consumer(settings, settings.topics.alerts_dlq, group_id=None)
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        async with asyncio.timeout(20):
            while len(letters) < count:
                batches = await consumer.getmany(timeout_ms=500)
                letters += [
                    DeadLetter.model_validate_json(r.value) for rs in batches.values() for r in rs
                ]
    finally:
        await consumer.stop()
    return letters


async def test_exhausted_budget_dead_letters_without_secrets(
    kafka_settings: Settings, tmp_path: Path, smtp_server: SmtpServer, webhook: Webhook
) -> None:
    """An alert still failing after its retry budget goes to alerts.dlq with the reason, counted, secret-free."""
    settings = notifier_settings(
        kafka_settings,
        routes(tmp_path),
        {"mail": [smtp_server.url()], "hook": [webhook.url("down", user="bot:Pa55w0rdXYZ")]},
        notify_max_attempts=3,
    )
    webhook.script("down", *[Behaviour(status=500)] * 100)
    alert = make_alert()
    await produce(settings, [alert])
    async with running_notifier(settings) as notifier:
        await wait_until(
            lambda: (
                counter(notifier, "wirewatch_notifier_notifications_failed_total", receiver="hook")
                == 1
            ),
            what="the failure to be counted",
        )
        record = notifier.recorded(alert.key, "hook")
        assert record is not None
        assert record.status == "failed"
        assert record.attempts == 3
        assert counter(notifier, "wirewatch_notifier_dead_lettered_total") == 1
    (letter,) = await read_dead_letters(settings, 1)
    assert letter.stage == "notify"
    assert letter.reason == "delivery_failed"
    assert letter.key == alert.key
    assert "error=500" in letter.error
    assert "Pa55w0rdXYZ" not in letter.model_dump_json()
    assert "Pa55w0rdXYZ" not in record.model_dump_json()
    assert len(smtp_server.messages) == 1


async def test_invalid_record_is_dead_lettered_and_skipped(
    kafka_settings: Settings, tmp_path: Path, smtp_server: SmtpServer, webhook: Webhook
) -> None:
    """A record that is not an Alert goes to alerts.dlq as invalid_alert; the next alert still flows."""
    settings = notifier_settings(
        kafka_settings,
        routes(tmp_path),
        {"mail": [smtp_server.url()], "hook": [webhook.url("hook")]},
    )
    producer = make_producer(settings, "test-garbage")
    await produce(settings, [])
    await producer.start()
    try:
        await (await producer.send(settings.topics.alerts, b'{"not": "an alert"}', key=b"x"))
    finally:
        await producer.stop()
    alert = make_alert()
    await produce(settings, [alert])
    async with running_notifier(settings) as notifier:
        await wait_until(lambda: notifier.recorded(alert.key, "hook") is not None, what="the alert")
        assert counter(notifier, "wirewatch_notifier_alerts_invalid_total") == 1
    (letter,) = await read_dead_letters(settings, 1)
    assert letter.reason == "invalid_alert"
    assert letter.payload_text == '{"not": "an alert"}'
