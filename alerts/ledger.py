"""The delivery ledger: what happened to each (alert key, receiver), kept in Kafka.

Records go to the compacted ``deliveries`` topic and are read back at
start-up and on every partition assignment, so a restarted or rebalanced
notifier sends nothing that already has a record. The notifier commits an
alert's offset only after every receiver's record of it is acknowledged.

The at-least-once boundary: a crash after a send and before its record is
acknowledged makes the next owner send that notification again. That window
is the only source of duplicates. A broker outage must not widen it: a record
Kafka does not take is retried (``notify_ledger_patience_s``) instead of
stopping the notifier, and no new send starts until records are taken again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from alerts.compacted import CompactedReader
from schemas import DeliveryError, Settings
from schemas.deliveries import Delivery, ledger_key
from schemas.kafka import encode, send_with_deadline

log = structlog.get_logger(__name__)

_FIRST_RETRY_S = 0.5
_LAST_RETRY_S = 5.0


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
        self._writable = asyncio.Event()
        self._writable.set()

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
        """Write ``delivery`` and wait for the broker's acknowledgement, retrying while it fails.

        Raises:
            DeliveryError: Kafka did not take the record within ``notify_ledger_patience_s``.
        """
        settings = self._settings
        deadline = time.monotonic() + settings.notify_ledger_patience_s
        delay = _FIRST_RETRY_S
        while True:
            try:
                await send_with_deadline(
                    self._producer,
                    settings.topics.deliveries,
                    encode(delivery),
                    key=delivery.ledger_key.encode("utf-8"),
                    timeout_s=settings.send_timeout_s,
                )
                break
            except DeliveryError as exc:
                self._writable.clear()
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("ledger_write_retrying", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, _LAST_RETRY_S)
        self._writable.set()
        self._records[delivery.ledger_key] = delivery

    async def writable(self) -> None:
        """Return once the last record written was taken: a send waits here during an outage."""
        await self._writable.wait()

    def __len__(self) -> int:
        return len(self._records)

    async def stop(self) -> None:
        """Close the reader."""
        await self._reader.stop()
