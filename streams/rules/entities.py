"""The gazetteer: finds countries, organisations, people, places and commodities.

Every alias of every entity goes into one Aho-Corasick automaton, matched
over the folded text (case- and diacritic-insensitive, length-preserving, see
:mod:`streams.rules.text`), so a mention's offsets are offsets into the stored
article text. Matching rules:

- Whole words: an alias matches only between non-alphanumeric characters, so
  "Brentford" is not Brent and "golden" is not gold. An alias with a hyphen
  also matches with a blank ("Ust-Luga" matches "Ust Luga").
- A trailing ``*`` matches any word ending ("Росси*" matches России,
  российский), for inflected languages.
- ``cased`` aliases match only with that exact capitalisation ("US", never
  the pronoun "us").
- ``not`` aliases are phrases that contain an alias but are not the entity
  ("Olympic gold", "Brent Cross"). At each place the leftmost, then longest,
  match wins; a winning ``not`` phrase yields no mention and hides the
  shorter alias inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import ahocorasick
import yaml
from pydantic import TypeAdapter

from schemas.articles import Article
from schemas.common import TextField
from schemas.detections import EntityMention
from schemas.errors import ConfigError
from streams.rules.text import Offsets, fold
from streams.rules.words import folded_text

KINDS = ("country", "org", "person", "place", "commodity")
_ENTITY_ID = re.compile(r"^(country|org|person|place|commodity):[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_ENTRY_KEYS = frozenset({"id", "name", "kind", "aliases", "cased", "not", "languages"})
_MAX_FILE_BYTES = 4_000_000
_FIELDS = (TextField.TITLE, TextField.SUMMARY, TextField.BODY)
_NEGATIVE = -1
# The mentions of an article are built as plain data and validated in one call:
# a model per span and per mention, each validated on its own, cost two thirds
# more (100 against 60 µs for the 47 spans of a 3 KB article).
_MENTIONS: Final = TypeAdapter(tuple[EntityMention, ...])


@dataclass(frozen=True, slots=True)
class Entity:
    """One gazetteer entry: its normalised id, display name and kind."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class _Alias:
    """What one automaton key stands for.

    ``entity`` indexes :attr:`Gazetteer.entities`, or is ``_NEGATIVE`` for a
    ``not`` phrase. ``cased`` is the exact original spelling to verify, if any.
    """

    entity: int
    prefix: bool
    cased: str | None


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses YAML anchors and aliases (no billion laughs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.get_mark().line + 1
            raise ConfigError(
                f"{self.name}: line {line}: YAML aliases (*name) are not allowed in gazetteers"
            )
        return super().compose_node(parent, index)


class Gazetteer:
    """Entities and their aliases, compiled into one automaton.

    Build it with :meth:`load` (from ``seeds/entities/*.yaml``) or
    :meth:`from_entries` (from parsed data, for tests).
    """

    def __init__(self, entities: tuple[Entity, ...], automaton: Any) -> None:
        self.entities = entities
        self._automaton = automaton
        self._by_id = {entity.id: entity for entity in entities}

    def __len__(self) -> int:
        return len(self.entities)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._by_id

    def get(self, entity_id: str) -> Entity | None:
        """Return the entity with this id, or None."""
        return self._by_id.get(entity_id)

    @classmethod
    def load(cls, directory: Path) -> Gazetteer:
        """Load every ``*.yaml`` file of ``directory`` (sorted by name).

        Raises:
            ConfigError: a file is missing, unreadable, too large or not valid
                YAML, or an entry is malformed (the message names file and entry).
        """
        if not directory.is_dir():
            raise ConfigError(
                f"{directory}: the gazetteer directory does not exist; set WIREWATCH_GAZETTEER_PATH or create it"
            )
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ConfigError(f"{directory}: no *.yaml gazetteer files found")
        entries: list[tuple[str, Mapping[str, Any]]] = []
        for path in files:
            entries.extend((f"{path}", entry) for entry in _read_file(path))
        return cls.from_entries(entries)

    @classmethod
    def from_texts(cls, texts: Iterable[tuple[str, str]]) -> Gazetteer:
        """Compile gazetteer files given as ``(name, YAML text)`` pairs (from the gazetteers topic).

        Raises:
            ConfigError: as :meth:`load`, naming the file.
        """
        entries: list[tuple[str, Mapping[str, Any]]] = []
        for name, text in texts:
            entries.extend((name, entry) for entry in parse_gazetteer_text(text, name))
        return cls.from_entries(entries)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> Gazetteer:
        """Compile ``(origin, entry)`` pairs, where an entry is one parsed YAML mapping.

        Raises:
            ConfigError: an entry is malformed, an id repeats, or one alias
                names two entities.
        """
        entities: list[Entity] = []
        keys: dict[str, list[_Alias]] = {}
        owner: dict[tuple[str, bool], tuple[str, int]] = {}
        for origin, entry in entries:
            entity, aliases = _parse_entry(origin, entry)
            index = len(entities)
            if any(existing.id == entity.id for existing in entities):
                raise ConfigError(f"{origin}: entity {entity.id}: the id is defined twice")
            entities.append(entity)
            for text, cased, negative in _spellings(aliases):
                prefix = text.endswith("*")
                body = text[:-1] if prefix else text
                key = fold(body)
                target = _NEGATIVE if negative else index
                previous = owner.setdefault((key, prefix), (entity.id, target))
                if previous[1] != target and not cased:
                    raise ConfigError(
                        f"{origin}: entity {entity.id}: alias {text!r} already belongs to "
                        f"{previous[0]}; remove it from one of them"
                    )
                alias = _Alias(target, prefix, body if cased else None)
                bucket = keys.setdefault(key, [])
                if alias not in bucket:
                    bucket.append(alias)
        automaton = ahocorasick.Automaton()
        for key, bucket in keys.items():
            automaton.add_word(key, (len(key), tuple(bucket)))
        if keys:
            automaton.make_automaton()
        return cls(tuple(entities), automaton)

    def mentions(self, article: Article) -> tuple[EntityMention, ...]:
        """Return the entities mentioned in the article's title, summary and body.

        One :class:`EntityMention` per entity, in order of first mention, with
        one span per occurrence (offsets into the stored field text).
        """
        spans: dict[int, list[dict[str, Any]]] = {}
        for field in _FIELDS:
            text = article.text_of(field)
            if not text:
                continue
            for start, end, index in self._find(text):
                spans.setdefault(index, []).append(
                    {"field": field, "start": start, "end": end, "text": text[start:end]}
                )
        result = []
        for index, found in spans.items():
            entity = self.entities[index]
            result.append(
                {"id": entity.id, "kind": entity.kind, "name": entity.name, "spans": found}
            )
        return _MENTIONS.validate_python(result)

    def _find(self, text: str) -> list[tuple[int, int, int]]:
        """Leftmost-longest whole-word ``(start, end, entity)`` matches, ``not`` phrases removed."""
        if not self.entities:
            return []
        view = folded_text(text)
        folded, original = view.folded, view.offsets
        size = len(folded)
        # (start, -end, entity): sorting puts the leftmost, then longest, first.
        candidates: list[tuple[int, int, int]] = []
        for last, (length, aliases) in self._automaton.iter(folded):
            start = last - length + 1
            if start and folded[start - 1].isalnum():
                continue
            end = last + 1
            whole_word = end >= size or not folded[end].isalnum()
            for alias in aliases:
                if alias.prefix:
                    stop = end
                    while stop < size and folded[stop].isalnum():
                        stop += 1
                    candidates.append((start, -stop, alias.entity))
                elif whole_word and (
                    alias.cased is None or _cased(text, original, start, end, alias.cased)
                ):
                    candidates.append((start, -end, alias.entity))
        candidates.sort()
        chosen: list[tuple[int, int, int]] = []
        last_end = -1
        for start, negative_end, entity in candidates:
            if start >= last_end:
                last_end = -negative_end
                if entity != _NEGATIVE:
                    chosen.append((start, last_end, entity))
        if original is None:
            return chosen
        return [(original.start(s), original.end(e), entity) for s, e, entity in chosen]


def _cased(text: str, original: Offsets | None, start: int, end: int, cased: str) -> bool:
    """True when the folded match ``[start, end)`` is written exactly ``cased`` in ``text``."""
    if original is not None:
        start, end = original.start(start), original.end(end)
    return text[start:end] == cased


def load_gazetteer(directory: Path) -> Gazetteer | None:
    """Return the gazetteer of ``directory``, or None when the directory does not exist.

    Raises:
        ConfigError: the directory exists but a file in it is broken.
    """
    return Gazetteer.load(directory) if directory.is_dir() else None


def _spellings(aliases: list[tuple[str, bool, bool]]) -> Iterator[tuple[str, bool, bool]]:
    """Each alias as written, and with its hyphens as blanks ("Ust-Luga", "Ust Luga")."""
    for text, cased, negative in aliases:
        yield text, cased, negative
        if "-" in text:
            yield text.replace("-", " "), cased, negative


def _read_file(path: Path) -> list[Mapping[str, Any]]:
    """Parse one gazetteer file into its list of entries."""
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is over the {_MAX_FILE_BYTES} byte limit of a gazetteer file"
            )
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the gazetteer file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason}") from exc
    return parse_gazetteer_text(raw, str(path))


def parse_gazetteer_text(raw: str, origin: str) -> list[Mapping[str, Any]]:
    """Parse the text of one gazetteer file (named ``origin`` in errors) into its entries.

    Raises:
        ConfigError: the text is too large, not valid YAML, or not a list of entries.
    """
    if len(raw.encode()) > _MAX_FILE_BYTES:
        raise ConfigError(f"{origin}: over the {_MAX_FILE_BYTES} byte limit of a gazetteer file")
    loader = _NoAliasLoader(raw)
    loader.name = origin
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise ConfigError(f"{origin}: expected a mapping with a list under 'entities:'")
    entries: list[Mapping[str, Any]] = []
    for number, entry in enumerate(data["entities"], start=1):
        if not isinstance(entry, dict):
            raise ConfigError(
                f"{origin}: entry {number}: expected a mapping with id, name, kind, aliases"
            )
        entries.append(entry)
    return entries


def _parse_entry(
    origin: str, entry: Mapping[str, Any]
) -> tuple[Entity, list[tuple[str, bool, bool]]]:
    """Validate one entry; return the entity and its ``(alias, cased, negative)`` list."""
    entity_id = entry.get("id")
    where = f"{origin}: entity {entity_id!r}" if entity_id else f"{origin}: entity without id"
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(_ENTRY_KEYS))}"
        )
    if not isinstance(entity_id, str) or not _ENTITY_ID.match(entity_id):
        raise ConfigError(
            f"{where}: 'id' must look like kind:Name with kind one of {', '.join(KINDS)} (country:RU)"
        )
    kind = entry.get("kind")
    if kind != entity_id.split(":", 1)[0]:
        raise ConfigError(f"{where}: 'kind' must be {entity_id.split(':', 1)[0]!r}, as in the id")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    aliases: list[tuple[str, bool, bool]] = []
    aliases += [(a, False, False) for a in _strings(where, "aliases", entry.get("aliases", []))]
    aliases += [(a, True, False) for a in _strings(where, "cased", entry.get("cased", []))]
    aliases += [(a, False, True) for a in _strings(where, "not", entry.get("not", []))]
    languages = entry.get("languages", {})
    if not isinstance(languages, dict):
        raise ConfigError(f"{where}: 'languages' must map a language code to a list of aliases")
    for language, names in languages.items():
        aliases += [(a, False, False) for a in _strings(where, f"languages.{language}", names)]
    if not any(not negative for _, _, negative in aliases):
        raise ConfigError(f"{where}: needs at least one alias")
    for text, cased, _ in aliases:
        if "*" in text[:-1] or (text.endswith("*") and (cased or len(text) < 4)):
            raise ConfigError(
                f"{where}: alias {text!r}: '*' is allowed only at the end of an uncased alias "
                "with at least three characters before it"
            )
    return Entity(id=entity_id, name=name.strip(), kind=kind), aliases


def _strings(where: str, key: str, value: object) -> list[str]:
    """Check that ``value`` is a list of non-blank strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings")
    return [v.strip() for v in value]
