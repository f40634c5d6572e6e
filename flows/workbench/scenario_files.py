"""Reading scenario files: YAML with line numbers to validated `Scenario`s, or problems.

Uses the flow loader's line-numbered YAML and its readable pydantic errors, so a mistake in a
scenario file is reported like one in a flow file: `file:line: what is wrong`. A folder holds
one scenario per `*.yaml` file and, optionally, `_defaults.yaml` (answers by step id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from flows.engine.format.problems import PathPart, Problem
from flows.engine.loading.schema_errors import schema_problems
from flows.engine.loading.yaml_lines import LineMap, parse_yaml
from flows.workbench.scenario import COMMANDS, DEFAULTS_FILE, Defaults, Scenario

_DEFAULTS = TypeAdapter(Defaults)


@dataclass(frozen=True)
class LoadedScenario:
    """A valid scenario with the file and lines it came from."""

    name: str
    file: str
    scenario: Scenario
    lines: LineMap

    def line(self, *path: PathPart) -> int:
        """The line of a path in the file (`("answers", 3)`)."""
        return self.lines.line(path)


@dataclass
class ScenarioSet:
    """The scenarios of one flow id, their defaults, and what could not be read."""

    folder: Path
    scenarios: list[LoadedScenario] = field(default_factory=list)
    defaults: Defaults = field(default_factory=dict)
    defaults_file: str = ""
    defaults_lines: LineMap = field(default_factory=LineMap)
    problems: list[Problem] = field(default_factory=list)


def load_defaults(folder: Path) -> ScenarioSet:
    """The `_defaults.yaml` of `folder` (no scenarios)."""
    found = ScenarioSet(folder)
    defaults = folder / DEFAULTS_FILE
    if defaults.is_file():
        _load_defaults(defaults, found)
    return found


def load_scenarios(folder: Path) -> ScenarioSet:
    """Every scenario in `folder` (sorted by file name) and its `_defaults.yaml`."""
    found = load_defaults(folder)
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        loaded = load_scenario(path, found.problems)
        if loaded is not None:
            found.scenarios.append(loaded)
    return found


def load_scenario(path: Path, problems: list[Problem]) -> LoadedScenario | None:
    """One scenario file, or None with its problems appended to `problems`."""
    data, lines = _read(path, problems)
    if data is None:
        return None
    file = str(path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems.extend(schema_problems(error, data, lines, file))
        return None
    mistakes = list(_command_problems(scenario, lines, file))
    problems.extend(mistakes)
    return None if mistakes else LoadedScenario(path.stem, file, scenario, lines)


def _load_defaults(path: Path, into: ScenarioSet) -> None:
    data, lines = _read(path, into.problems)
    if data is None:
        return
    try:
        into.defaults = _DEFAULTS.validate_python(data)
    except ValidationError as error:
        into.problems.extend(schema_problems(error, data, lines, str(path)))
        return
    into.defaults_file, into.defaults_lines = str(path), lines


def _read(path: Path, problems: list[Problem]) -> tuple[Any, LineMap]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(file, 1, f"cannot read the scenario file ({type(error).__name__})"))
        return None, LineMap()
    parsed = parse_yaml(text, file=file)
    if parsed.problems:
        problems.extend(parsed.problems)
        return None, parsed.lines
    if not isinstance(parsed.data, dict):
        problems.append(Problem(file, 1, "a scenario file must be a mapping (title, answers...)"))
        return None, parsed.lines
    return parsed.data, parsed.lines


def _command_problems(scenario: Scenario, lines: LineMap, file: str) -> list[Problem]:
    """Plain entries and answers that start with `/` must be known commands."""
    problems = []
    for index, entry in enumerate(scenario.answers):
        values = list(entry.values()) if isinstance(entry, dict) else [entry]
        for value in values:
            if isinstance(value, str) and value.startswith("/") and value not in COMMANDS:
                known = ", ".join(COMMANDS)
                message = f"answers.{index}: unknown command '{value}' (known: {known})"
                problems.append(Problem(file, lines.line(("answers", index)), message))
    return problems
