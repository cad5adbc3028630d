"""Writing and reading silences on the compacted topic, for the ``wirewatch silence`` commands."""

from __future__ import annotations

from alerts.compacted import CompactedReader
from alerts.silences import SilenceSet
from schemas import Settings
from schemas.audit import AuditEvent
from schemas.audit_log import Change, write_audited
from schemas.kafka import encode, ensure_topics, pipeline_topics
from schemas.silences import Silence


async def write_silence(settings: Settings, silence: Silence, event: AuditEvent) -> None:
    """Write ``silence`` (new or expired) to the silences topic, then its audit ``event``."""
    change = Change(settings.topics.silences, silence.id.encode("utf-8"), encode(silence))
    await write_audited(settings, [change], event)


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
