"""Fan-out of live events to the pages connected by server-sent events.

Each connected page is a :class:`Subscription` with its own feed filter and a
bounded queue of encoded events. A page too slow to drain its queue is
disconnected rather than allowed to grow memory; its browser reconnects
(``EventSource`` does so by itself) and receives a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import structlog

from wirewatch.dashboard.feed import AlertFilter, FeedEntry, story_card

log = structlog.get_logger(__name__)

QUEUE_SIZE: Final = 1_000


def sse_event(event: str, data: Any) -> bytes:
    """Encode one server-sent event; JSON keeps ``data`` on one line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Subscription:
    """One connected page: its filter and its queue (None in the queue ends the stream)."""

    def __init__(self, where: AlertFilter, size: int = QUEUE_SIZE) -> None:
        self.where = where
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(size)
        self.closed = False

    def offer(self, event: bytes) -> bool:
        """Queue ``event``; on overflow, end the stream and return False."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close()
            return False
        return True

    def close(self) -> None:
        """End the stream: drop what is queued and queue the end mark."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Hub:
    """The connected pages; events are encoded once and queued to each page that wants them."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, where: AlertFilter) -> Subscription:
        """Register a page that wants the stories with an alert passing ``where``, and every status."""
        subscription = Subscription(where)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a page (its stream ended)."""
        self._subscriptions.discard(subscription)

    def publish_story(self, entries: list[FeedEntry]) -> None:
        """Send the card of a story that got a new alert to every page whose filter one passes."""
        event: bytes | None = None
        for subscription in list(self._subscriptions):
            if any(subscription.where.matches(entry) for entry in entries):
                event = event or sse_event("story", story_card(entries))
                self._offer(subscription, event)

    def publish_status(self, status: dict[str, Any]) -> None:
        """Send the status panels to every page."""
        if not self._subscriptions:
            return
        event = sse_event("status", status)
        for subscription in list(self._subscriptions):
            self._offer(subscription, event)

    def _offer(self, subscription: Subscription, event: bytes) -> None:
        if not subscription.offer(event):
            self._subscriptions.discard(subscription)
            log.warning("dashboard_client_dropped", reason="too slow to read its events")

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()
