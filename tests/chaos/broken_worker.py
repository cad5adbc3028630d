"""A deliberately broken worker: it commits offsets when records are fetched, not when processed.

Run with ``python -m tests.chaos.broken_worker``. This is the classic Kafka
consumer bug (``enable.auto.commit`` with work still queued behind the
fetch): the consumer's position is committed every 200 ms and at each
rebalance, although faust may still hold those records in its buffers. A
worker killed or rebalanced with a backlog loses them. The chaos harness must
report the loss (``tests/integration/chaos``); the real worker must not have it.
"""

from __future__ import annotations

from typing import Any

from schemas import Settings
from streams.app import create_app, run_worker
from streams.transport import RewindingConsumer, RewindingConsumerThread, RewindingTransport
from wirewatch.logs import configure_logging


class _CommitOnFetchThread(RewindingConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by aiokafka when the consumer starts (after this returns).
        consumer._enable_auto_commit = True
        consumer._auto_commit_interval_ms = 200
        return consumer


class _CommitOnFetchConsumer(RewindingConsumer):
    def _new_consumer_thread(self) -> Any:
        return _CommitOnFetchThread(self, loop=self.loop, beacon=self.beacon)


class _CommitOnFetchTransport(RewindingTransport):
    Consumer = _CommitOnFetchConsumer


def main() -> None:
    """Run a worker whose consumer commits what it fetched."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    app.transport = _CommitOnFetchTransport(app.conf.broker_consumer, app)
    run_worker(settings, app)


if __name__ == "__main__":
    main()
