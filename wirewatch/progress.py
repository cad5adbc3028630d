"""The progress display of a produce run, shared by ``wirewatch produce`` and the demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from ingest.sender import ProduceSummary


def produce_progress(
    console: Console | None = None,
) -> tuple[Progress, Callable[[ProduceSummary], None]]:
    """Return a live display (on stderr unless ``console`` is given) and its update function.

    The total is unknown until the input is read (stdin, streamed JSON Lines),
    so the bar pulses while the counts move.
    """
    progress = Progress(
        SpinnerColumn(),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("producing", total=None)

    def update(summary: ProduceSummary) -> None:
        progress.update(
            task,
            description=(
                f"produced {summary.produced}  invalid {summary.invalid}  failed {summary.failed}"
            ),
        )

    return progress, update
