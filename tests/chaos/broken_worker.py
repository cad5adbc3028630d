"""A deliberately broken worker: it acknowledges articles before it has processed them.

Run with ``python -m tests.chaos.broken_worker``. Its detector answers every
record at once with nothing to cluster, so faust acknowledges and commits the
record, and keeps the story requests to send later, every few seconds, from a
timer: the classic "hand the work to a background queue and acknowledge"
bug. Nothing is lost while the worker lives; a SIGKILL loses whatever waited
in the queue, although its records are committed. The chaos harness must
report that loss (``tests/integration/chaos``); the real worker must not have it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas import Settings
from schemas.kafka import story_topics
from schemas.stories import StoryRequest
from streams.app import create_app, run_worker
from streams.detect import Detector, Outcome
from streams.rules import RuleSet
from wirewatch.logs import configure_logging

SEND_EVERY_S = 3.0
"""Longer than the commit interval, so records are committed while their work waits."""


class DeferringDetector(Detector):
    """Detects at once, but returns no story request: they wait in :attr:`queued`."""

    def __init__(self, settings: Settings, rules: Callable[[], RuleSet]) -> None:
        super().__init__(settings, rules)
        self.queued: list[StoryRequest] = []

    def detect(
        self, raw: bytes | None, *, origin: str, record_time: datetime | None = None
    ) -> Outcome:
        """Run the real detection, keep its story request for later, report none."""
        outcome = super().detect(raw, origin=origin, record_time=record_time)
        self.queued.extend(part.request for part in outcome.parts if part.request is not None)
        teasers = tuple(dataclasses.replace(part, request=None) for part in outcome.teasers)
        return dataclasses.replace(outcome, request=None, teasers=teasers)


def main() -> None:
    """Run the worker with the deferring detector and the timer that sends its queue."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    detectors: list[DeferringDetector] = []

    def factory(settings: Settings, rules: Callable[[], RuleSet]) -> Detector:
        detectors.append(DeferringDetector(settings, rules))
        return detectors[-1]

    app = create_app(settings, detector_factory=factory)
    requests_spec, _ = story_topics(settings)
    requests: Any = app.topic(requests_spec.name, key_type=bytes, value_type=bytes)

    @app.timer(SEND_EVERY_S)  # type: ignore[untyped-decorator]  # faust's timer is untyped
    async def send_queued() -> None:
        detector = detectors[0]
        queued, detector.queued = detector.queued, []
        for request in queued:
            await requests.send(
                key=request.features.article_id.encode(), value=request.model_dump_json().encode()
            )

    run_worker(settings, app)


if __name__ == "__main__":
    main()
