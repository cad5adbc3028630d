"""What the notifier relies on from apprise 2.x, pinned against a real local server."""

from __future__ import annotations

import asyncio
import email
import email.policy
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import apprise
import pytest

from alerts.delivery import AppriseTransport, Deliverer
from alerts.grouping import Notification, Pending
from alerts.idempotency import message_id, notification_key
from alerts.metrics import NotifierMetrics
from alerts.routing import Route
from alerts.templates import Rendered, Templates
from schemas import Alert, Settings
from tests.support.servers import Behaviour, SmtpServer, Webhook
from tests.unit.alerts.factories import make_alert

RENDERED = Rendered(title="t", body="b", body_format="text")
ROUTE = Route("root", "desk", ("...",), 0, 0, 0)


def notification(*alerts: Alert) -> Notification:
    """The alerts as one notification to receiver `desk`."""
    return Notification(
        "desk", tuple(Pending(a, "desk", ROUTE, ("p", n), 0) for n, a in enumerate(alerts))
    )


async def test_notify_returns_one_result_per_url(webhook: Webhook) -> None:
    """apprise 2.x notify() returns an AppriseResult with one NotifyResult per URL, password masked."""
    webhook.script("bad", Behaviour(status=500))
    client = apprise.Apprise()
    client.add(webhook.url("good", user="u:SeCrEt99"))
    client.add(webhook.url("bad", user="u:SeCrEt99"))
    result = await asyncio.to_thread(client.notify, body="b", title="t")
    assert isinstance(result, apprise.AppriseResult)
    assert result.status == apprise.AppriseResultStatus.PARTIAL
    assert sorted(bool(r) for r in result.results) == [False, True]
    assert all("SeCrEt99" not in r.url for r in result.results)


@pytest.mark.parametrize(
    ("behaviour", "ok", "rate_limited", "retry_after"),
    [
        (Behaviour(), True, False, None),
        (Behaviour(status=500), False, False, None),
        (Behaviour(status=429, retry_after="7"), False, True, 7.0),
        (Behaviour(status=429), False, True, None),
        (Behaviour(status=503, retry_after="2"), False, False, 2.0),
        (Behaviour(status=429, retry_after="soon"), False, True, None),
        (Behaviour(hang_s=2.0), False, False, None),
    ],
)
async def test_transport_reads_each_outcome(
    webhook: Webhook,
    behaviour: Behaviour,
    ok: bool,
    rate_limited: bool,
    retry_after: float | None,
) -> None:
    """Success, a server error, a 429 with or without Retry-After, a 503 with one and a hang past
    the timeout are told apart, from the HTTP response apprise's plugin received."""
    webhook.script("p", behaviour)
    with ThreadPoolExecutor(2) as pool:
        transport = AppriseTransport(webhook.url("p"), 0.5, pool)
        attempt = await transport.send(RENDERED, "desk", ["k"])
    assert (attempt.ok, attempt.rate_limited, attempt.retry_after) == (
        ok,
        rate_limited,
        retry_after,
    )


async def test_retry_after_date_counts_from_the_receivers_clock(webhook: Webhook) -> None:
    """A Retry-After date is read against the response's own Date, so clocks apart do not matter."""
    at = datetime.now(UTC) + timedelta(seconds=30)
    webhook.script("p", Behaviour(status=429, retry_after=format_datetime(at, usegmt=True)))
    with ThreadPoolExecutor(1) as pool:
        attempt = await AppriseTransport(webhook.url("p"), 2.0, pool).send(RENDERED, "desk", ["k"])
    assert attempt.retry_after is not None
    assert 27.0 <= attempt.retry_after <= 31.0


async def test_slack_rate_limit_is_read(webhook: Webhook) -> None:
    """apprise's Slack plugin, pointed at a loopback server, reports Slack's 429 and Retry-After;
    the notification's keys are in the message text."""
    alerts = (make_alert(), make_alert())
    rendered = Templates().render("slack", notification(*alerts))
    with ThreadPoolExecutor(1) as pool:
        transport = AppriseTransport("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnl/#desk", 2.0, pool)
        (service,) = list(transport._apprise)
        service.webhook_url = f"http://127.0.0.1:{webhook.port}/slack"  # hooks.slack.com here
        path = "slack/T1JJ3T3L2/A1BRTD4JD/TIiajkdnl"
        webhook.script(path, Behaviour(status=429, retry_after="3"))
        keys = [alert.key for alert in alerts]
        limited = await transport.send(rendered, "desk", keys)
        sent = await transport.send(rendered, "desk", keys)
    assert (limited.ok, limited.rate_limited, limited.retry_after) == (False, True, 3.0)
    assert sent.ok
    (payload,) = webhook.accepted[path]
    text = payload["attachments"][0]["text"]
    assert all(f"`{key}`" in text for key in keys)


async def test_retry_after_is_waited_out(webhook: Webhook) -> None:
    """The deliverer waits what the receiver asked (2 s, not the 60 s floor for a 429 without
    Retry-After, nor the 0.1 s backoff), then delivers."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        notify_backoff_s=0.1,
        notify_rate_limited_wait_s=60.0,
    )
    webhook.script("p", Behaviour(status=429, retry_after="2"))
    with ThreadPoolExecutor(1) as pool:
        transports = {"desk": [AppriseTransport(webhook.url("p"), 2.0, pool)]}
        deliverer = Deliverer(
            settings, transports, NotifierMetrics(), sleep=sleep, jitter=lambda: 0.5
        )
        outcome = await deliverer.deliver("desk", RENDERED, ["k"])
    assert (outcome.ok, outcome.attempts) == (True, 2)
    assert waits == [2.0]
    assert len(webhook.accepted["p"]) == 1


async def test_json_payload_and_header_carry_the_keys(webhook: Webhook) -> None:
    """A json:// receiver gets the alert keys and the notification key in the payload and an
    Idempotency-Key header; fields the URL adds (`:field=`) stay; an exact repeat has the same
    notification key."""
    with ThreadPoolExecutor(1) as pool:
        transport = AppriseTransport(webhook.url("p") + "?:desk=oil", 2.0, pool)
        for keys in (["k2", "k1"], ["k1", "k2"], ["k3"]):
            assert (await transport.send(RENDERED, "desk", keys)).ok
    first, repeat, other = webhook.accepted["p"]
    assert first["alert_keys"] == ["k2", "k1"]
    assert first["desk"] == "oil"
    assert first["notification_key"] == repeat["notification_key"] == notification_key(["k1", "k2"])
    assert other["notification_key"] != first["notification_key"]
    headers = webhook.accepted_headers["p"]
    assert [h["Idempotency-Key"] for h in headers] == [
        p["notification_key"] for p in (first, repeat, other)
    ]


async def test_email_message_id_is_derived_from_the_keys(smtp_server: SmtpServer) -> None:
    """An email's one Message-ID is derived from its alerts' keys (the same for a repeat, valid
    RFC 5322); apprise used on its own still makes random ids."""
    rendered = Templates().render("email", notification(make_alert()))
    with ThreadPoolExecutor(1) as pool:
        transport = AppriseTransport(smtp_server.url(), 2.0, pool)
        for keys in (["k1", "k2"], ["k2", "k1"], ["k3"]):
            assert (await transport.send(rendered, "desk", keys)).ok
    plain = apprise.Apprise()
    plain.add(smtp_server.url())
    assert await asyncio.to_thread(plain.notify, body="b", title="t")
    raw = [
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
        for m in smtp_server.messages
    ]
    ids = [m.get_all("Message-ID") for m in raw]
    assert all(len(found) == 1 for found in ids)
    first, repeat, other, random_id = (found[0] for found in ids)
    assert first == repeat == message_id(notification_key(["k1", "k2"]), "127.0.0.1")
    assert other == message_id(notification_key(["k3"]), "127.0.0.1")
    assert not random_id.startswith("<wirewatch.")
    assert not any(m["Message-ID"].defects for m in raw)
