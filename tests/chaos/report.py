"""The results table (Markdown, so it reads the same in a terminal and in the README) and JSON."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

from tests.chaos.harness import Result

COLUMNS = (
    "#",
    "scenario",
    "articles produced",
    "processed",
    "lost",
    "alerts expected",
    "delivered",
    "lost",
    "duplicated (in window)",
    "left by key de-dup",
    "dead-lettered",
    "crash restarts",
    "recovered in",
    "verdict",
)


def _row(result: Result) -> list[str]:
    v = result.verdict
    poison = f" ({v.poison} poison)" if v.poison else ""
    recovered = "never" if v.recovered_s is None else f"{v.recovered_s:.1f} s"
    return [
        str(result.scenario.number),
        result.scenario.name,
        f"{v.produced:,}{poison}",
        f"{v.processed:,}",
        str(v.articles_lost),
        f"{v.alerts_expected:,}",
        f"{v.alerts_delivered:,}",
        str(v.alerts_lost),
        f"{v.duplicates} ({v.duplicates_in_window})",
        str(v.repeats_left_by_key),
        str(v.dead_lettered),
        str(sum(result.crashes.values())),
        recovered,
        "pass" if v.passed else "FAIL",
    ]


def table(results: Sequence[Result]) -> str:
    """The results as a Markdown table, one row per scenario."""
    rows = [list(COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def failures(results: Sequence[Result]) -> str:
    """One line per failed criterion, with a few examples each."""
    lines = []
    for result in results:
        for failure in result.verdict.failures:
            lines.append(f"{result.scenario.number} {result.scenario.name}: {failure}")
        for what, examples in result.verdict.examples.items():
            lines.append(f"    {what}, e.g. {', '.join(examples)}")
    return "\n".join(lines)


def document(
    results: Sequence[Result], command: str, articles: int, seconds: float
) -> dict[str, Any]:
    """Everything about a run, for ``benchmarks/results/chaos.json``."""
    return {
        "command": command,
        "articles": articles,
        "seconds": round(seconds, 1),
        "passed": all(r.verdict.passed for r in results),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "scenarios": [r.as_dict() for r in results],
    }
