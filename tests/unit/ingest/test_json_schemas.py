"""The committed JSON Schema files match the models they are generated from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.export_json_schemas import MODELS, SCHEMA_DIR, expected_files


@pytest.mark.parametrize(("path", "text"), sorted(expected_files().items()))
def test_schema_file_is_up_to_date(path: Path, text: str) -> None:
    """Each schemas/json file equals what the model generates; else run the exporter."""
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    assert committed == text, (
        f"{path} is out of date: run `python -m schemas.export_json_schemas` and commit it"
    )


def test_every_schema_file_belongs_to_a_model() -> None:
    """No stale schema file is left behind for a model that no longer exists."""
    names = {path.name for path in SCHEMA_DIR.glob("*.schema.json")}
    assert names == {f"{name}.schema.json" for name in MODELS}


def test_article_schema_forbids_extra_fields_and_requires_the_essentials() -> None:
    """The published Article schema is strict, as the model is."""
    schema = json.loads((SCHEMA_DIR / "article.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert {"id", "source", "title", "body"} <= set(schema["required"])
