"""What the notifier relies on from apprise 2.x, pinned against a real local server."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import apprise
import pytest

from alerts.delivery import AppriseTransport
from alerts.templates import Rendered
from tests.support.servers import Behaviour, Webhook

RENDERED = Rendered(title="t", body="b", body_format="text")


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
    ("behaviour", "ok", "rate_limited"),
    [
        (Behaviour(), True, False),
        (Behaviour(status=500), False, False),
        (Behaviour(status=429, retry_after="7"), False, True),
        (Behaviour(hang_s=2.0), False, False),
    ],
)
async def test_transport_reads_each_outcome(
    webhook: Webhook, behaviour: Behaviour, ok: bool, rate_limited: bool
) -> None:
    """Success, a server error, a 429 and a hang past the timeout are told apart from the result."""
    webhook.script("p", behaviour)
    with ThreadPoolExecutor(2) as pool:
        transport = AppriseTransport(webhook.url("p"), 0.5, pool)
        attempt = await transport.send(RENDERED, "desk", ["k"])
    assert (attempt.ok, attempt.rate_limited) == (ok, rate_limited)
    # apprise does not expose response headers: Retry-After stays unknown for json://.
    assert attempt.retry_after is None
