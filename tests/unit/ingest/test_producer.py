"""The produce loop's accounting and the command's refusals, with a fake Kafka producer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from ingest.producer import ArticleSender
from ingest.sources import Accepted, Item, Rejected
from schemas import ConfigError, Settings, build_article
from wirewatch.cli import main
from wirewatch.cmd_produce import parse_rate

SEED_JSONL = str(Path(__file__).parents[3] / "seeds" / "articles.jsonl")


class FakeBatch:
    """A record batch holding up to ``capacity`` records, as aiokafka's BatchBuilder does."""

    def __init__(self, capacity: int) -> None:
        self.records: list[tuple[bytes, bytes]] = []
        self.capacity = capacity

    def append(self, *, key: bytes, value: bytes, timestamp: float | None) -> object | None:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    """Records sends; the broker 'acknowledges' a batch unless a value in it is in ``fail_values``."""

    def __init__(
        self,
        fail_values: frozenset[bytes] = frozenset(),
        batch_records: int = 100,
        broker_down: bool = False,
    ) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.fail_values = fail_values
        self.batch_records = batch_records
        # as an idempotent aiokafka producer does while the broker is down: batches
        # are retried forever, flush() never returns
        self.broker_down = broker_down
        self.pending: list[asyncio.Future[Any]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.batch_records)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        self.sent.extend((topic, value, key) for key, value in batch.records)
        return self._outcome([value for _, value in batch.records])

    async def send(self, topic: str, value: bytes, key: bytes | None = None, **_: Any) -> Any:
        self.sent.append((topic, value, key))
        return self._outcome([value])

    def _outcome(self, values: list[bytes]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.broker_down:
            self.pending.append(future)
        elif any(bad in value for bad in self.fail_values for value in values):
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(object())
        return future

    async def flush(self) -> None:
        """Nothing is buffered, unless the broker is down."""
        if self.pending:
            await asyncio.wait(self.pending)


def accepted(n: int, body: str = "A body.") -> Accepted:
    """A valid article from a fake file line."""
    article = build_article({"id": f"a-{n}", "title": f"Title {n}", "body": body, "source": "S"})
    return Accepted(article, f"feed.jsonl:{n}")


async def run(settings: Settings, items: list[Item], producer: FakeProducer) -> ArticleSender:
    """Send ``items`` through an ArticleSender on ``producer`` and drain it."""
    sender = ArticleSender(producer, settings)  # type: ignore[arg-type]
    await sender.send_all(items)
    await sender.drain()
    return sender


async def test_articles_are_keyed_by_id_and_counted_when_acknowledged(
    unit_settings: Settings,
) -> None:
    """Each article goes to the articles topic keyed by its id, and counts once acknowledged."""
    producer = FakeProducer()
    sender = await run(unit_settings, [accepted(1), accepted(2)], producer)
    assert [(t, k) for t, _, k in producer.sent] == [("articles", b"a-1"), ("articles", b"a-2")]
    assert json.loads(producer.sent[0][1])["title"] == "Title 1"
    assert (sender.summary.produced, sender.summary.failed) == (2, 0)


async def test_unacknowledged_articles_are_failures_not_successes(unit_settings: Settings) -> None:
    """An article whose batch is not acknowledged is counted failed, never produced."""
    producer = FakeProducer(fail_values=frozenset({b"Title 2"}), batch_records=1)
    sender = await run(unit_settings, [accepted(1), accepted(2), accepted(3)], producer)
    assert (sender.summary.produced, sender.summary.failed) == (2, 1)
    assert not sender.summary.delivered_all


async def test_a_failed_batch_fails_every_article_in_it(unit_settings: Settings) -> None:
    """Articles are acknowledged per batch: one lost batch counts all of its articles failed."""
    producer = FakeProducer(fail_values=frozenset({b"Title 2"}), batch_records=2)
    sender = await run(unit_settings, [accepted(n) for n in range(1, 6)], producer)
    assert (sender.summary.produced, sender.summary.failed) == (3, 2)
    assert len(producer.sent) == 5


async def test_full_batches_are_shipped_and_the_rest_at_the_end(unit_settings: Settings) -> None:
    """Every article read is sent once, in order, whether its batch filled up or not."""
    producer = FakeProducer(batch_records=3)
    sender = await run(unit_settings, [accepted(n) for n in range(7)], producer)
    assert [key for _, _, key in producer.sent] == [f"a-{n}".encode() for n in range(7)]
    assert sender.summary.produced == 7


async def test_drain_gives_up_at_the_deadline_while_the_broker_is_down(tmp_path: Path) -> None:
    """Unacknowledged articles count failed after send_timeout_s, once: no wait forever."""
    settings = Settings(_env_file=None, send_timeout_s=0.2)  # type: ignore[call-arg]
    producer = FakeProducer(batch_records=2, broker_down=True)
    sender = ArticleSender(producer, settings)  # type: ignore[arg-type]
    await sender.send_all([accepted(n) for n in range(5)])
    await asyncio.wait_for(sender.drain(), 5)
    assert (sender.summary.produced, sender.summary.failed) == (0, 5)
    for late in producer.pending:  # the broker comes back after the run gave up
        late.set_result(object())
    await asyncio.sleep(0)
    assert (sender.summary.produced, sender.summary.failed) == (0, 5)


async def test_rejected_records_become_dead_letters(unit_settings: Settings) -> None:
    """A rejected record is written to articles.dlq with stage, origin, reason and payload."""
    producer = FakeProducer()
    item = Rejected("feed.jsonl:9", "missing_title", "feed.jsonl:9: no title", b'{"body": "x"}')
    sender = await run(unit_settings, [item], producer)
    ((topic, value, key),) = producer.sent
    letter = json.loads(value)
    assert (topic, key) == ("articles.dlq", b"feed.jsonl:9")
    assert (letter["stage"], letter["origin"], letter["reason"]) == (
        "produce",
        "feed.jsonl:9",
        "missing_title",
    )
    assert letter["payload_text"] == '{"body": "x"}'
    summary = sender.summary
    assert (summary.invalid, summary.dead_lettered, summary.reasons["missing_title"]) == (1, 1, 1)


async def test_a_record_over_the_kafka_message_size_is_dead_lettered(tmp_path: Path) -> None:
    """An article larger than max_message_bytes as JSON goes to the DLQ as too_large, cut to fit."""
    settings = Settings(_env_file=None, max_message_bytes=5_000)  # type: ignore[call-arg]
    producer = FakeProducer()
    sender = await run(settings, [accepted(1, body="word " * 2_000)], producer)
    ((topic, value, _),) = producer.sent
    letter = json.loads(value)
    assert topic == "articles.dlq"
    assert letter["reason"] == "too_large"
    assert "WIREWATCH_MAX_MESSAGE_BYTES" in letter["error"]
    assert len(value) < 5_000
    assert (sender.summary.produced, sender.summary.dead_lettered) == (0, 1)


def test_summary_line_says_what_happened(unit_settings: Settings) -> None:
    """The summary names produced, invalid by reason, dead-lettered and undelivered counts."""
    from ingest.producer import ProduceSummary

    summary = ProduceSummary(produced=5, invalid=2, dead_lettered=2, failed=1)
    summary.reasons.update({"missing_body": 2})
    assert summary.describe("articles", "articles.dlq") == (
        "produced 5 articles to articles; 2 invalid (missing_body 2), "
        "2 dead-lettered to articles.dlq; 1 NOT delivered"
    )


@pytest.mark.parametrize(
    ("text", "rate"), [(None, None), ("200", 200.0), ("200/s", 200.0), (" 2.5 / s ", 2.5)]
)
def test_parse_rate(text: str | None, rate: float | None) -> None:
    """--rate accepts N or N/s."""
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0", "-3/s", "fast", "10/min", ""])
def test_parse_rate_refuses_nonsense(text: str) -> None:
    """A rate that is not a positive N/s is a ConfigError naming the expected form."""
    with pytest.raises(ConfigError, match="N/s"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["produce"], "nothing to produce"),
        (["produce", "--rate", "lots", SEED_JSONL], "not a positive rate"),
    ],
)
def test_produce_refuses_user_mistakes(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mistakes end as one error line and exit 2, before any broker is contacted."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_produce_refuses_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist is refused by the command line with exit 2."""
    assert main(["produce", "no/such/file.jsonl"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_produce_without_a_broker_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no broker listening, produce exits 3 with one actionable line, no traceback."""
    monkeypatch.setenv("WIREWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("WIREWATCH_SEND_TIMEOUT_S", "1")
    assert main(["produce", SEED_JSONL]) == 3
    err = capsys.readouterr().err
    assert "cannot reach Kafka at 127.0.0.1:9" in err
    assert "Traceback" not in err


async def test_stop_ends_sending_early_but_counts_what_was_sent(unit_settings: Settings) -> None:
    """A stop request (Ctrl-C) ends sending within a few hundred records; sent ones still count."""
    producer = FakeProducer()
    stop = asyncio.Event()
    stop.set()
    sender = ArticleSender(producer, unit_settings, stop=stop)  # type: ignore[arg-type]
    await sender.send_all(accepted(n) for n in range(2_000))
    await sender.drain()
    assert 0 < len(producer.sent) <= 256
    assert sender.summary.produced == len(producer.sent)
