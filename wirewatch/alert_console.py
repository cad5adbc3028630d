"""An alert as a terminal shows it: severity in colour, rule, headline, highlighted evidence.

The demo prints one panel per delivered alert. It reads the same view the
notification templates read (:func:`alerts.views.alert_view`), so the
terminal and a Slack message never disagree about what an alert says.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.panel import Panel
from rich.text import Text

from alerts.views import alert_view
from schemas import Alert

SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "bold cyan",
    "info": "bold blue",
}
HIGHLIGHT = "bold black on yellow"
MAX_EVIDENCE = 3


def alert_panel(alert: Alert, receivers: Sequence[str] = ()) -> Panel:
    """Return a panel for ``alert``; ``receivers`` are the names it was delivered to."""
    view = alert_view(alert)
    severity = SEVERITY_STYLES.get(view.severity, "bold")
    body = Text()
    body.append(view.headline, style="bold")
    for evidence in view.evidence[:MAX_EVIDENCE]:
        if evidence.segments:
            body.append("\n  “")
            for piece, hit in evidence.segments:
                body.append(piece, style=HIGHLIGHT if hit else "")
            body.append("”")
        body.append(f"\n    {evidence.source}", style="dim")
        if evidence.url:
            body.append(f"  {evidence.url}", style="dim underline")
    if len(view.evidence) > MAX_EVIDENCE:
        body.append(f"\n  … and {len(view.evidence) - MAX_EVIDENCE} more articles", style="dim")
    if view.figures:
        body.append("\n  figures: ", style="green")
        body.append("; ".join(view.figures))
    if view.entities:
        body.append("\n  entities: ", style="magenta")
        body.append(", ".join(view.entities))
    footer = (
        f"{view.source_count} source{'s' if view.source_count != 1 else ''}, "
        f"{view.article_count} article{'s' if view.article_count != 1 else ''} · {alert.policy}"
    )
    if receivers:
        footer += f" · sent to {', '.join(receivers)}"
    title = Text()
    title.append(f" {view.severity.upper()} ", style=severity)
    title.append(f" {view.category} ", style="bold")
    title.append(f"{alert.rule_id} ", style="dim")
    if view.is_update:
        title.append("UPDATE ", style="bold magenta")
    return Panel(
        body,
        title=title,
        title_align="left",
        subtitle=Text(footer, style="dim"),
        subtitle_align="right",
        border_style=severity.replace("bold ", "").split(" on ")[-1],
    )
