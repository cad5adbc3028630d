"""A breaking-news spike on the real broker: a week-old baseline, then a burst, one alert."""

from __future__ import annotations

import asyncio
import json
import time

from schemas.kafka import make_producer
from tests.integration.pipeline.conftest import Pipeline, article, pack_text

RULE = {
    "id": "poland-drones",
    "title": "News about drones over Poland",
    "category": "airspace_violation",
    "severity": "high",
    "query": "drone* AND Poland",
    "alert": {"policy": "spike", "within": "1h", "count": 5, "sources": 3, "ratio": 3},
}
HOUR_MS = 3_600_000


def produce_at(pipeline: Pipeline, records: list[tuple[dict[str, str], int]]) -> None:
    """Send articles with given record times (ms), all to one partition so they stay in order."""

    async def run() -> None:
        producer = make_producer(pipeline.settings)
        await producer.start()
        try:
            for record, at_ms in records:
                await producer.send_and_wait(
                    pipeline.settings.topics.articles,
                    json.dumps(record).encode(),
                    key=b"one-partition",
                    timestamp_ms=at_ms,
                )
        finally:
            await producer.stop()

    asyncio.run(run())


def test_a_burst_against_last_weeks_hour_raises_one_spike_alert(pipeline: Pipeline) -> None:
    """Two articles at this hour a week ago, then six from four outlets now: one spike alert."""
    pipeline.write_pack(pack_text(RULE))
    pipeline.worker("w1").wait_ready()
    now_ms = int(time.time() * 1000)
    week_ms = 7 * 24 * HOUR_MS

    def report(n: int, source: str) -> dict[str, str]:
        return article(f"d{n}", f"Drone sighting {n}", "Drones crossed into Poland again.", source)

    history = [(report(0, "old-a"), now_ms - week_ms - 2 * HOUR_MS)]
    history += [(report(1, "old-b"), now_ms - week_ms - HOUR_MS // 2)]
    burst = [(report(n, f"outlet-{n % 4}"), now_ms - (8 - n) * 60_000) for n in range(2, 8)]
    produce_at(pipeline, history + burst)
    alerts = pipeline.alerts(lambda got: len(got) >= 1)
    assert [a.policy for a in alerts] == ["spike"]
    spike = alerts[0].spike
    assert spike is not None
    assert (spike.current, spike.baseline, spike.reference, spike.slots) == (5, 1.0, "week", 1)
    assert spike.ratio == 5.0
    assert spike.sources == 4
    assert alerts[0].key.startswith("poland-drones@")
    assert "/rule/" in alerts[0].key
