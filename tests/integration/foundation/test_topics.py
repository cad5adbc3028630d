"""Creating the pipeline's topics: idempotent, and visible to clients when it returns."""

from __future__ import annotations

from aiokafka import AIOKafkaClient

from schemas import Settings
from schemas.kafka import TopicSpec, ensure_topics


async def test_created_topics_are_in_the_metadata_when_ensure_topics_returns(
    kafka_settings: Settings,
) -> None:
    """A client connecting right after sees every partition (faust ignores a topic it cannot see).

    Without the wait, one batch in ten lacked a topic here.
    """
    client = AIOKafkaClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    await client.bootstrap()
    try:
        for batch in range(5):
            specs = [
                TopicSpec(f"{kafka_settings.topic_prefix}visible-{batch}-{n}", 6, {})
                for n in range(8)
            ]
            assert await ensure_topics(kafka_settings, specs) == [s.name for s in specs]
            metadata = await client.fetch_all_metadata()
            assert {s.name: len(metadata.partitions_for_topic(s.name) or ()) for s in specs} == {
                s.name: 6 for s in specs
            }
        assert await ensure_topics(kafka_settings, specs) == []
    finally:
        await client.close()
