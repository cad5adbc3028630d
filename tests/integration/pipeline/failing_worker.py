"""A worker whose engine raises on articles titled "explode": run with ``python -m``.

Used to check that an engine exception dead-letters the record and the worker
goes on with the next one.
"""

from __future__ import annotations

from datetime import datetime

from schemas import Settings
from streams.app import create_app, run_worker
from streams.detect import Detector, Outcome
from wirewatch.logs import configure_logging


class ExplodingDetector(Detector):
    """A detector whose rules raise on an article titled "explode"."""

    def detect(
        self, raw: bytes | None, *, origin: str, record_time: datetime | None = None
    ) -> Outcome:
        """Raise RuntimeError for the poisoned title, else detect as usual."""
        if raw and b'"title": "explode"' in raw:
            raise RuntimeError("injected engine failure")
        return super().detect(raw, origin=origin, record_time=record_time)


def main() -> None:
    """Run the worker with the exploding detector."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    run_worker(settings, create_app(settings, detector_factory=ExplodingDetector))


if __name__ == "__main__":
    main()
