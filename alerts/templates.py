"""Rendering notifications with the shipped Jinja2 templates, in a sandbox.

One body template per receiver kind: ``slack`` (Slack mrkdwn), ``email``
(HTML; apprise derives the plain-text part from it) and ``text`` (plain text
for chat apps and files), plus one title template. Templates see plain view
objects (:mod:`alerts.views`: one per story, with every rule that fired on
it), never the raw models, and run in a
:class:`~jinja2.sandbox.SandboxedEnvironment`; HTML is autoescaped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from alerts.grouping import Notification
from alerts.views import story_views, window_words

TEMPLATE_DIR = Path(__file__).parent / "templates"
BodyFormat = Literal["text", "markdown", "html"]
_BODIES: dict[str, tuple[str, BodyFormat]] = {
    "slack": ("slack.md.j2", "text"),  # mrkdwn goes to Slack as is: no conversion by apprise
    "email": ("email.html.j2", "html"),
    "text": ("text.txt.j2", "text"),
}
KINDS = tuple(_BODIES)
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Rendered:
    """A rendered notification: what apprise (or the file receiver) is given."""

    title: str
    body: str
    body_format: BodyFormat


def _mrkdwn(text: object) -> str:
    """Escape text for Slack mrkdwn (``&``, ``<``, ``>``)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Templates:
    """The sandboxed template environment; :meth:`render` turns a notification into text."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            autoescape=lambda name: name is not None and ".html" in name,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["mrkdwn"] = _mrkdwn
        self._env.filters["window"] = window_words
        self._cache: OrderedDict[
            tuple[str, str, int, tuple[str, ...], frozenset[str]], Rendered
        ] = OrderedDict()

    def render(self, kind: str, notification: Notification) -> Rendered:
        """Render ``notification`` for a receiver of ``kind`` (slack, email or text).

        The same alerts routed to several receivers of one kind render once:
        the text depends only on the kind, the alerts and which of their stories
        the receiver already knew, so results are cached.
        """
        key = (
            kind,
            notification.kind,
            round(notification.window_s),
            tuple(item.alert.key for item in notification.items),
            notification.known_stories,
        )
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rendered = self._render(kind, notification)
        self._cache[key] = rendered
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def _render(self, kind: str, notification: Notification) -> Rendered:
        name, body_format = _BODIES[kind]
        alerts = notification.alerts
        top = max(alerts, key=lambda alert: alert.severity.rank)
        context = {
            "stories": story_views(alerts, notification.known_stories),
            "alert_count": len(alerts),
            "alert_keys": [alert.key for alert in alerts],
            "digest": notification.kind == "digest",
            "window_s": notification.window_s,
            "severity": top.severity.value,
        }
        title = self._env.get_template("title.txt.j2").render(context).strip()
        body = self._env.get_template(name).render(context).strip() + "\n"
        return Rendered(title=title, body=body, body_format=body_format)
