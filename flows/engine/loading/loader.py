"""Loading flow files: YAML text to a validated `Flow`, or a `FlowError` listing every problem.

Loading is data only: the YAML is parsed into plain dicts, lists and scalars (never Python
objects), validated against the pydantic models of `flows.engine.format` (`Flow`), then checked by
`flows.engine.validation.validator`. Each problem carries the file, the 1-based line of the
most specific key, and the step it concerns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.cache import FlowCache
from flows.engine.loading.schema_errors import schema_problems
from flows.engine.loading.yaml_lines import LineMap, parse_yaml
from flows.engine.validation.validator import validate


@dataclass(frozen=True)
class LoadedFlow:
    """A valid flow with the exact text it came from."""

    flow: Flow
    source: str
    digest: str  # sha256 of `source`, hex
    file: str


def load_flow_file(path: Path, cache: FlowCache | None = None) -> LoadedFlow:
    """Load and validate the flow file at `path`; raise `FlowError` with every problem.

    With a `cache`, a text that passed every check before is read back from it instead.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlowError(
            [Problem(file, 1, "cannot read the flow file: it does not exist")]
        ) from None
    except IsADirectoryError:
        raise FlowError(
            [Problem(file, 1, "cannot read the flow file: it is a directory")]
        ) from None
    except UnicodeDecodeError:
        raise FlowError([Problem(file, 1, "cannot read the flow file: it is not UTF-8")]) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise FlowError([Problem(file, 1, f"cannot read the flow file: {reason}")]) from None
    return load_flow_text(text, file=file, cache=cache)


def load_flow_text(text: str, *, file: str, cache: FlowCache | None = None) -> LoadedFlow:
    """Load and validate flow YAML `text`, naming it `file` in problems."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    cached = cache.get(digest) if cache is not None else None
    if cached is not None:
        return LoadedFlow(flow=cached, source=text, digest=digest, file=file)
    flow, lines = read_flow_text(text, file=file)
    problems = validate(flow, lines, file)
    if problems:
        raise FlowError(problems)
    if cache is not None:
        cache.put(digest, flow)
    return LoadedFlow(flow=flow, source=text, digest=digest, file=file)


def read_flow_text(text: str, *, file: str) -> tuple[Flow, LineMap]:
    """The flow model of `text` and its line map, before the structural checks.

    Tools that work on unfinished flows (a translation in progress) read them this way; only
    YAML and schema problems raise `FlowError`.
    """
    parsed = parse_yaml(text, file=file)
    if parsed.problems:
        raise FlowError(parsed.problems)
    if not isinstance(parsed.data, dict):
        raise FlowError([Problem(file, 1, "a flow file must be a mapping (id, version, steps...)")])
    try:
        return Flow.model_validate(parsed.data), parsed.lines
    except ValidationError as error:
        raise FlowError(schema_problems(error, parsed.data, parsed.lines, file)) from None


def load_flows_dir(directory: Path, cache: FlowCache | None = None) -> dict[str, LoadedFlow]:
    """Every `*.yaml` flow in `directory`, by flow id (the newest version of each id)."""
    loaded: list[LoadedFlow] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            loaded.append(load_flow_file(path, cache))
        except FlowError as error:
            problems.extend(error.problems)
    problems.extend(duplicate_problems(loaded))
    if problems:
        raise FlowError(problems)
    newest: dict[str, LoadedFlow] = {}
    for item in sorted(loaded, key=lambda item: item.flow.version):
        newest[item.flow.id] = item
    return newest


def duplicate_problems(flows: list[LoadedFlow]) -> list[Problem]:
    """A problem for each flow whose id and version an earlier file already defines."""
    seen: dict[tuple[str, int], LoadedFlow] = {}
    problems: list[Problem] = []
    for item in flows:
        key = (item.flow.id, item.flow.version)
        first = seen.setdefault(key, item)
        if first is not item:
            line = parse_yaml(item.source, file=item.file).lines.line(("version",))
            problems.append(
                Problem(
                    item.file,
                    line,
                    f"flow '{key[0]}' version {key[1]} is also defined in {first.file}",
                )
            )
    return problems
