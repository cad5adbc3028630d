"""The ``Delivery``: the notifier's ledger record of what happened to one alert for one receiver.

Records travel on the compacted ``deliveries`` topic keyed by
``<alert key>|<receiver>``, so the latest outcome per pair survives
compaction. A notifier reads them back at start-up and on every partition
assignment, and sends nothing that already has a record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import Message, Timestamp, utcnow

DELIVERY_SCHEMA_VERSION: Literal[1] = 1

DeliveryStatus = Literal["delivered", "failed", "silenced", "inhibited", "repeat"]
"""``delivered``: sent (alone, grouped or in a digest); ``failed``: retry budget spent,
dead-lettered; ``silenced``: a silence matched; ``inhibited``: a firing alert muted it
(an inhibit rule of the route file; ``detail`` names the source); ``repeat``: the story
was notified to this receiver within the route's ``repeat_interval`` and the alert is
not an update."""


class Delivery(Message):
    """The outcome for one (alert key, receiver) pair."""

    schema_version: Literal[1] = DELIVERY_SCHEMA_VERSION
    alert_key: str
    receiver: str
    status: DeliveryStatus
    story_id: str = ""
    is_update: bool = False
    attempts: int = 0
    detail: str = ""
    notification_id: str = ""
    recorded_at: Timestamp = Field(default_factory=utcnow)

    @property
    def ledger_key(self) -> str:
        """The record key on the deliveries topic."""
        return ledger_key(self.alert_key, self.receiver)


def ledger_key(alert_key: str, receiver: str) -> str:
    """Return the deliveries-topic key of an (alert key, receiver) pair."""
    return f"{alert_key}|{receiver}"
