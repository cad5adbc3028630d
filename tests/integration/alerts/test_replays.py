"""An alert replayed upstream (the same key again, as after a worker crash) is sent once.

The workers re-emit an alert with the same idempotency key when they replay
a record. The ledger drops it once its delivery is recorded; these tests pin
the time before that: while the first copy waits in a group or is being sent.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from schemas import Settings
from tests.integration.alerts.conftest import (
    notifier_settings,
    produce,
    running_notifier,
    wait_until,
    write_routes,
)
from tests.support.servers import Behaviour, Webhook
from tests.unit.alerts.factories import make_alert


async def test_copy_arriving_while_the_first_waits_in_a_group(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """A second copy read during the first one's group_wait is not sent with it."""
    out = tmp_path / "out.jsonl"
    routes = write_routes(
        tmp_path / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_by": ["rule_id"], "group_wait": "1s"},
    )
    settings = notifier_settings(kafka_settings, routes, {"file": [f"jsonl://{out}"]})
    alert = make_alert()
    async with running_notifier(settings) as notifier:
        await produce(settings, [alert])
        await asyncio.sleep(0.3)
        await produce(settings, [alert])
        await wait_until(lambda: notifier.recorded(alert.key, "file") is not None, 20, "the record")
        await asyncio.sleep(1.5)  # time for a second notification, if one were coming
    keys = Counter(
        k for line in out.read_text().splitlines() for k in json.loads(line)["alert_keys"]
    )
    assert keys == {alert.key: 1}


async def test_copy_arriving_while_the_first_is_being_sent(
    kafka_settings: Settings, tmp_path: Path, webhook: Webhook
) -> None:
    """A second copy read while the first one's send hangs and is retried is not sent again."""
    routes = write_routes(
        tmp_path / "routes.yaml",
        {"hook": {"template": "text"}},
        {"receiver": "hook", "group_by": ["..."], "group_wait": "0s", "group_interval": "0s"},
    )
    settings = notifier_settings(kafka_settings, routes, {"hook": [webhook.url("slow")]})
    webhook.script("slow", Behaviour(hang_s=1.5))
    alert = make_alert()
    async with running_notifier(settings) as notifier:
        await produce(settings, [alert])
        await wait_until(lambda: webhook.requests.get("slow", 0) >= 1, 20, "the first attempt")
        await produce(settings, [alert])
        await wait_until(lambda: notifier.recorded(alert.key, "hook") is not None, 20, "the record")
        await asyncio.sleep(1.0)  # time for a second send, if one were coming
    assert len(webhook.accepted["slow"]) == 1
