"""Publishing gazetteer files to the gazetteers topic, checked first, each write audited.

The files on the topic are the whole gazetteer workers use (the directory
only while the topic holds none), so a publication is checked together with
the files already there that it does not replace: every entity id and alias
must still belong to one entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from schemas import ConfigError, Settings
from schemas.audit import AuditEvent, audit_event
from schemas.audit_log import Change, write_audited_many
from schemas.kafka import ensure_topics, pipeline_topics, read_to_end
from schemas.live_config import GazetteerRecord, text_version
from streams.gazetteer_files import build_gazetteer

Via = Literal["dashboard", "cli"]


async def read_gazetteers(settings: Settings) -> dict[str, GazetteerRecord]:
    """Return the gazetteer files on the topic, by name."""
    topic = settings.topics.gazetteers
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
    found: dict[str, GazetteerRecord] = {}

    def take(record: ConsumerRecord[bytes, bytes]) -> None:
        name = (record.key or b"").decode("utf-8", "replace")
        try:
            if record.value is None:
                found.pop(name, None)
            else:
                found[name] = GazetteerRecord.model_validate_json(record.value)
        except ValidationError:
            found.pop(name, None)

    await read_to_end(settings, topic, take, client_id="wirewatch-gazetteers")
    return found


def gazetteer_files(path: Path) -> list[Path]:
    """The ``*.yaml`` files at ``path`` (a file, or a directory's files).

    Raises:
        ConfigError: there is none.
    """
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path] if path.is_file() else []
    if not files:
        raise ConfigError(f"{path}: no gazetteer file (*.yaml) there")
    return files


def gazetteer_records(path: Path, actor: str) -> list[GazetteerRecord]:
    """Read the gazetteer files at ``path`` into records (not checked yet).

    Raises:
        ConfigError: a file cannot be read, or its name cannot be a key.
    """
    records = []
    for file in gazetteer_files(path):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read: {exc}") from None
        try:
            records.append(
                GazetteerRecord(
                    name=file.stem,
                    text=text,
                    version=text_version(text),
                    source=str(file),
                    published_by=actor,
                )
            )
        except ValidationError:
            raise ConfigError(
                f"{file}: {file.stem!r} cannot name a gazetteer file: lower-case letters, "
                "digits, '.', '_' and '-'"
            ) from None
    return records


async def publish_gazetteers(
    settings: Settings,
    records: Sequence[GazetteerRecord],
    *,
    actor: str,
    via: Via,
    origin: str,
) -> tuple[list[GazetteerRecord], list[GazetteerRecord]]:
    """Check gazetteer files with those on the topic and publish them; return (written, unchanged).

    Raises:
        ConfigError: a file is broken, too large, or clashes with another.
    """
    on_topic = await read_gazetteers(settings)
    whole = {**on_topic, **{r.name: r for r in records}}
    build_gazetteer(tuple(whole[name] for name in sorted(whole)), settings.gazetteer_path)
    written = [
        r for r in records if (old := on_topic.get(r.name)) is None or old.version != r.version
    ]
    unchanged = [on_topic[r.name] for r in records if r not in written]
    writes: list[tuple[list[Change], AuditEvent]] = []
    for record in written:
        payload = record.model_dump_json().encode()
        if len(payload) > settings.max_message_bytes:
            raise ConfigError(
                f"{record.source}: {len(payload):,} bytes as a record, over "
                f"WIREWATCH_MAX_MESSAGE_BYTES={settings.max_message_bytes:,}: split the file"
            )
        old = on_topic.get(record.name)
        event = audit_event(
            "gazetteer.published",
            f"gazetteer:{record.name}",
            actor=actor,
            via=via,
            origin=origin,
            before={"version": old.version} if old else None,
            after={"version": record.version, "source": record.source},
        )
        writes.append(([Change(settings.topics.gazetteers, record.name.encode(), payload)], event))
    if writes:
        await write_audited_many(settings, writes)
    return written, unchanged
