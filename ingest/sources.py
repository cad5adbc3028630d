"""Reading articles from files and stdin: text pages, JSON Lines, JSON, RSS and Atom.

:func:`read_articles` turns paths into a stream of :class:`Accepted` articles
and :class:`Rejected` records. It never raises for bad input and never holds
more than one file (at most ``max_file_bytes``) or one JSON line in memory.

Formats, chosen by file suffix, else sniffed from the first bytes:

* ``.txt``, ``.text``: a text page. An optional header block of
  ``Source:``, ``Date:``, ``URL:``, ``Id:`` and ``Language:`` lines ends at
  the first blank line. Then the first non-blank line is the headline, the
  second the standfirst, and the rest the body. A page of only two lines has
  a body and no standfirst. Without a ``Source:`` header the source is the
  URL's host, else the name of the file's directory (``spool/reuters/a.txt``
  is from ``reuters``; stdin is ``stdin``). Without ``Date:`` the publication
  time is unknown: a file's modification time is not when it was published.
* ``.jsonl``, ``.ndjson``: one JSON object per line (streamed, so a file may
  be larger than ``max_file_bytes``; one line may not).
* ``.json``: an array of objects, or one object.
* ``.xml``, ``.rss``, ``.atom``, ``.rdf``: an RSS 2.0 or Atom feed (feedparser).

Whatever the format, the related headlines ("teasers") a page closes with are
split off its body into headline-only articles of their own, by
:func:`schemas.article_input.build_articles` (see :mod:`schemas.teasers`);
they follow their page, with the page's origin and ``+teaser<n>``. In feeds,
a teaser that is a link keeps that link as its URL.

Origins say where a record came from: ``feed.jsonl:12`` (line),
``batch.json[3]`` (array index, from 0), ``news.rss#2`` (entry, from 1), or
the file's path for a text page. Directories are read recursively in name
order, skipping hidden files and editor or partial files (``~``, ``.tmp``,
``.part``, ``.swp``); a file of another suffix found in a directory is
reported as ``unsupported_format``, while a file named on its own (and
stdin) has its format recognised from its first bytes.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urljoin

import orjson

from schemas import Article, InvalidRecordError, Settings, normalize_line
from schemas.article_input import build_articles

Format = Literal["text", "jsonl", "json", "feed"]

_SUFFIXES: dict[str, Format] = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
}
_SKIPPED_SUFFIXES = (".tmp", ".part", ".swp", "~")
_HEADER_LINE = re.compile(r"^(source|date|published|url|link|id|language)\s*:\s*(\S.*)$", re.I)
_HEADER_FIELDS = {
    "source": "source",
    "date": "published_at",
    "published": "published_at",
    "url": "url",
    "link": "url",
    "id": "id",
    "language": "language",
}
_MAX_LINKS = 1_000
"""Links noted per feed entry: bounds what a hostile entry can make us hold."""
_CHUNK = 1 << 20
_PAYLOAD_HEAD = 65_536
STDIN = "-"


@dataclass(frozen=True)
class Accepted:
    """A valid article and where it came from (``seeds/articles.jsonl:12``)."""

    article: Article
    origin: str


@dataclass(frozen=True)
class Rejected:
    """A record that is not a valid article: why, and its original bytes when known."""

    origin: str
    reason: str
    error: str
    payload: bytes | None


Item = Accepted | Rejected


def read_articles(
    paths: Sequence[str | Path], settings: Settings, *, stdin: BinaryIO | None = None
) -> Iterator[Item]:
    """Yield every article (or rejected record) found in ``paths``, in order.

    Args:
        paths: files, directories (read recursively) or ``"-"`` for ``stdin``.
        settings: the size limits (``max_file_bytes``, ``max_body_bytes``).
        stdin: the stream read for ``"-"``.
    """
    for path in paths:
        if str(path) == STDIN:
            if stdin is None:
                yield Rejected(STDIN, "unreadable", "stdin ('-') is not available here", None)
                continue
            yield from read_stream(stdin, settings, origin="<stdin>", default_source="stdin")
            continue
        path = Path(path)
        if path.is_dir():
            for file in walk_files(path):
                yield from read_file(file, settings, sniff=False)
        else:
            yield from read_file(path, settings)


def walk_files(directory: Path) -> Iterator[Path]:
    """Yield the readable files under ``directory``, recursively, in name order."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(_SKIPPED_SUFFIXES):
                continue
            yield Path(root) / name


def source_of_path(path: Path) -> str:
    """The source of a file's articles when they name none: its directory's name."""
    return path.resolve().parent.name or "unknown"


def read_file(path: Path, settings: Settings, *, sniff: bool = True) -> Iterator[Item]:
    """Yield the articles of one file (any supported format).

    Args:
        sniff: recognise a file without a known suffix from its first bytes.
            Off for files found in directories, which hold other things too
            (rule packs, notes): those are reported as ``unsupported_format``.
    """
    origin = str(path)
    default_source = source_of_path(path)
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None and not sniff:
        yield Rejected(
            origin,
            "unsupported_format",
            f"{origin}: not an article file; name it .txt, .jsonl, .json, .xml, .rss or .atom, "
            "or give it as a PATH of its own to have its format recognised",
            None,
        )
        return
    try:
        with path.open("rb") as stream:
            yield from read_stream(
                stream, settings, origin=origin, default_source=default_source, fmt=fmt
            )
    except OSError as exc:
        yield Rejected(origin, "unreadable", f"cannot read {origin}: {exc.strerror or exc}", None)


def read_stream(
    stream: BinaryIO,
    settings: Settings,
    *,
    origin: str,
    default_source: str,
    fmt: Format | None = None,
) -> Iterator[Item]:
    """Yield the articles of one byte stream; ``fmt`` None means sniff it."""
    head = stream.read(_CHUNK)
    if b"\x00" in head[:_PAYLOAD_HEAD]:
        yield Rejected(
            origin,
            "binary",
            f"{origin} is a binary file, not text (it contains NUL bytes)",
            head[:_PAYLOAD_HEAD],
        )
        return
    if fmt is None:
        fmt = _sniff(head)
    if fmt == "jsonl":
        yield from _read_jsonl(head, stream, settings, origin, default_source)
        return
    data = head + stream.read(max(0, settings.max_file_bytes + 1 - len(head)))
    if len(data) > settings.max_file_bytes:
        yield Rejected(
            origin,
            "too_large",
            f"{origin} is over the limit of {settings.max_file_bytes} bytes "
            "(WIREWATCH_MAX_FILE_BYTES); split it, or use JSON Lines which is streamed",
            data[:_PAYLOAD_HEAD],
        )
        return
    text_or_reject = _decode(data, origin)
    if isinstance(text_or_reject, Rejected):
        yield text_or_reject
        return
    if not text_or_reject.strip():
        yield Rejected(origin, "empty", f"{origin} is empty", data)
        return
    if fmt == "json":
        yield from _read_json(text_or_reject, data, settings, origin, default_source)
    elif fmt == "feed":
        yield from _read_feed(data, settings, origin, default_source)
    else:
        yield from _build(parse_text_page(text_or_reject), data, settings, origin, default_source)


def _sniff(head: bytes) -> Format:
    """Guess the format of a stream from its first bytes."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return "feed"
    if start == b"[":
        return "json"
    if start == b"{":
        first_line = head.lstrip().split(b"\n", 1)[0].rstrip()
        return "jsonl" if first_line.endswith(b"}") else "json"
    return "text"


def _decode(data: bytes, origin: str) -> str | Rejected:
    """Return ``data`` as text, or a rejection for binary or non-UTF-8 content."""
    if b"\x00" in data:
        return Rejected(
            origin, "binary", f"{origin} is a binary file, not text (it contains NUL bytes)", data
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Rejected(
            origin,
            "invalid_utf8",
            f"{origin} is not valid UTF-8 (byte {exc.start}); convert it to UTF-8 first",
            data,
        )


def _build(
    record: Mapping[str, Any],
    payload: bytes,
    settings: Settings,
    origin: str,
    default_source: str,
    links: Mapping[str, str] | None = None,
) -> list[Item]:
    """The record's article and its teasers (each with an origin), or why it was rejected."""
    try:
        parts = build_articles(
            record,
            origin=origin,
            max_body_bytes=settings.max_body_bytes,
            default_source=default_source,
            links=links,
        )
    except InvalidRecordError as exc:
        return [Rejected(origin, exc.reason, str(exc), payload)]
    return [*as_produced(parts, origin)]


def as_produced(parts: Sequence[Article], origin: str) -> list[Accepted]:
    """A page and its teasers (:func:`~schemas.article_input.build_articles`) as they are produced.

    The page first, then each teaser with the page's origin and ``+teaser<n>``.
    """
    page, *teasers = parts
    return [
        Accepted(page, origin),
        *(Accepted(teaser, f"{origin}+teaser{n}") for n, teaser in enumerate(teasers, 1)),
    ]


# --- Text pages ---------------------------------------------------------------


def parse_text_page(text: str) -> dict[str, str]:
    """Split a text page into a record: header fields, title, summary, body.

    See the module docstring for the layout. Missing parts are absent from
    the result (a one-line page has no body), so validation reports them.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    record: dict[str, str] = {}
    start = _skip_blank(lines, 0)
    end = start
    header: dict[str, str] = {}
    while end < len(lines) and (match := _HEADER_LINE.match(lines[end].strip())):
        header[_HEADER_FIELDS[match.group(1).lower()]] = match.group(2).strip()
        end += 1
    if header and end < len(lines) and not lines[end].strip():
        record.update(header)
        start = _skip_blank(lines, end)
    content = [i for i in range(start, len(lines)) if lines[i].strip()]
    if not content:
        return record
    record["title"] = lines[content[0]]
    if len(content) == 2:
        record["body"] = lines[content[1]]
    elif len(content) > 2:
        record["summary"] = lines[content[1]]
        record["body"] = "\n".join(lines[content[2] :])
    return record


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


# --- JSON ---------------------------------------------------------------------


def _read_jsonl(
    head: bytes, stream: BinaryIO, settings: Settings, origin: str, default_source: str
) -> Iterator[Item]:
    empty = True
    lines = numbered_lines(stream, settings.max_file_bytes, head=head)
    for item in jsonl_items(lines, settings, origin, default_source):
        empty = False
        yield item
    if empty:
        yield Rejected(origin, "empty", f"{origin} has no records", None)


def jsonl_items(
    lines: Iterable[tuple[int, bytes | None]], settings: Settings, origin: str, default_source: str
) -> Iterator[Item]:
    """Yield the items of numbered JSON lines (None: a line over the limit); blank lines yield none.

    Separate from file reading so that a worker process can build a chunk of
    lines while the main process sends (see ``ingest.producer``).
    """
    for number, line in lines:
        where = f"{origin}:{number}"
        if line is None:
            yield Rejected(
                where,
                "too_large",
                f"{where}: the line is over the limit of {settings.max_file_bytes} bytes "
                "(WIREWATCH_MAX_FILE_BYTES)",
                None,
            )
            continue
        if not line.strip():
            continue
        text = _decode(line, where)
        if isinstance(text, Rejected):
            yield text
            continue
        yield from _records_of(text, line, settings, where, default_source, array=False)


def numbered_lines(
    stream: BinaryIO, limit: int, *, head: bytes = b""
) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, line) from ``head`` then ``stream``; None for a line over ``limit``.

    An over-long line is skipped as it streams past, so memory stays bounded.
    """
    number = 0
    parts: list[bytes] = []
    size = 0
    too_long = False
    chunk = head or stream.read(_CHUNK)
    while chunk:
        lines = chunk.split(b"\n")
        for piece in lines[:-1]:
            number += 1
            if too_long or size + len(piece) > limit:
                yield number, None
            else:
                yield number, b"".join([*parts, piece]) if parts else piece
            parts, size, too_long = [], 0, False
        tail = lines[-1]
        if not too_long:
            if size + len(tail) > limit:
                parts, size, too_long = [], 0, True
            elif tail:
                parts.append(tail)
                size += len(tail)
        chunk = stream.read(_CHUNK)
    if too_long:
        yield number + 1, None
    elif parts:
        yield number + 1, b"".join(parts)


def _read_json(
    text: str, data: bytes, settings: Settings, origin: str, default_source: str
) -> Iterator[Item]:
    yield from _records_of(text, data, settings, origin, default_source, array=True)


def _records_of(
    text: str,
    payload: bytes,
    settings: Settings,
    origin: str,
    default_source: str,
    *,
    array: bool,
) -> Iterator[Item]:
    try:
        # orjson: several times faster than json here, and it refuses deep
        # nesting, lone surrogates and NaN with an error instead of a crash.
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        reason = "too_deep" if "depth limit" in str(exc) else "invalid_json"
        yield Rejected(origin, reason, f"{origin}: invalid JSON: {exc}", payload)
        return
    if array and isinstance(value, list):
        if not value:
            yield Rejected(origin, "empty", f"{origin} is an empty JSON array", payload)
        for index, item in enumerate(value):
            where = f"{origin}[{index}]"
            item_payload = _dump(item)
            yield from _build_json(item, item_payload, settings, where, default_source)
        return
    yield from _build_json(value, payload, settings, origin, default_source)


def _build_json(
    value: Any, payload: bytes, settings: Settings, origin: str, default_source: str
) -> list[Item]:
    if not isinstance(value, dict):
        return [
            Rejected(
                origin,
                "not_an_object",
                f"{origin}: an article record must be a JSON object, not {_json_type(value)}",
                payload,
            )
        ]
    return _build(value, payload, settings, origin, default_source)


def _dump(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # values come from orjson or feedparser: only a bug lands here
        return b""


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# --- Feeds --------------------------------------------------------------------

# feedparser reports these as "bozo" but reads the feed correctly.
_HARMLESS_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")


def _read_feed(data: bytes, settings: Settings, origin: str, default_source: str) -> Iterator[Item]:
    import feedparser

    try:
        parsed = feedparser.parse(data)
    except Exception as exc:  # feedparser can fail in many ways on hostile input
        yield Rejected(origin, "invalid_feed", f"{origin}: cannot parse the feed: {exc}", data)
        return
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and type(problem).__name__ not in _HARMLESS_BOZO:
        yield Rejected(
            origin,
            "invalid_feed",
            f"{origin}: not a well-formed RSS or Atom feed: {problem}",
            data,
        )
        return
    if not parsed.get("version") and not parsed.entries:
        yield Rejected(origin, "invalid_feed", f"{origin}: not an RSS or Atom feed", data)
        return
    if not parsed.entries:
        yield Rejected(origin, "empty", f"{origin}: the feed has no entries", data)
        return
    feed = parsed.get("feed", {})
    source = _html_text(feed.get("title", ""), {}, "") or default_source
    language = feed.get("language")
    for number, entry in enumerate(parsed.entries, start=1):
        where = f"{origin}#{number}"
        links: dict[str, str] = {}
        record = _entry_record(entry, source, language, links)
        yield from _build(record, _dump(record), settings, where, default_source, links)


def _entry_record(
    entry: Mapping[str, Any], source: str, language: Any, links: dict[str, str]
) -> dict[str, Any]:
    """Map a feedparser entry to an input record (HTML reduced to text).

    Args:
        links: filled with the text -> URL of every link in the entry's
            content, so that a teaser that is a link keeps its URL.
    """
    base = entry.get("link") or ""
    summary = _html_text(entry.get("summary", ""), links, base)
    contents = entry.get("content") or []
    body = "\n\n".join(_html_text(c.get("value", ""), links, base) for c in contents).strip()
    if not body:
        body, summary = summary, ""
    record: dict[str, Any] = {
        "id": entry.get("id") or None,
        "url": entry.get("link") or None,
        "source": source,
        "title": _html_text(entry.get("title", ""), {}, "") or None,
        "summary": summary or None,
        "body": body or None,
    }
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if when:
        record["published_at"] = datetime.fromtimestamp(calendar.timegm(when), UTC).isoformat()
    if isinstance(language, str) and language.strip():
        record["language"] = language
    return {name: value for name, value in record.items() if value is not None}


class _TextOfHtml(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks.

    The text of each ``<a href>`` is noted with its absolute http(s) URL in
    ``links`` (nested or unclosed anchors are not tracked: the first wins).
    """

    _BLOCKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})

    def __init__(self, links: dict[str, str], base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links = links
        self.base = base
        self._anchor: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n\n" if tag == "p" else "\n")
        elif tag == "a" and self._anchor is None:
            href = dict(attrs).get("href")
            url = urljoin(self.base, href.strip()) if href else ""
            if url.startswith(("http://", "https://")):
                self._anchor = (url, len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            url, first = self._anchor
            self._anchor = None
            text = normalize_line("".join(self.parts[first:]))
            if text and len(self.links) < _MAX_LINKS:
                self.links.setdefault(text, url)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(fragment: str, links: dict[str, str], base: str) -> str:
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    parser = _TextOfHtml(links, base)
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts).strip()
