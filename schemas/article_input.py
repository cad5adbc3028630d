"""Turning a loose input record into an :class:`~schemas.articles.Article`.

Every process validates input the same way, through :func:`build_article`:
the producer on each line of a file, the stream worker on each record read
from the articles topic (so a JSON record written there with ``kcat`` is
accepted exactly like one written by ``wirewatch produce``).

Decisions a producer in another language needs to know:

* Field aliases: ``headline`` is ``title``; ``standfirst``, ``description``,
  ``subtitle`` and ``lede`` are ``summary``; ``text``, ``content`` and
  ``article`` are ``body``; ``link`` is ``url``; ``guid`` is ``id``;
  ``lang`` is ``language``; ``published``, ``date``, ``pubDate`` and
  ``datetime`` are ``published_at``. Any other field is kept in ``meta``.
* Language: a record without ``language`` has it identified from its text
  (:mod:`schemas.languages`); the guess and its confidence are kept in
  ``language_detection``, and the language is ``unknown`` when the guess is
  not trusted. A record that carries both (an article produced by Wirewatch)
  keeps them, so the worker does not identify it again.
* Times: ISO 8601 strings, RFC 2822 strings (RSS ``pubDate``) and Unix
  epoch numbers (seconds; milliseconds when larger than 10^11). A time
  without a zone is taken as UTC: wire feeds and scrapers mostly send UTC,
  and rejecting the article would lose it for want of an offset. A bare date
  is midnight UTC.
* The id: a record's own ``id`` is kept; else it is derived from the
  canonical URL; else from source, title and publication time. The same
  article produced twice has the same id, so the same Kafka key.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from pydantic import ValidationError

from schemas.articles import Article, normalize_line, normalize_text
from schemas.errors import InvalidRecordError
from schemas.languages import identify_language, sample_of
from schemas.teasers import split_teasers

MAX_META_DEPTH = 32
"""Deepest nesting accepted in the extra fields kept in ``meta``."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "guid"),
    "url": ("url", "link"),
    "source": ("source", "publisher", "site"),
    "title": ("title", "headline"),
    "summary": ("summary", "standfirst", "description", "subtitle", "lede"),
    "body": ("body", "text", "content", "article"),
    "language": ("language", "lang"),
    "language_detection": ("language_detection",),
    "published_at": ("published_at", "published", "date", "pubDate", "datetime"),
    "received_at": ("received_at",),
    "kind": ("kind",),
    "found_on": ("found_on",),
}
_KINDS = frozenset({"article", "teaser"})
_ENVELOPE = frozenset({"meta", "schema_version"})
_RANK_OF = {
    name: (field, rank) for field, names in _ALIASES.items() for rank, name in enumerate(names)
}

_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "ref_src",
        "cmpid",
        "ocid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ID_CHARS = re.compile(r"\s+")
# The shape of nearly every article URL: http(s), a plain host name, no port,
# credentials, whitespace or brackets. For it urlsplit's rules reduce to this
# split; anything else takes urlsplit (a test holds the two equal).
_PLAIN_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+)(/[^?#\s]*)?(?:\?([^#\s]*))?(?:#\S*)?")


def canonical_url(url: str) -> str:
    """Return ``url`` in canonical form, so that one page has one spelling.

    The scheme and host are lower-cased, a default port (80, 443) and the
    fragment are dropped, tracking parameters (``utm_*``, ``fbclid``,
    ``gclid``...) are removed and an empty path becomes ``/``. The order of
    the remaining query parameters is kept: some sites route on it.
    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.

    Raises:
        ValueError: ``url`` is not an absolute URL with a host.
    """
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None and (host := plain[2].lower().rstrip(".")):
        return f"{plain[1]}://{host}{plain[3] or '/'}{_query(plain[4] or '')}"
    return _split_canonical_url(url)


def _split_canonical_url(url: str) -> str:
    """:func:`canonical_url` of any URL, through urlsplit (a third of the speed)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    port = parts.port  # raises ValueError on a port out of range
    # Credentials (user:password@) are never part of an article's identity: dropped.
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    # Parameters are filtered as written (not decoded and re-encoded), so the
    # site's own spelling of the rest of the query is kept.
    return urlunsplit((scheme, netloc, parts.path or "/", _query(parts.query)[1:], ""))


def _query(query: str) -> str:
    """``?`` and the parameters of ``query`` that are not tracking ones; "" when none are left."""
    kept = "&".join(param for param in query.split("&") if param and not _is_tracking(param))
    return f"?{kept}" if kept else ""


def _is_tracking(param: str) -> bool:
    name = param.partition("=")[0]
    if "%" in name or "+" in name:
        name = unquote_plus(name)
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def article_id(
    *,
    id: str | None = None,
    url: str | None = None,
    source: str | None = None,
    title: str | None = None,
    published_at: datetime | None = None,
) -> str:
    """Return the stable id of an article.

    A record's own ``id`` wins (whitespace folded). Else ``url-<hash>`` of the
    canonical URL. Else ``sth-<hash>`` of source, title and publication time
    (each normalised, so a re-typed blank or a different time zone spelling of
    the same instant gives the same id).

    Raises:
        ValueError: none of the three can be used.
    """
    if id is not None and id.strip():
        return _ID_CHARS.sub(" ", id.strip())
    if url:
        try:
            return f"url-{_digest(canonical_url(url))}"
        except ValueError:
            pass
    if source and title:
        when = published_at.astimezone(UTC).isoformat() if published_at else ""
        return f"sth-{_digest(normalize_line(source).casefold(), normalize_line(title), when)}"
    raise ValueError("an article needs an id, a URL, or a source and a title")


def parse_time(value: Any, field: str = "published_at") -> datetime:
    """Return ``value`` (ISO 8601, RFC 2822, epoch or datetime) as an aware datetime.

    A value without a time zone is taken as UTC (see the module docstring).

    Raises:
        InvalidRecordError: reason ``invalid_date`` or ``wrong_type``.
    """
    if isinstance(value, bool):
        raise InvalidRecordError("wrong_type", f"{field} must be a date string or a number")
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float):
        parsed = _from_epoch(value, field)
    elif isinstance(value, str):
        parsed = _from_text(value.strip(), field)
    else:
        raise InvalidRecordError(
            "wrong_type", f"{field} must be a date string or a number, not {type(value).__name__}"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _from_epoch(value: float, field: str) -> datetime:
    if not math.isfinite(value):
        raise InvalidRecordError("invalid_date", f"{field} is not a finite number")
    seconds = value / 1000 if abs(value) > 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidRecordError("invalid_date", f"{field} {value} is out of range") from exc


def _from_text(text: str, field: str) -> datetime:
    if not text:
        raise InvalidRecordError("invalid_date", f"{field} is empty")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    raise InvalidRecordError(
        "invalid_date",
        f"{field} {text[:60]!r} is not a date: use ISO 8601 (2026-11-10T09:30:00Z) or RFC 2822",
    )


def _resolve(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a record, in one pass, into field values and the extra fields for ``meta``.

    A field is read from its first alias (in :data:`_ALIASES` order) that is
    present and not null. A second alias of a field (``description`` next to
    ``summary``) is kept as an extra field, so no input is lost; a null alias
    is not worth keeping.
    """
    chosen: dict[str, tuple[int, str, Any]] = {}
    extra: dict[str, Any] = {}
    for name, value in record.items():
        if name in _ENVELOPE:
            continue
        alias = _RANK_OF.get(name)
        if alias is None:
            extra[name] = value
            continue
        if value is None:
            continue
        field, rank = alias
        held = chosen.get(field)
        if held is None or rank < held[0]:
            if held is not None:
                extra[held[1]] = held[2]
            chosen[field] = (rank, name, value)
        else:
            extra[name] = value
    return {field: value for field, (_, _, value) in chosen.items()}, extra


def _required_text(values: Mapping[str, Any], field: str) -> str:
    value = _text(values, field)
    if value is None:
        raise InvalidRecordError(
            f"missing_{field}",
            f"the record has no {field} (also read from: {', '.join(_ALIASES[field][1:])})",
        )
    return value


def _text(values: Mapping[str, Any], field: str) -> str | None:
    value = values.get(field)
    if value is None:
        return None
    if field == "source" and isinstance(value, Mapping):
        value = value.get("name")  # NewsAPI-style {"id": ..., "name": ...}
        if value is None:
            return None
    if field == "id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRecordError(
            "wrong_type", f"{field} must be a string, not {type(value).__name__}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRecordError(
            "invalid_text", f"{field} holds a lone surrogate, not valid Unicode text"
        ) from exc
    return value


def _depth(value: Any) -> int:
    """Return the nesting depth of a JSON-like value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_META_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def build_article(
    record: Mapping[str, Any],
    *,
    origin: str = "",
    max_body_bytes: int = 1_000_000,
    default_source: str | None = None,
    received_at: datetime | None = None,
) -> Article:
    """Validate a loose input record and return the :class:`Article` it describes.

    Args:
        record: the decoded record (a JSON object, a feed entry...).
        origin: where it came from, for error messages (``feed.jsonl:12``).
        max_body_bytes: the largest body accepted, in UTF-8 bytes.
        default_source: the source when the record names none and has no
            URL to take the host from (a file's directory); else ``unknown``.
        received_at: when Wirewatch received it; a record's own
            ``received_at`` is kept (re-produced articles), else now.

    Raises:
        InvalidRecordError: with a ``reason`` of ``not_an_object``,
            ``missing_title``, ``missing_body``, ``wrong_type``,
            ``invalid_text``, ``invalid_date``, ``too_large``, ``too_deep``,
            ``unsupported_version`` or ``invalid_field``.
    """
    try:
        return _build(record, max_body_bytes, default_source, received_at)
    except InvalidRecordError as exc:
        raise InvalidRecordError(exc.reason, _message(exc), origin) from None


def _message(exc: InvalidRecordError) -> str:
    text = str(exc)
    return text[len(exc.origin) + 2 :] if exc.origin else text


def _build(
    record: Mapping[str, Any],
    max_body_bytes: int,
    default_source: str | None,
    received_at: datetime | None,
) -> Article:
    if not isinstance(record, Mapping):
        raise InvalidRecordError(
            "not_an_object", f"an article record must be a JSON object, not {type(record).__name__}"
        )
    version = record.get("schema_version", 1)
    if version != 1 or isinstance(version, bool):
        raise InvalidRecordError(
            "unsupported_version", f"schema_version {version!r} is not supported (expected 1)"
        )
    values, extra = _resolve(record)
    kind = values.get("kind", "article")
    if not isinstance(kind, str) or kind not in _KINDS:
        extra["kind"], kind = kind, "article"
    title = _required_text(values, "title")
    body = "" if kind == "teaser" and not values.get("body") else _required_text(values, "body")
    body_bytes = len(body.encode("utf-8"))
    if body_bytes > max_body_bytes:
        raise InvalidRecordError(
            "too_large",
            f"the body is {body_bytes} bytes, over the limit of {max_body_bytes} "
            "(WIREWATCH_MAX_BODY_BYTES)",
        )
    if not title.strip():
        raise InvalidRecordError("missing_title", "the title is blank")
    if not body.strip() and kind != "teaser":
        raise InvalidRecordError("missing_body", "the body is blank")
    url = _text(values, "url")
    source = _text(values, "source")
    if not source or not source.strip():
        source = _host(url) or default_source or "unknown"
    raw_published = values.get("published_at")
    published_at = None if raw_published is None else parse_time(raw_published)
    raw_received = values.get("received_at")
    received = (
        parse_time(raw_received, "received_at")
        if raw_received is not None
        else received_at or datetime.now(UTC)
    )
    meta = _meta(record.get("meta"), extra)
    try:
        key = article_id(
            id=_text(values, "id"),
            url=url,
            source=source,
            title=title,
            published_at=published_at,
        )
    except ValueError as exc:  # pragma: no cover - a title and a source always exist here
        raise InvalidRecordError("missing_id", str(exc)) from exc
    fields: dict[str, Any] = {
        "id": key,
        "url": url.strip() if url and url.strip() else None,
        "source": source,
        "title": title,
        "summary": _text(values, "summary"),
        "body": body,
        "published_at": published_at,
        "received_at": received,
        "meta": meta,
        "kind": kind,
        "found_on": values.get("found_on"),
    }
    language = _text(values, "language")
    if language is not None and language.strip():
        fields["language"] = language
        if "language_detection" in values:
            fields["language_detection"] = values["language_detection"]
    else:
        sample = sample_of(title, fields["summary"], body)
        fields["language"], guess, confidence = identify_language(normalize_text(sample))
        fields["language_detection"] = {"language": guess, "confidence": confidence}
    try:
        article = Article(**fields)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        first = errors[0]
        # A title of only control characters is blank once normalised.
        blank_title = first["loc"] == ("title",) and "blank" in first["msg"]
        raise InvalidRecordError(
            "missing_title" if blank_title else "invalid_field", problems
        ) from None
    if not article.body and article.kind != "teaser":  # only control characters
        raise InvalidRecordError("missing_body", "the body is blank")
    return article


def build_articles(
    record: Mapping[str, Any],
    *,
    origin: str = "",
    max_body_bytes: int = 1_000_000,
    default_source: str | None = None,
    received_at: datetime | None = None,
    links: Mapping[str, str] | None = None,
) -> list[Article]:
    """Validate a record like :func:`build_article`; return the page, then its teasers.

    Every ingest path and the stream worker build articles here, so a page is
    split the same way however it arrives (see :mod:`schemas.teasers`).

    Args:
        links: a closing line's text -> the URL the input linked it to.

    Raises:
        InvalidRecordError: as :func:`build_article`.
    """
    article = build_article(
        record,
        origin=origin,
        max_body_bytes=max_body_bytes,
        default_source=default_source,
        received_at=received_at,
    )
    return split_teasers(article, links=links)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def _meta(own: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """Return the record's own ``meta`` merged with its extra fields."""
    if own is not None and not isinstance(own, Mapping):
        raise InvalidRecordError("wrong_type", f"meta must be an object, not {type(own).__name__}")
    meta: dict[str, Any] = {**(own or {}), **extra}
    if meta and _depth(meta) > MAX_META_DEPTH:
        raise InvalidRecordError(
            "too_deep", f"extra fields are nested deeper than {MAX_META_DEPTH} levels"
        )
    return meta
