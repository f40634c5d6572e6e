"""The JSON Schema of flow files, generated from the `Flow` model (never edited by hand).

Editors use it (`# yaml-language-server: $schema=../flow.schema.json` on a flow file's first
line) for completion and inline errors. `render_schema` is the exact committed text, so a test
and `intake-bot flows schema --check` can tell when the file has drifted from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.engine.format.model import Flow

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "flow.schema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "Gut-health intake flow"


def flow_json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow file, with its dialect and title."""
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = SCHEMA_TITLE
    return schema


def render_schema() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(flow_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the schema to `path` (by default `flows/flow.schema.json`)."""
    path.write_text(render_schema(), encoding="utf-8")
