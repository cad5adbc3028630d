"""``FetchState``: what the fetcher knows about one source, on a compacted topic keyed by its id.

A fetcher that takes a source over (a restart, a rebalance) reads its latest
state and goes on from there: the validators for a conditional GET, the items
already produced, when the source is next due, its failures and its health.
``WebSubEvent`` is what a hub said to a fetcher's WebSub callback, keyed by
source id, so that it reaches the fetcher owning the source.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from schemas.common import Message, Timestamp, utcnow

FETCH_STATE_SCHEMA_VERSION: Literal[1] = 1

FetchStatus = Literal[
    "never", "new", "unchanged", "not_modified", "failed", "refused", "rate_limited"
]
"""The outcome of a source's last poll.

``new``: items were produced; ``unchanged``: the feed was read and nothing was
new; ``not_modified``: the server answered 304; ``failed``: an error worth
retrying (a 5xx, a timeout, a malformed feed); ``refused``: the fetcher will
not fetch it as it is (an address outside the allowed networks, a body over
the caps, a content type that is not a feed or a page, robots.txt);
``rate_limited``: a 429 or 503, retried after the server's ``Retry-After``.
"""


class WebSubLease(Message):
    """A subscription to a WebSub hub for one source's feed.

    The secret signs the hub's pushes (``X-Hub-Signature``); it lives only on
    this internal topic and is never logged.
    """

    hub: str
    topic: str
    secret: str = Field(repr=False)
    state: Literal["requested", "active", "failed"] = "requested"
    requested_at: Timestamp = Field(default_factory=utcnow)
    expires_at: Timestamp | None = None
    error: str | None = None


class FetchState(Message):
    """The fetch state of one source (or of one URL given to ``wirewatch fetch``).

    ``seen`` maps the ids of the latest items (oldest first, bounded by
    ``fetch_seen_items``) to a digest of their content, so an edited headline
    is an update of the same id. ``pending`` holds the items being produced
    when this record was written, and ``pending_teasers`` the ids of the
    teasers each item's page closes with: a fetcher that restarts finds out
    from the articles topic which of them reached it (an item only when its
    page and every teaser did), so none is lost and none is sent twice.
    """

    schema_version: Literal[1] = FETCH_STATE_SCHEMA_VERSION
    source_id: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    name: str = ""
    etag: str | None = None
    last_modified: str | None = None
    interval_s: Annotated[float, Field(gt=0)]
    next_due_at: Timestamp | None = None
    blocked_until: Timestamp | None = None
    first_fetch_at: Timestamp | None = None
    last_fetch_at: Timestamp | None = None
    last_status: FetchStatus = "never"
    last_error: str | None = None
    last_success_at: Timestamp | None = None
    last_new_item_at: Timestamp | None = None
    failures: Annotated[int, Field(ge=0)] = 0
    failing_since: Timestamp | None = None
    items_total: Annotated[int, Field(ge=0)] = 0
    new_item_times: tuple[Timestamp, ...] = ()
    seen: dict[str, str] = Field(default_factory=dict)
    pending: dict[str, str] = Field(default_factory=dict)
    pending_teasers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Item key -> the ids of the teasers produced after its page (absent: none)."""
    health_alert: str | None = None
    """The key of the ``source_health`` alert raised and not yet cleared."""
    websub: WebSubLease | None = None
    updated_at: Timestamp = Field(default_factory=utcnow)

    def items_per_day(self, now: datetime) -> float:
        """New items per day since the first fetch (over at least one day)."""
        if self.first_fetch_at is None:
            return 0.0
        days = max(1.0, (now - self.first_fetch_at).total_seconds() / 86_400)
        return self.items_total / days


class WebSubEvent(Message):
    """What a WebSub hub said to a fetcher's callback, keyed by source id on the pushes topic.

    Any fetcher may receive it; the one that owns the source acts on it:
    ``push`` (new content, verified against the lease's secret there),
    ``verified`` (the hub confirmed a subscription) or ``denied``.
    """

    schema_version: Literal[1] = FETCH_STATE_SCHEMA_VERSION
    source_id: str
    kind: Literal["push", "verified", "denied"]
    topic: str | None = None
    lease_s: float | None = None
    body_b64: str = ""
    """A push's raw body, base64: the signature is over its bytes."""
    signature: str | None = None
    content_type: str = ""
    received_at: Timestamp = Field(default_factory=utcnow)
