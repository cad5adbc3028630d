"""``wirewatch worker``: the stream workers."""

from __future__ import annotations

import click

from schemas import Settings
from wirewatch.options import pass_settings


@click.command()
@pass_settings
def worker(settings: Settings) -> None:
    """Run a stream worker: articles -> detect -> aggregate -> alerts.

    Start as many as the articles topic has partitions (WIREWATCH_PARTITIONS,
    6 by default); workers with the same WIREWATCH_PIPELINE_ID share the
    partitions, and a survivor takes over those of a worker that stops. The
    worker creates missing topics, reads its rules from the rules topic (or
    WIREWATCH_RULES_PATH while that is empty), and serves /healthz, /readyz and
    /metrics on WIREWATCH_WEB_HOST:WIREWATCH_WORKER_WEB_PORT (127.0.0.1:6066).
    Stop it with Ctrl-C or SIGTERM: it commits what it has processed and leaves
    the group cleanly.
    """
    from streams.app import run_worker

    run_worker(settings)
