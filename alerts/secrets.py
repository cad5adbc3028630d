"""Keeping secrets out of logs, metrics, errors and dead letters.

Receiver URLs carry tokens and passwords. :func:`redactor_for` returns a
function that masks every known secret (each configured URL, its password,
its path tokens and secret-looking query values, the SASL password) and,
generically, the password of any ``scheme://user:password@host`` text. It is
given to ``configure_logging(redactors=...)`` and applied to every string the
notifier writes anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from schemas import Settings

MASK = "****"
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:)[^@\s/'\"]+@")
_SECRET_PARAMS = re.compile(r"(token|key|secret|pass|auth|sig|webhook|apikey)", re.IGNORECASE)
_MIN_TOKEN = 6  # shorter path parts are words like "hooks" or ports, not credentials


def url_secrets(url: str) -> set[str]:
    """Return the parts of an apprise URL that are secret: password, path tokens, key values."""
    found = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    if parts.password:
        found.update({parts.password, unquote(parts.password)})
    if parts.username and parts.password is None and parts.scheme not in ("mailto", "mailtos"):
        found.add(parts.username)  # some plugins carry a token where a user would be
    host = parts.netloc.rsplit("@", 1)[-1].split(":")[0]
    if host and "." not in host and host != "localhost":
        found.add(host)  # slack://TokenA/..., discord://WebhookID/...: the "host" is a token
    for piece in parts.path.split("/"):
        if len(piece) >= _MIN_TOKEN and not piece.startswith("@"):
            found.add(piece)
    for key, value in parse_qsl(parts.query):
        if value and _SECRET_PARAMS.search(key):
            found.add(value)
    return {secret for secret in found if len(secret) >= 4}


def settings_secrets(settings: Settings, extra_urls: Iterable[str] = ()) -> set[str]:
    """Return every secret string the settings and the receiver URLs hold."""
    found: set[str] = set()
    urls = [url.get_secret_value() for values in settings.receivers.values() for url in values]
    for url in [*urls, *extra_urls]:
        found |= url_secrets(url)
    if settings.kafka_sasl_password is not None:
        found.add(settings.kafka_sasl_password.get_secret_value())
    return found


class Redactor:
    """Masks each known secret and any URL password in a string; learns new secrets.

    The notifier learns the URLs of receivers published while it runs
    (:meth:`add`) before it uses them, so they are masked from then on in
    every log line, which holds this same object.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` too from now on."""
        fresh = {s for s in secrets if s} - self._secrets
        if not fresh:
            return
        self._secrets |= fresh
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _USERINFO.sub(rf"\1{MASK}@", text)


def make_redactor(secrets: Iterable[str]) -> Redactor:
    """Return a redactor masking each of ``secrets`` and any URL password in a string."""
    return Redactor(secrets)
