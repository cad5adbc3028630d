"""The ledger's writes ride out a broker outage instead of stopping the notifier."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from alerts.ledger import Ledger
from schemas import Delivery, DeliveryError, Settings

DELIVERY = Delivery(alert_key="a/r@1", receiver="hook", status="delivered")


class FlakyProducer:
    """Refuses the first ``failures`` records as aiokafka does while the broker is down."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent = 0

    async def send(self, topic: str, value: bytes, **options: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failures:
            self.failures -= 1
            future.set_exception(KafkaConnectionError("Connection at 127.0.0.1:19092 closed"))
        else:
            self.sent += 1
            future.set_result(None)
        return future


def ledger(producer: FlakyProducer, patience_s: float) -> Ledger:
    settings = Settings(notify_ledger_patience_s=patience_s)
    return Ledger(settings, producer)  # type: ignore[arg-type]


async def test_record_is_retried_until_kafka_takes_it_and_sends_wait_meanwhile() -> None:
    """A record refused twice is written on the third try; writable() waits until then."""
    producer = FlakyProducer(failures=2)
    book = ledger(producer, patience_s=60)
    writing = asyncio.create_task(book.record(DELIVERY))
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(book.writable())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await asyncio.wait_for(writing, 10)
    await asyncio.wait_for(waiting, 1)
    assert producer.sent == 1
    assert book.get("a/r@1", "hook") == DELIVERY


async def test_record_gives_up_after_the_patience() -> None:
    """Past notify_ledger_patience_s the error reaches the notifier, which stops and replays."""
    book = ledger(FlakyProducer(failures=100), patience_s=0.2)
    with pytest.raises(DeliveryError, match="refused a record"):
        await book.record(DELIVERY)
    assert book.get("a/r@1", "hook") is None
