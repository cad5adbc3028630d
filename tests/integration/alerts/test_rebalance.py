"""A second notifier joining the group mid-run: the rebalance sends nothing twice."""

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
from tests.support.servers import free_port
from tests.unit.alerts.factories import make_alert


async def test_rebalance_delivers_each_alert_once(kafka_settings: Settings, tmp_path: Path) -> None:
    """Alerts flowing while a second instance joins and leaves are each delivered exactly once."""
    out = tmp_path / "out.jsonl"
    routes = write_routes(
        tmp_path / "routes.yaml",
        {"file": {"template": "text"}},
        {"receiver": "file", "group_by": ["..."], "group_wait": "0s"},
    )
    first = notifier_settings(kafka_settings, routes, {"file": [f"jsonl://{out}"]})
    second = first.model_copy(update={"notifier_web_port": free_port()})
    alerts = [make_alert(story_id=f"s{i}") for i in range(60)]

    def delivered() -> list[str]:
        lines = out.read_text().splitlines() if out.exists() else []
        return [k for line in lines for k in json.loads(line)["alert_keys"]]

    async with running_notifier(first):
        await produce(first, alerts[:20])
        await wait_until(lambda: len(delivered()) >= 20, what="the first 20")
        async with running_notifier(second):
            for i in range(20, 40, 5):
                await produce(first, alerts[i : i + 5])
                await asyncio.sleep(0.1)  # keep alerts flowing through the rebalance
            await wait_until(lambda: len(set(delivered())) >= 40, 30, "40 alerts")
        await produce(first, alerts[40:])
        await wait_until(lambda: len(set(delivered())) == 60, 30, "all 60 alerts")
    counts = Counter(delivered())
    assert set(counts) == {a.key for a in alerts}
    assert max(counts.values()) == 1
