"""Write the JSON Schema of every message model to ``schemas/json/<name>.schema.json``.

Producers written in other languages validate against these files before
sending. They are generated from the pydantic models and committed; a unit
test fails when a model changes and the files were not regenerated:

    python -m schemas.export_json_schemas
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.alerts import Alert
from schemas.articles import Article
from schemas.audit import AuditEvent
from schemas.dead_letters import DeadLetter
from schemas.detections import Detection
from schemas.live_config import GazetteerRecord, ReceiverRecord, RoutesRecord
from schemas.rules import PackRecord, RuleSetMessage
from schemas.stories import GroupControl, StoryAssignment, StoryFence, StoryRequest

SCHEMA_DIR = Path(__file__).parent / "json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

MODELS: dict[str, type[BaseModel]] = {
    "article": Article,
    "detection": Detection,
    "alert": Alert,
    "dead_letter": DeadLetter,
    "rule_set_message": RuleSetMessage,
    "rule_pack_record": PackRecord,
    "audit_event": AuditEvent,
    "story_request": StoryRequest,
    "story_assignment": StoryAssignment,
    "story_fence": StoryFence,
    "group_control": GroupControl,
    "routes_record": RoutesRecord,
    "receiver_record": ReceiverRecord,
    "gazetteer_record": GazetteerRecord,
}
"""File stem -> model, for every message a topic carries."""


def render(model: type[BaseModel]) -> str:
    """Return the JSON Schema of ``model`` as the exact text committed for it."""
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    """Return every schema file path and the text it must hold."""
    return {SCHEMA_DIR / f"{name}.schema.json": render(model) for name, model in MODELS.items()}


def main() -> int:
    """Write the files that changed; print what was written."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path, text in expected_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
