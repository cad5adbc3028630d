"""End to end on loopback: routed alerts reach an SMTP server and webhooks, once."""

from __future__ import annotations

from pathlib import Path

from schemas import Settings, Severity
from schemas.deliveries import Delivery
from tests.integration.alerts.conftest import (
    counter,
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
    write_routes,
)
from tests.support.servers import SmtpServer, Webhook
from tests.unit.alerts.factories import make_alert


def three_receivers(
    tmp_path: Path, kafka_settings: Settings, smtp: SmtpServer, hook: Webhook, **kw: object
) -> Settings:
    routes = write_routes(
        tmp_path / "routes.yaml",
        {
            "mail": {"template": "email"},
            "hook": {"template": "text"},
            "slack": {"template": "slack"},
        },
        {
            "receiver": "hook",
            "group_by": ["..."],
            "group_wait": "0s",
            "routes": [
                {"match": {"severity": "high"}, "receiver": "mail", "continue": True},
                {"match": {"category": "sanctions"}, "receiver": "slack", "continue": True},
                {"match": {"category": "sanctions"}, "receiver": "hook"},
            ],
        },
    )
    return notifier_settings(
        kafka_settings,
        routes,
        {
            "mail": [smtp.url()],
            "hook": [hook.url("hook")],
            "slack": [hook.url("slack", slack=True)],
        },
        **kw,
    )


async def test_routed_alert_reaches_email_webhook_and_slack(
    kafka_settings: Settings, tmp_path: Path, smtp_server: SmtpServer, webhook: Webhook
) -> None:
    """A routed alert arrives as an email with text and HTML parts, a JSON webhook and a Slack payload."""
    settings = three_receivers(tmp_path, kafka_settings, smtp_server, webhook)
    alert = make_alert(severity=Severity.CRITICAL)
    await produce(settings, [alert])
    async with running_notifier(settings) as notifier:
        await wait_until(
            lambda: (
                len(smtp_server.messages) == 1
                and len(webhook.accepted.get("hook", [])) == 1
                and len(webhook.accepted.get("slack", [])) == 1
            ),
            what="all three receivers",
        )
        await wait_until(
            lambda: all(notifier.recorded(alert.key, r) for r in ("mail", "hook", "slack")),
            what="three ledger records",
        )
        records = [notifier.recorded(alert.key, r) for r in ("mail", "hook", "slack")]
        assert all(isinstance(r, Delivery) and r.status == "delivered" for r in records)
        assert (
            counter(notifier, "wirewatch_notifier_notifications_sent_total", receiver="mail") == 1
        )

    message = smtp_server.messages[0]
    assert alert.headline in str(message["Subject"])
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "<mark>sanctions</mark>" in parts["text/html"]
    assert alert.headline in parts["text/plain"]

    payload = webhook.accepted["hook"][0]
    assert payload["title"] == f"[CRITICAL] {alert.headline}"
    assert "[sanctions]" in payload["message"]

    slack = webhook.accepted["slack"][0]
    assert set(slack) == {"text"}, "Slack's incoming-webhook shape: only `text`"
    assert "*CRITICAL*" in slack["text"]
    assert f"<{alert.evidence[0].url}|" in slack["text"]


async def test_ledger_prevents_resend_after_restart(
    kafka_settings: Settings, tmp_path: Path, smtp_server: SmtpServer, webhook: Webhook
) -> None:
    """A notifier in a new consumer group re-reads every alert and sends none again: the ledger has them."""
    settings = three_receivers(tmp_path, kafka_settings, smtp_server, webhook)
    alerts = [make_alert(severity=Severity.LOW) for _ in range(10)]
    await produce(settings, alerts)
    async with running_notifier(settings):
        await wait_until(lambda: len(webhook.accepted.get("hook", [])) == 10, what="10 webhooks")
    again = settings.model_copy(update={"notifier_group": "another-group"})
    async with running_notifier(again) as notifier:
        await wait_until(
            lambda: (
                counter(
                    notifier, "wirewatch_notifier_alerts_already_recorded_total", receiver="hook"
                )
                == 10
                and counter(
                    notifier, "wirewatch_notifier_alerts_already_recorded_total", receiver="slack"
                )
                == 10
            ),
            what="the replayed alerts to be recognised",
        )
    assert len(webhook.accepted["hook"]) == 10
    assert len(webhook.accepted["slack"]) == 10
    assert smtp_server.messages == []
