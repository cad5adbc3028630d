"""What a receiver de-duplicates by: the keys every notification carries.

Each alert has an idempotency key (``rule_id@rule_version/group/window``) that
a replay reproduces. The notifier can still send a notification twice: when it
dies after a send and before that send's ledger record, its successor sends the
alerts again, maybe grouped with others. So every notification carries the keys
of the alerts it lists (a receiver drops the alerts whose keys it has seen), and
a *notification key* derived from them (the same for an exact repeat), which
becomes an email's ``Message-ID`` so mail clients and archives drop or thread
the repeat.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable
from typing import Final

_ATEXT: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_FALLBACK_DOMAIN: Final = "wirewatch.invalid"


def notification_key(alert_keys: Iterable[str]) -> str:
    """Return the key of a notification listing ``alert_keys``: 32 hex digits, order-free."""
    listed = json.dumps(sorted(set(alert_keys)))  # unambiguous whatever a key holds
    return hashlib.sha256(listed.encode("utf-8")).hexdigest()[:32]


def message_id(key: str, domain: str | None) -> str:
    """Return the RFC 5322 ``Message-ID`` of a notification with key ``key``.

    ``domain`` is the right-hand side apprise would use (its SMTP host); one
    that is not a dot-atom (an IPv6 address, an empty name) is replaced, so
    the id stays valid.
    """
    right = domain if domain and _is_dot_atom(domain) else _FALLBACK_DOMAIN
    return f"<wirewatch.{key}@{right}>"


def _is_dot_atom(text: str) -> bool:
    return all(part and set(part) <= _ATEXT for part in text.split("."))
