"""Wire compatibility: aiokafka with itself and with kcat, a non-Python client."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

from schemas import Settings
from schemas.kafka import make_consumer, make_producer, send_with_deadline

KCAT = shutil.which("kcat")


async def _consume(
    settings: Settings, topic: str, count: int, timeout_s: float = 20.0
) -> list[tuple[bytes, bytes]]:
    consumer = make_consumer(settings, topic, group_id=None)
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(received) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                received.extend((r.key, r.value) for r in records)
    finally:
        await consumer.stop()
    return received


async def _create(settings: Settings, topic: str) -> None:
    from schemas.kafka import TopicSpec, ensure_topics

    await ensure_topics(settings, [TopicSpec(topic, 1, {})])


async def test_aiokafka_round_trip(kafka_settings: Settings) -> None:
    """Records produced with aiokafka come back with the same keys and values, in order."""
    topic = kafka_settings.topics.articles
    await _create(kafka_settings, topic)
    producer = make_producer(kafka_settings)
    await producer.start()
    try:
        for i in range(100):
            await send_with_deadline(
                producer, topic, f"v{i}".encode(), key=f"k{i}".encode(), timeout_s=10
            )
    finally:
        await producer.stop()
    received = await _consume(kafka_settings, topic, 100)
    assert received == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(100)]


def _kcat() -> str:
    # In CI a missing kcat must fail the run, not skip: .ci/run installs it.
    assert KCAT, "kcat is not installed (Debian package `kcat`); .ci/run installs it"
    return KCAT


async def test_kcat_produces_aiokafka_consumes(kafka_settings: Settings) -> None:
    """A record written by kcat (librdkafka) is read intact by aiokafka."""
    topic = kafka_settings.topics.articles
    await _create(kafka_settings, topic)
    lines = "".join(f'key-{i}|{{"n": {i}, "text": "Kyiv – Київ"}}\n' for i in range(10))
    await asyncio.to_thread(
        subprocess.run,
        [
            _kcat(),
            "-b",
            kafka_settings.bootstrap_servers,
            "-t",
            topic,
            "-P",
            "-K",
            "|",
            "-z",
            "zstd",
        ],
        input=lines.encode(),
        check=True,
        timeout=30,
    )
    received = await _consume(kafka_settings, topic, 10)
    assert received == [
        (f"key-{i}".encode(), f'{{"n": {i}, "text": "Kyiv – Київ"}}'.encode()) for i in range(10)
    ]


async def test_aiokafka_produces_kcat_consumes(kafka_settings: Settings) -> None:
    """A record written by aiokafka (idempotent, zstd) is read intact by kcat."""
    topic = kafka_settings.topics.articles
    await _create(kafka_settings, topic)
    producer = make_producer(kafka_settings)
    await producer.start()
    try:
        for i in range(10):
            await send_with_deadline(
                producer, topic, f"Kraków {i}".encode(), key=f"k{i}".encode(), timeout_s=10
            )
    finally:
        await producer.stop()
    result = await asyncio.to_thread(
        subprocess.run,
        [
            _kcat(),
            "-b",
            kafka_settings.bootstrap_servers,
            "-t",
            topic,
            "-C",
            "-o",
            "beginning",
            "-e",
            "-c",
            "10",
            "-f",
            "%k=%s\\n",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.decode().splitlines() == [f"k{i}=Kraków {i}" for i in range(10)]
