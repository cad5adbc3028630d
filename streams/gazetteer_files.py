"""The gazetteer a worker uses: the files of the gazetteers topic, else the directory.

Pure bookkeeping: :class:`GazetteerFiles` takes the topic's records in order;
:func:`build_gazetteer` compiles a snapshot of them off the event loop. A
gazetteer that fails to build is reported and the one in use stays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from schemas.live_config import GazetteerRecord
from streams.rules import Gazetteer, load_gazetteer


def build_gazetteer(records: tuple[GazetteerRecord, ...], directory: Path) -> Gazetteer | None:
    """Compile the published files, or, when there are none, the gazetteer of ``directory``.

    Raises:
        ConfigError: a file is broken, or two files clash (the message names them).
    """
    if not records:
        return load_gazetteer(directory)
    return Gazetteer.from_texts((f"gazetteers/{r.name}", r.text) for r in records)


class GazetteerFiles:
    """The gazetteer files on the topic, and what became of the last load."""

    def __init__(self) -> None:
        self._records: dict[str, GazetteerRecord] = {}
        self.changed = True  # loaded once at start, from the topic or the directory
        self.source = ""
        self.version: str | None = None
        self.error: str | None = None
        self._loading: tuple[GazetteerRecord, ...] = ()

    def take(self, key: bytes | None, value: bytes | None) -> None:
        """Take one record of the gazetteers topic; a tombstone removes its file."""
        name = (key or b"").decode("utf-8", "replace")
        if value is None:
            self._records.pop(name, None)
        else:
            try:
                record = GazetteerRecord.model_validate_json(value)
            except ValidationError as exc:
                self.error = f"gazetteers/{name}: unreadable record: {exc.error_count()} errors"
                return
            self._records[record.name] = record
        self.changed = True

    def load(self, directory: Path) -> Gazetteer | None:
        """Build the gazetteer of the records taken so far (call from the event loop's executor).

        The snapshot is taken by :meth:`snapshot` on the loop first.
        """
        return build_gazetteer(self._loading, directory)

    def snapshot(self) -> None:
        """Fix the records the next :meth:`load` builds from (on the event loop)."""
        self._loading = tuple(self._records[name] for name in sorted(self._records))
        self.changed = False

    def loaded(self, directory: Path) -> None:
        """Record that the snapshot is in use."""
        self.source = "topic" if self._loading else str(directory)
        self.version = _version(self._loading)
        self.error = None

    def failed(self, error: str) -> None:
        """Record that the snapshot did not build (the gazetteer in use stays)."""
        self.error = error

    def view(self) -> dict[str, object]:
        """Where the gazetteer in use comes from, its version, and the last error."""
        return {"source": self.source, "version": self.version, "error": self.error}


def _version(records: tuple[GazetteerRecord, ...]) -> str | None:
    if not records:
        return None
    text = "\n".join(f"{r.name}@{r.version}" for r in records)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
