"""The ``DeadLetter``: a record Wirewatch could not process, kept with the reason."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from schemas.common import Message, Timestamp, utcnow

DEAD_LETTER_SCHEMA_VERSION: Literal[1] = 1


class DeadLetter(Message):
    """The envelope written to a ``*.dlq`` topic.

    The original payload is kept as text when it is valid UTF-8, else as
    base64, so nothing is lost and the record can be replayed after a fix.

    Attributes:
        stage: which step refused it (``produce``, ``fetch``, ``detect``, ``cluster``, ``aggregate``, ``notify``).
        origin: where it came from: ``file:line`` or ``topic/partition@offset``.
        reason: a short code to group by (``invalid_json``, ``too_large``...).
        error: the full message for a person.
    """

    schema_version: Literal[1] = DEAD_LETTER_SCHEMA_VERSION
    stage: Literal["produce", "fetch", "detect", "cluster", "aggregate", "notify"]
    origin: str
    reason: str
    error: str
    key: str | None = None
    payload_text: str | None = None
    payload_b64: str | None = None
    failed_at: Timestamp = Field(default_factory=utcnow)

    @classmethod
    def wrap(
        cls,
        payload: bytes | str | None,
        *,
        stage: Literal["produce", "fetch", "detect", "cluster", "aggregate", "notify"],
        origin: str,
        reason: str,
        error: str,
        key: str | None = None,
        max_payload: int = 256_000,
    ) -> DeadLetter:
        """Build a dead letter around ``payload``, truncating it to ``max_payload`` bytes.

        A payload over the cap is cut and the fact is said in ``error``, so a
        dead letter always fits on its topic.
        """
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
        text: str | None = None
        b64: str | None = None
        if payload is not None:
            if len(payload) > max_payload:
                error = f"{error} (payload of {len(payload)} bytes cut to {max_payload})"
                payload = payload[:max_payload]
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                b64 = base64.b64encode(payload).decode("ascii")
        return cls(
            stage=stage,
            origin=origin,
            reason=reason,
            error=error,
            key=key,
            payload_text=text,
            payload_b64=b64,
        )

    def payload(self) -> bytes | None:
        """Return the original payload bytes (possibly truncated), or None."""
        if self.payload_text is not None:
            return self.payload_text.encode("utf-8")
        if self.payload_b64 is not None:
            return base64.b64decode(self.payload_b64)
        return None
