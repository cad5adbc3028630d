"""The one exception hierarchy of Wirewatch.

Every error a user can cause or fix derives from :class:`WirewatchError`; the
CLI prints its message (no traceback) and exits with its ``exit_code``.
Messages say what was wrong, where, and what to do about it.
"""

from __future__ import annotations


class WirewatchError(Exception):
    """Root of every error Wirewatch raises on purpose."""

    exit_code: int = 1


class ConfigError(WirewatchError):
    """Settings, a rule pack, a route file or another input file is wrong."""

    exit_code = 2


class InvalidRecordError(WirewatchError):
    """One input record cannot become a valid message.

    Args:
        reason: a short machine-readable code (``"missing_title"``, ``"too_large"``...).
        message: what is wrong, for a person.
        origin: where the record came from (``"feed.jsonl:12"``, ``"articles/3@1041"``).
    """

    def __init__(self, reason: str, message: str, origin: str = "") -> None:
        self.reason = reason
        self.origin = origin
        where = f"{origin}: " if origin else ""
        super().__init__(f"{where}{message}")


class BrokerError(WirewatchError):
    """The Kafka broker cannot be started, reached or used."""

    exit_code = 3


class DeliveryError(WirewatchError):
    """A message could not be delivered to Kafka or a receiver in time."""

    exit_code = 4
