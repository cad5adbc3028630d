"""``wirewatch dashboard``: the live web page for analysts."""

from __future__ import annotations

import asyncio
import signal

import click

from schemas import Settings
from wirewatch.options import pass_settings


@click.command()
@click.option(
    "--port", type=int, default=None, help="Port (default: WIREWATCH_DASHBOARD_PORT, 6068)."
)
@pass_settings
def dashboard(settings: Settings, port: int | None) -> None:
    """Serve the live dashboard on WIREWATCH_WEB_HOST (127.0.0.1) and the dashboard port.

    The page shows the alert feed as it happens (filters by category, severity,
    entity and text), each story's articles and figures, rule health (hits per
    rule per hour, dead letters, silences, the rule-set version) and a rule
    playground. It reads the topics without joining any consumer group, so it
    takes nothing from the workers or the notifier; silences made on the page
    go to the silences topic, which every notifier honours. Stop it with Ctrl-C
    or SIGTERM.

    Once an account exists (`wirewatch users add`), everyone signs in, and what
    they may change follows their role; every change is on the audit trail.
    Without accounts it serves 127.0.0.1 only and refuses a wider
    WIREWATCH_WEB_HOST. Single sign-on: WIREWATCH_DASHBOARD_PROXY_HEADER.
    """
    from wirewatch.dashboard.server import serve

    if port is not None:
        settings = settings.model_copy(update={"dashboard_port": port})

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    asyncio.run(run())
