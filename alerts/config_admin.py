"""Publishing routes and receivers to their topics, checked first, each write audited.

Used by ``wirewatch routes`` and ``wirewatch receivers``. A routes file is
checked as the notifier checks it (schema, declared receivers) and every
receiver it routes to must have URLs somewhere (the receivers topic or this
process's settings); a receiver's URLs must each make a transport. Audit
events name receivers and count their URLs, never show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from alerts.delivery import make_transport
from alerts.live_config import receivers_box, seal
from alerts.receivers import receiver_urls
from alerts.routing import RoutingTable, parse_routes
from schemas import ConfigError, Settings
from schemas.audit import audit_event
from schemas.audit_log import Change, write_audited
from schemas.kafka import ensure_topics, pipeline_topics, read_to_end
from schemas.live_config import (
    RECEIVER_NAME,
    ROUTES_KEY,
    ReceiverRecord,
    RoutesRecord,
    text_version,
)

Via = Literal["dashboard", "cli"]


async def read_routes(settings: Settings) -> RoutesRecord | None:
    """Return the routes published on the routes topic (None when none are)."""
    found: list[RoutesRecord | None] = [None]

    def take(record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key == ROUTES_KEY.encode():
            found[0] = RoutesRecord.model_validate_json(record.value) if record.value else None

    await _read(settings, settings.topics.routes, take)
    return found[0]


async def read_receivers(settings: Settings) -> dict[str, ReceiverRecord]:
    """Return the receivers on the receivers topic, by name (their URLs still sealed)."""
    found: dict[str, ReceiverRecord] = {}

    def take(record: ConsumerRecord[bytes, bytes]) -> None:
        name = (record.key or b"").decode("utf-8", "replace")
        if record.value is None:
            found.pop(name, None)
        else:
            try:
                found[name] = ReceiverRecord.model_validate_json(record.value)
            except ValidationError:
                found.pop(name, None)

    await _read(settings, settings.topics.receivers, take)
    return found


def routes_record(path: Path, actor: str) -> tuple[RoutesRecord, RoutingTable]:
    """Read and check the routes file at ``path``; return its record and its table.

    Raises:
        ConfigError: the file cannot be read or does not check.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the routes file {path}: {exc}") from None
    return routes_text_record(text, str(path), actor)


def routes_text_record(text: str, source: str, actor: str) -> tuple[RoutesRecord, RoutingTable]:
    """Check the text of a routes file (``source`` names it); return its record and its table.

    Raises:
        ConfigError: it does not check (the message says where).
    """
    table = parse_routes(text, source)
    record = RoutesRecord(text=text, version=text_version(text), source=source, published_by=actor)
    return record, table


async def publish_routes(
    settings: Settings,
    record: RoutesRecord,
    table: RoutingTable,
    *,
    actor: str,
    via: Via,
    origin: str,
) -> bool:
    """Publish a checked routes file (:func:`routes_record`); False when it is the one in force.

    Raises:
        ConfigError: it routes to a receiver without URLs, or is too large.
    """
    path = record.source
    published = await read_receivers(settings)
    missing = sorted(set(table.receivers) - set(published) - set(receiver_urls(settings)))
    if missing:
        raise ConfigError(
            f"{path}: receiver(s) {', '.join(missing)} have no URL on the receivers topic or in "
            "the settings: give them with `wirewatch receivers set NAME` first"
        )
    previous = await read_routes(settings)
    if previous is not None and previous.version == record.version:
        return False
    _check_size(settings, f"the routes file {path}", len(record.model_dump_json()))
    event = audit_event(
        "route.changed",
        "routes",
        actor=actor,
        via=via,
        origin=origin,
        before=_routes_summary(previous, None) if previous else None,
        after=_routes_summary(record, table),
    )
    change = Change(settings.topics.routes, ROUTES_KEY.encode(), record.model_dump_json().encode())
    await write_audited(settings, [change], event)
    return True


def _routes_summary(record: RoutesRecord, table: RoutingTable | None) -> dict[str, object]:
    summary: dict[str, object] = {
        "version": record.version,
        "source": record.source,
        "published_by": record.published_by,
    }
    if table is not None:
        summary["receivers"] = sorted(table.receivers)
    return summary


def check_urls(name: str, urls: Sequence[str]) -> None:
    """Refuse a receiver name or URLs the notifier could not use (the message shows no URL).

    Raises:
        ConfigError: naming the receiver and the URL's position.
    """
    if not re.match(RECEIVER_NAME, name):
        raise ConfigError(
            f"{name!r} cannot name a receiver: letters, digits, '.', '_' and '-', 64 at most"
        )
    if not urls:
        raise ConfigError(f"receiver {name}: no URL given")
    with ThreadPoolExecutor(1) as pool:
        for number, url in enumerate(urls, start=1):
            try:
                make_transport(url, 10.0, pool)
            except ConfigError as exc:
                raise ConfigError(f"receiver {name}, URL {number}: {exc}") from None


async def set_receiver(
    settings: Settings,
    name: str,
    urls: Sequence[str],
    *,
    actor: str,
    via: Via,
    origin: str,
    plaintext: bool = False,
    owner: str | None = None,
    template: Literal["email", "slack", "text"] | None = None,
) -> ReceiverRecord:
    """Publish receiver ``name`` with ``urls`` (sealed with ``WIREWATCH_RECEIVERS_KEY``).

    ``owner`` and ``template`` make it a personal receiver of the owner's watches.

    Raises:
        ConfigError: a URL is not usable, or there is no key and ``plaintext`` is False.
    """
    check_urls(name, urls)
    box = receivers_box(settings)
    record = seal(name, urls, box, actor, plaintext=plaintext, owner=owner, template=template)
    _check_size(settings, f"receiver {name}", len(record.model_dump_json()))
    previous = (await read_receivers(settings)).get(name)
    event = audit_event(
        "receiver.changed",
        f"receiver:{name}",
        actor=actor,
        via=via,
        origin=origin,
        before=_receiver_summary(previous) if previous else None,
        after=_receiver_summary(record),
    )
    change = Change(settings.topics.receivers, name.encode(), record.model_dump_json().encode())
    await write_audited(settings, [change], event)
    return record


async def delete_receiver(
    settings: Settings, name: str, *, actor: str, via: Via, origin: str
) -> ReceiverRecord:
    """Remove receiver ``name`` from the receivers topic; return the record removed.

    Raises:
        ConfigError: it is not on the topic, or the published routes still send to it.
    """
    previous = (await read_receivers(settings)).get(name)
    if previous is None:
        raise ConfigError(f"receiver {name} is not on the receivers topic")
    routes = await read_routes(settings)
    if routes is not None and name in parse_routes(routes.text, "routes topic").receivers:
        raise ConfigError(
            f"the published routes still declare receiver {name}: publish routes without it first"
        )
    event = audit_event(
        "receiver.deleted",
        f"receiver:{name}",
        actor=actor,
        via=via,
        origin=origin,
        before=_receiver_summary(previous),
    )
    await write_audited(settings, [Change(settings.topics.receivers, name.encode(), None)], event)
    return previous


def _receiver_summary(record: ReceiverRecord) -> dict[str, object]:
    """What the audit trail keeps of a receiver: never its URLs, only how many and whether sealed."""
    return {
        "name": record.name,
        "url_count": len(record.urls),
        "encrypted": record.encrypted,
        "owner": record.owner,
        "updated_by": record.updated_by,
    }


def _check_size(settings: Settings, what: str, size: int) -> None:
    if size > settings.max_message_bytes:
        raise ConfigError(
            f"{what} is {size:,} bytes as a record, over WIREWATCH_MAX_MESSAGE_BYTES="
            f"{settings.max_message_bytes:,}"
        )


async def _read(
    settings: Settings, topic: str, take: Callable[[ConsumerRecord[bytes, bytes]], None]
) -> None:
    await ensure_topics(settings, [t for t in pipeline_topics(settings) if t.name == topic])
    await read_to_end(settings, topic, take, client_id="wirewatch-config")
