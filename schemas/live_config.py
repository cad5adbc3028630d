"""Routes, receivers and gazetteers on compacted topics, so running processes reload them.

Each topic keeps the latest record of every key; the files (and receiver
settings) stay the start-up default while a topic holds nothing:

- ``routes``: one record, key ``routes``: the route file's YAML text;
- ``receivers``: one record per receiver name: its apprise URLs, secrets,
  encrypted with ``WIREWATCH_RECEIVERS_KEY`` unless published in plain text
  on purpose; a tombstone removes the receiver;
- ``gazetteers``: one record per gazetteer file (key: the file's name
  without ``.yaml``): its YAML text; a tombstone removes the file.

The texts travel as written, so a process validates them exactly as it
validates the files.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import Field

from schemas.common import Message, Timestamp, utcnow
from schemas.users import USER_ID

ROUTES_KEY = "routes"
"""The one key of the routes topic."""

CONFIG_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
"""Gazetteer file names on the topic."""

RECEIVER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Receiver names, as the routes file spells them."""


def watch_tag(owner: str) -> str:
    """The tag the dashboard puts on ``owner``'s watches; their personal receiver gets them."""
    return f"watch:{owner}"


def text_version(text: str) -> str:
    """Return a short hash of a published text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class RoutesRecord(Message):
    """The route tree as published: the YAML text of a routes file."""

    schema_version: Literal[1] = 1
    text: Annotated[str, Field(min_length=1)]
    version: str
    source: str = ""
    published_at: Timestamp = Field(default_factory=utcnow)
    published_by: Annotated[str, Field(min_length=1, max_length=200)]


class GazetteerRecord(Message):
    """One gazetteer file as published: its name and YAML text."""

    schema_version: Literal[1] = 1
    name: Annotated[str, Field(pattern=CONFIG_NAME)]
    text: Annotated[str, Field(min_length=1)]
    version: str
    source: str = ""
    published_at: Timestamp = Field(default_factory=utcnow)
    published_by: Annotated[str, Field(min_length=1, max_length=200)]


class ReceiverRecord(Message):
    """A receiver's apprise URLs: Fernet tokens when ``encrypted``, else the URLs themselves.

    Secret either way: never logged, shown or put on the audit trail. A
    personal receiver has an ``owner`` (a user id, who set it on the
    dashboard) and a ``template``: notifiers send it the alerts of that
    user's watches (rules tagged ``watch:<owner>``) without any route in the
    routes file.
    """

    schema_version: Literal[1] = 1
    name: Annotated[str, Field(pattern=RECEIVER_NAME)]
    urls: Annotated[tuple[str, ...], Field(min_length=1, max_length=20, repr=False)]
    encrypted: bool
    owner: Annotated[str | None, Field(pattern=USER_ID)] = None
    template: Literal["email", "slack", "text"] | None = None
    updated_at: Timestamp = Field(default_factory=utcnow)
    updated_by: Annotated[str, Field(min_length=1, max_length=200)]
