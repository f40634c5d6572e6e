"""The committed JSON Schemas of flow files and scenario files match the pydantic models."""

from __future__ import annotations

import json

from flows.engine.format.schema import SCHEMA_PATH, flow_json_schema, render_schema
from flows.workbench.scenario import SCENARIO_SCHEMA_PATH, render_scenario_schema


def test_committed_schema_matches_the_models() -> None:
    """flows/flow.schema.json is exactly what the models generate."""
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_schema(), (
        "flows/flow.schema.json is out of date with the models in flows/engine/format/; "
        "regenerate it with `intake-bot flows schema`"
    )


def test_schema_names_its_dialect_and_the_flow_keys() -> None:
    """The schema declares its JSON Schema dialect and requires the top-level flow keys."""
    schema = flow_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"id", "version", "start", "steps", "consent", "messages"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_schema_uses_yaml_spellings() -> None:
    """Aliased keys appear as operators write them (`in`, `not`), not as Python names."""
    defs = json.loads(render_schema())["$defs"]
    assert "in" in defs["Compare"]["properties"]
    assert "not" in defs["NotOf"]["properties"]


def test_committed_scenario_schema_matches_the_models() -> None:
    """flows/scenario.schema.json is exactly what the scenario models generate."""
    committed = SCENARIO_SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_scenario_schema(), (
        "flows/scenario.schema.json is out of date; regenerate it with `intake-bot flows schema`"
    )
    schema = json.loads(committed)
    assert {"title", "answers", "expect"} <= set(schema["required"])
