"""The delivery ledger: what happened to each (alert key, receiver), kept in Kafka.

Records go to the compacted ``deliveries`` topic and are read back at
start-up and on every partition assignment, so a restarted or rebalanced
notifier sends nothing that already has a record. The notifier commits an
alert's offset only after every receiver's record of it is acknowledged.

The at-least-once boundary: a crash after a send and before its record is
acknowledged makes the next owner send that notification again. That window
is the only source of duplicates.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from alerts.compacted import CompactedReader
from schemas import Settings
from schemas.deliveries import Delivery, ledger_key
from schemas.kafka import encode, send_with_deadline

log = structlog.get_logger(__name__)


class Ledger:
    """The in-memory view of the deliveries topic, and the writer of new records."""

    def __init__(
        self,
        settings: Settings,
        producer: AIOKafkaProducer,
        on_restore: Callable[[Delivery], None] | None = None,
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._records: dict[str, Delivery] = {}
        self._on_restore = on_restore
        self._reader = CompactedReader(settings, settings.topics.deliveries, self._apply)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            return
        try:
            record = Delivery.model_validate_json(value)
        except ValidationError:
            log.warning("ledger_record_unreadable", key=(key or b"").decode("utf-8", "replace"))
            return
        self._records[record.ledger_key] = record
        if self._on_restore is not None:
            self._on_restore(record)

    async def start(self) -> None:
        """Read the whole ledger."""
        await self._reader.start()
        await self.catch_up()

    async def catch_up(self) -> int:
        """Apply records written since the last read (by this or another instance)."""
        count = await self._reader.catch_up()
        log.info("ledger_restored", records=len(self._records), new=count)
        return count

    def get(self, alert_key: str, receiver: str) -> Delivery | None:
        """Return the recorded outcome of the pair, or None if there is none."""
        return self._records.get(ledger_key(alert_key, receiver))

    async def record(self, delivery: Delivery) -> None:
        """Write ``delivery`` and wait for the broker's acknowledgement."""
        await send_with_deadline(
            self._producer,
            self._settings.topics.deliveries,
            encode(delivery),
            key=delivery.ledger_key.encode("utf-8"),
            timeout_s=self._settings.send_timeout_s,
        )
        self._records[delivery.ledger_key] = delivery

    def __len__(self) -> int:
        return len(self._records)

    async def stop(self) -> None:
        """Close the reader."""
        await self._reader.stop()
