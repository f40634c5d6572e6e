"""Pydantic validation errors of a flow file, turned into problems an operator can act on.

Pydantic reports a failed union once per member (a condition that is neither a comparison nor
`all`/`any`/`not` gives four sets of errors). `schema_problems` keeps only the member that
fits the data, names paths the way the YAML spells them (`steps.age.answer`), and points each
problem at the line of the most specific key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from flows.engine.format.problems import PathPart, Problem, SourceMap

Loc = tuple[int | str, ...]

_PATTERNS = {
    r"^[a-z][a-z0-9_]*$": "an id (lowercase letters, digits and _, starting with a letter)",
    r"^[a-z0-9][a-z0-9_]*$": "an option value (lowercase letters, digits and _)",
    r"^[a-z]{2}(-[A-Z]{2})?$": "a language code like 'en' or 'pt-BR'",
}
_TAG_NAMES = {"str": "a text", "int": "a whole number", "float": "a number", "bool": "true/false"}


def schema_problems(
    error: ValidationError, data: Any, source_map: SourceMap, file: str
) -> list[Problem]:
    """One problem per distinct mistake in `error`, with the line of its key in `file`."""
    details = error.errors(include_url=False)
    chosen = _chosen_members(details, data)
    problems: list[Problem] = []
    for detail in details:
        if not _survives(detail["loc"], chosen):
            continue
        path, message = _describe(detail, data, chosen)
        step = str(path[1]) if len(path) > 1 and path[0] == "steps" else None
        problem = Problem(file, source_map.line(path), message, step)
        if problem not in problems:
            problems.append(problem)
    return sorted(problems, key=lambda problem: problem.line)


# --- union members ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    """The union member reported at a union point; `member` is None when none fits the data."""

    member: str | None
    members: tuple[str, ...]


def _chosen_members(details: list[ErrorDetails], data: Any) -> dict[Loc, _Verdict]:
    """For each union point (a loc prefix), the member tag whose errors are reported."""
    by_point: dict[Loc, dict[str, list[ErrorDetails]]] = defaultdict(lambda: defaultdict(list))
    for detail in details:
        for index in _tag_positions(detail, data):
            loc = detail["loc"]
            by_point[loc[:index]][str(loc[index])].append(detail)
    return {point: _choose(point, members) for point, members in by_point.items()}


def _choose(point: Loc, members: dict[str, list[ErrorDetails]]) -> _Verdict:
    fitting = {
        tag: errors
        for tag, errors in members.items()
        if not any(len(e["loc"]) == len(point) + 1 and e["type"].endswith("_type") for e in errors)
    }
    if not fitting:
        return _Verdict(None, tuple(members))
    depth = len(point) + 2  # errors about keys directly in the member's mapping

    def misfit(tag: str) -> int:
        direct = ("missing", "extra_forbidden")
        return sum(len(e["loc"]) == depth and e["type"] in direct for e in fitting[tag])

    return _Verdict(min(fitting, key=misfit), tuple(members))


def _survives(loc: Loc, chosen: Mapping[Loc, _Verdict]) -> bool:
    for index in range(len(loc)):
        verdict = chosen.get(loc[:index])
        if verdict is None or str(loc[index]) == verdict.member:
            continue
        # a union where no member fits: keep only the errors at the union point itself
        return verdict.member is None and len(loc) == index + 1
    return True


def _tag_positions(detail: ErrorDetails, data: Any) -> list[int]:
    """Indexes of `loc` entries that name a union member rather than a key or index."""
    positions: list[int] = []
    node = data
    loc = detail["loc"]
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if _has(node, part):
            node = node[part]
        elif not (last and (detail["type"] == "missing" or part == "[key]")):
            positions.append(index)
    return positions


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


# --- messages --------------------------------------------------------------------------------


def _describe(
    detail: ErrorDetails, data: Any, chosen: Mapping[Loc, _Verdict]
) -> tuple[tuple[PathPart, ...], str]:
    """The data path of an error and its message."""
    loc = detail["loc"]
    tags = set(_tag_positions(detail, data))
    path = tuple(part for index, part in enumerate(loc) if index not in tags and part != "[key]")
    verdict = chosen.get(loc[: max(tags)]) if tags else None
    if verdict is not None and verdict.member is None:
        names = list(dict.fromkeys(_tag_name(tag) for tag in verdict.members))
        return path, f"{_dotted(path)}: expected {' or '.join(names)}, got {_shown(detail)}"
    return path, _message(detail, path)


def _message(detail: ErrorDetails, path: tuple[PathPart, ...]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    where = _dotted(path)
    if kind == "extra_forbidden":
        return f"{_dotted(path[:-1]) or 'top level'}: unknown key '{path[-1]}'"
    if kind == "missing":
        return f"{_dotted(path[:-1]) or 'top level'}: missing key '{path[-1]}'"
    if kind == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"{where}: unknown answer kind '{ctx.get('tag')}' (choose one of {expected})"
    if kind == "union_tag_not_found":
        return f"{where}: missing key 'kind'"
    if kind == "string_pattern_mismatch":
        wanted = _PATTERNS.get(str(ctx.get("pattern")), f"matching {ctx.get('pattern')}")
        if detail["loc"][-1] == "[key]":
            return f"{_dotted(path[:-1])}: key '{detail['input']}' is not {wanted}"
        return f"{where}: '{detail['input']}' is not {wanted}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where}: expected a mapping, got {_shown(detail)}"
    if kind == "too_short":
        return f"{where}: needs at least {ctx.get('min_length')} item(s)"
    if kind == "value_error":
        return f"{where}: {detail['msg'].removeprefix('Value error, ')}"
    text = detail["msg"][:1].lower() + detail["msg"][1:]
    if kind.endswith(("_type", "_parsing")) or kind in ("enum", "literal_error"):
        text += f", got {_shown(detail)}"
    return f"{where}: {text}"


def _tag_name(tag: str) -> str:
    if tag.startswith(("dict[", "list[")):
        return "a list" if tag.startswith("list[") else "a mapping"
    return _TAG_NAMES.get(tag.removeprefix("constrained-"), "a mapping")


def _shown(detail: ErrorDetails) -> str:
    value = detail["input"]
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _dotted(path: tuple[PathPart, ...]) -> str:
    return ".".join(str(part) for part in path)
