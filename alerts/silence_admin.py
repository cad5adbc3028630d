"""Writing and reading silences on the compacted topic, for the ``wirewatch silence`` commands."""

from __future__ import annotations

import asyncio

from alerts.compacted import CompactedReader
from alerts.silences import SilenceSet
from schemas import Settings
from schemas.kafka import encode, ensure_topics, make_producer, pipeline_topics, send_with_deadline
from schemas.silences import Silence


async def write_silence(settings: Settings, silence: Silence) -> None:
    """Write ``silence`` (new or expired) to the silences topic and wait for the acknowledgement."""
    topic = settings.topics.silences
    await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name == topic])
    producer = make_producer(settings, "wirewatch-silence")
    await asyncio.wait_for(producer.start(), settings.send_timeout_s)
    try:
        await send_with_deadline(
            producer,
            topic,
            encode(silence),
            key=silence.id.encode("utf-8"),
            timeout_s=settings.send_timeout_s,
        )
    finally:
        await asyncio.wait_for(producer.stop(), settings.send_timeout_s)


async def read_silences(settings: Settings) -> list[Silence]:
    """Return every silence on the topic (latest version of each), newest first."""
    topic = settings.topics.silences
    await ensure_topics(settings, [s for s in pipeline_topics(settings) if s.name == topic])
    found = SilenceSet()

    def apply(key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                found.remove(key.decode("utf-8"))
        else:
            found.put(Silence.model_validate_json(value))

    reader = CompactedReader(settings, topic, apply, client_id="wirewatch-silence")
    await reader.start()
    try:
        await reader.catch_up()
    finally:
        await reader.stop()
    return found.all()
