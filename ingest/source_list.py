"""The sources file: which feeds and pages the fetcher polls, read safely with located errors.

A YAML mapping with a ``sources:`` list; each source has an ``id``, a
``name``, a ``url`` and a ``kind``:

* ``feed``: RSS, Atom or JSON Feed;
* ``sitemap``: a news sitemap (``<news:news>`` entries); each new page is fetched;
* ``section``: an HTML section page whose article links are followed;
* ``auto``: whatever the URL serves (an article page is produced as one).

Optional: ``language`` (when the source does not declare it), ``tags``,
``interval`` (``5m``, or bounds ``{min: 2m, max: 1h}`` for the adaptive
schedule), ``full_text`` (fetch each item's page and take its main text when
the feed carries only a summary; always on for sitemaps and section pages)
and ``headers`` (sent with every request to the source). Anchors and aliases
are refused, the file is capped in size, and every problem is reported as
``file:line:column: source <id>: <what is wrong>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas import ConfigError, canonical_url
from schemas.rules import parse_duration

MAX_SOURCES_BYTES: Final = 5_000_000
SourceKind = Literal["feed", "sitemap", "section", "auto"]
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FORBIDDEN_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "if-none-match",
        "if-modified-since",
    }
)
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


class Interval(BaseModel):
    """Bounds of a source's poll interval, in seconds; the schedule adapts between them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value).total_seconds()
        if seconds < 1:
            raise ValueError("an interval is at least 1s")
        return seconds

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("interval.min is longer than interval.max")
        return self


class SourceSpec(BaseModel):
    """One source as written in the sources file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    kind: SourceKind = "feed"
    language: Annotated[str, Field(min_length=2, max_length=16)] | None = None
    tags: tuple[str, ...] = ()
    interval: Interval = Interval()
    full_text: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "an id is letters, digits, '.', '_' and '-' (starting with a letter or digit)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("the url must start with http:// or https://")
        try:
            canonical_url(value)
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from None
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _one_interval(cls, value: Any) -> Any:
        # `interval: 5m` fixes the interval: both bounds the same.
        if isinstance(value, str | int | float):
            return {"min": value, "max": value}
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in _FORBIDDEN_HEADERS:
                raise ValueError(f"the fetcher sets {name!r} itself")
            if "\n" in text or "\r" in text:
                raise ValueError(f"header {name!r} holds a line break")
        return value

    @property
    def follows_links(self) -> bool:
        """True for the kinds whose items are links to pages that must be fetched."""
        return self.kind in ("sitemap", "section")

    def bounds(self, default_s: float, min_s: float, max_s: float) -> tuple[float, float]:
        """The (shortest, longest) interval: the source's own bounds, else the settings'.

        A source that gives one bound only moves the other one with it when they would cross.
        """
        low = self.interval.min if self.interval.min is not None else min(min_s, default_s)
        high = self.interval.max if self.interval.max is not None else max(max_s, default_s)
        if self.interval.min is not None and self.interval.max is None:
            high = max(high, low)
        if self.interval.max is not None and self.interval.min is None:
            low = min(low, high)
        return low, high


class SourcesFileError(ConfigError):
    """The sources file is invalid; ``problems`` holds one located message each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = "1 problem" if count == 1 else f"{count} problems"
        super().__init__(f"{heading} in the sources file:\n" + "\n".join(self.problems))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases (a small file cannot grow huge)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (&name, *name) are not allowed in a sources file",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


def load_sources(path: Path) -> list[SourceSpec]:
    """Read and validate the sources file at ``path``.

    Raises:
        SourcesFileError: the file cannot be read, or any source is invalid
            (every problem is listed, each with its line and column).
    """
    try:
        size = path.stat().st_size
        if size > MAX_SOURCES_BYTES:
            raise SourcesFileError(
                [f"{path}: {size} bytes, more than the {MAX_SOURCES_BYTES} allowed"]
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesFileError([f"{path}: cannot read: {exc}"]) from None
    return parse_sources(text, str(path))


def parse_sources(text: str, origin: str) -> list[SourceSpec]:
    """Validate the YAML ``text`` of a sources file; ``origin`` names it in errors.

    Raises:
        SourcesFileError: any problem, located.
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        raise SourcesFileError([f"{where}: invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise SourcesFileError([f"{origin}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourcesFileError(
            [f"{origin}:1:1: a sources file is a mapping with a 'sources:' list"]
        )
    assert root is not None
    problems = [
        f"{_where(origin, root, (key,))}: unknown key {key!r} (expected: sources)"
        for key in data
        if key != "sources"
    ]
    sources: list[SourceSpec] = []
    first_of: dict[str, int] = {}
    for index, raw in enumerate(data["sources"]):
        path: tuple[str | int, ...] = ("sources", index)
        label = _label(raw, index)
        if not isinstance(raw, dict):
            problems.append(
                f"{_where(origin, root, path)}: {label}: a source is a mapping (id, name, url...)"
            )
            continue
        try:
            spec = SourceSpec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(
                f"{_where(origin, root, path + tuple(err['loc']))}: {label}: "
                f"{'.'.join(str(p) for p in err['loc']) or 'source'}: {err['msg']}"
                for err in exc.errors()
            )
            continue
        if spec.id in first_of:
            problems.append(
                f"{_where(origin, root, (*path, 'id'))}: {label}: the id is already used by "
                f"source #{first_of[spec.id] + 1}"
            )
            continue
        first_of[spec.id] = index
        sources.append(spec)
    if problems:
        raise SourcesFileError(problems)
    return sources


def _label(raw: object, index: int) -> str:
    source_id = raw.get("id") if isinstance(raw, dict) else None
    return f"source {source_id}" if isinstance(source_id, str) else f"source #{index + 1}"


def _where(origin: str, root: yaml.Node, path: Sequence[str | int]) -> str:
    """``origin:line:column`` of the deepest node of ``root`` along ``path``."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = [
                v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)
            ]
            if not found:
                break
            node = found[0]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            break
    mark = node.start_mark
    return f"{origin}:{mark.line + 1}:{mark.column + 1}"


def describe_interval(seconds: float) -> str:
    """``300`` -> ``5m``: an interval as people write it in the sources file."""
    delta = timedelta(seconds=round(seconds))
    total = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if total >= size and total % size == 0:
            return f"{total // size}{unit}"
    return f"{total}s"
