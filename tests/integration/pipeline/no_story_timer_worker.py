"""A worker whose story timer never fires in a test's lifetime: run with ``python -m``.

Its story entries then reach the stories topic only when an offset commit
hands them over, which a test checks.
"""

from __future__ import annotations

import streams.app
from schemas import Settings
from streams.app import create_app, run_worker
from wirewatch.logs import configure_logging


def main() -> None:
    """Run the worker with the story timer set to an hour."""
    streams.app.STORY_BATCH_INTERVAL_S = 3600.0
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    run_worker(settings, create_app(settings))


if __name__ == "__main__":
    main()
