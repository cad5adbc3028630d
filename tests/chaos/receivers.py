"""What the loopback receivers got, read back as the alerts each notification carried.

Two readings of each notification, so the checker can hold one against the other:

- what it *shows*: the harness's rules and articles are made to be recognisable
  in any template: a rule's title is ``Chaos watch <rule id>`` and an article's
  headline starts with its id, and every template shows an alert's rule title
  before the headlines of its story's articles (a digest line: the rule titles,
  then the headline). In the corpus a story is one article, so each rule title
  in a notification, paired with the first article id after it, is one alert it
  carried: a (rule id, article id) pair, which the oracle maps to the alert's key;
- the alert keys it *carries* for a receiver to de-duplicate by: the
  ``alert_keys`` field of a ``json://`` payload, the ``alert key:`` lines that
  end an email.
"""

from __future__ import annotations

import email.message
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tests.support.servers import SmtpServer, Webhook

_RULE = re.compile(r"Chaos watch (chaos-w\d+)")
_ARTICLE = re.compile(r"\b(ca-\d{6})\b")
_KEY_LINE = re.compile(r"^alert key: ([^<\n]+)", re.MULTILINE)

Pair = tuple[str, str]
"""(rule id, article id): one alert of the corpus."""


@dataclass(frozen=True)
class Received:
    """One notification a receiver accepted: when, the alerts it listed, the keys it carried."""

    receiver: str
    at: float
    pairs: frozenset[Pair]
    keys: frozenset[str]


def pairs_in(text: str) -> frozenset[Pair]:
    """The (rule id, article id) of every alert a rendered notification lists."""
    found: set[Pair] = set()
    for rule in _RULE.finditer(text):
        article = _ARTICLE.search(text, rule.end())
        if article is not None:
            found.add((rule.group(1), article.group(1)))
    return frozenset(found)


def from_webhook(hook: Webhook, path: str, receiver: str, start: int = 0) -> list[Received]:
    """The notifications ``hook`` accepted on ``path`` (apprise ``json://`` payloads), from ``start``."""
    payloads = hook.accepted.get(path, [])[start:]
    times = hook.accepted_at[start:]  # the harness's webhook serves one path only
    return [
        Received(
            receiver,
            at,
            pairs_in(f"{payload.get('title', '')}\n{payload.get('message', '')}"),
            frozenset(payload.get("alert_keys", ())),
        )
        for payload, at in zip(payloads, times, strict=False)
    ]


def from_smtp(server: SmtpServer, receiver: str, start: int = 0) -> list[Received]:
    """The emails ``server`` accepted from ``start``, read from their HTML part (else text)."""
    messages = server.messages[start:]
    times = server.received_at[start:]
    texts = [_email_text(message) for message in messages]
    return [
        Received(receiver, at, pairs_in(text), keys_in(text))
        for text, at in zip(texts, times, strict=False)
    ]


def keys_in(text: str) -> frozenset[str]:
    """The alert keys a rendered notification ends with (``alert key: ...``, HTML or text)."""
    return frozenset(html.unescape(key).strip() for key in _KEY_LINE.findall(text))


def _email_text(message: email.message.Message) -> str:
    parts: dict[str, str] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("text/html", "text/plain") and kind not in parts:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts[kind] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    # One part only: the text part repeats the HTML one, and would count each alert twice.
    return parts.get("text/html") or parts.get("text/plain", "")


def all_pairs(received: Iterable[Received]) -> set[Pair]:
    """Every pair any of ``received`` listed."""
    return {pair for item in received for pair in item.pairs}
