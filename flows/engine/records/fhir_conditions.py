"""A step's `ask_when` as FHIR `enableWhen`, and the check that a response respects it (pure).

Flow conditions mirror SDC `enableWhen`: one comparison, or `all` / `any` of comparisons
(`enableBehavior`), each possibly negated when it is an equality (`!=`). `in` becomes several
`=` entries with behavior `any`. A condition that FHIR cannot say (nesting, a negated order
comparison) is left out rather than approximated; so are conditions of a `next` branch, which
are routing, not enablement. Answers are typed by the item they refer to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.engine.format.conditions import AllOf, AnyOf, Compare, Condition, NotOf

Entry = dict[str, Any]
UCUM = "http://unitsofmeasure.org"
ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
NEGATED = {"=": "!=", "!=": "="}


def enable_when(condition: Condition, types: Mapping[str, str]) -> tuple[list[Entry], str | None]:
    """The `enableWhen` entries and `enableBehavior` of a condition; ([], None) when not sayable."""
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        entries = [_single(part, types) for part in parts]
        if any(e is None or len(e) != 1 for e in entries):
            return [], None
        flat = [e[0] for e in entries if e is not None]
        return flat, ("all" if isinstance(condition, AllOf) else "any")
    found = _single(condition, types)
    if found is None:
        return [], None
    return found, ("any" if len(found) > 1 else None)


def _single(condition: Condition, types: Mapping[str, str]) -> list[Entry] | None:
    if isinstance(condition, NotOf):
        inner = _single(condition.not_, types)
        if inner is None or len(inner) != 1 or inner[0]["operator"] not in NEGATED:
            return None
        return [{**inner[0], "operator": NEGATED[inner[0]["operator"]]}]
    if not isinstance(condition, Compare) or condition.answer not in types:
        return None
    kind = types[condition.answer]
    if condition.answered is not None:
        return [_entry(condition.answer, "exists", "boolean", condition.answered)]
    if condition.in_ is not None:
        return [_entry(condition.answer, "=", kind, v) for v in condition.in_]
    if condition.equals is not None:
        return [_entry(condition.answer, "=", kind, condition.equals)]
    if condition.includes is not None:
        return [_entry(condition.answer, "=", kind, condition.includes)]
    op = condition.operator
    return [_entry(condition.answer, ORDER[op], kind, getattr(condition, op))]


def _entry(question: str, operator: str, kind: str, value: Any) -> Entry:
    return {"question": question, "operator": operator, **answer_value(kind, value)}


def answer_value(kind: str, value: Any, *, prefix: str = "answer") -> dict[str, Any]:
    """A flow value as a typed FHIR answer (`answerCoding`, `valueInteger`, ...) of an item type."""
    if kind == "choice":
        return {f"{prefix}Coding": {"code": str(value)}}
    if kind == "boolean":
        return {f"{prefix}Boolean": value in ("yes", True)}
    if kind == "integer":
        return {f"{prefix}Integer": int(value)}
    if kind == "quantity":
        days = value.get("days", 0) if isinstance(value, dict) else value
        quantity = {"value": int(days), "unit": "days", "system": UCUM, "code": "d"}
        return {f"{prefix}Quantity": quantity}
    return {f"{prefix}String": str(value)}


def enabled(entries: list[Entry], behavior: str | None, answers: Mapping[str, list[Any]]) -> bool:
    """Whether an item is enabled, given each question's plain answer values."""
    results = [_holds(e, answers.get(e["question"], [])) for e in entries]
    return all(results) if behavior != "any" else any(results)


def _holds(entry: Entry, given: list[Any]) -> bool:
    operator = entry["operator"]
    if operator == "exists":
        return bool(given) is bool(entry["answerBoolean"])
    wanted = plain(next(v for k, v in entry.items() if k.startswith("answer")))
    if operator == "=":
        return wanted in given
    if operator == "!=":  # as the engine reads `not equals`: true when no answer is equal
        return wanted not in given
    compare = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
    return any(bool(compare[operator](float(g), float(wanted))) for g in given)


def plain(value: Any) -> Any:
    """The comparable core of a FHIR answer value: a code, number, boolean or string."""
    if isinstance(value, dict):  # a Quantity has a value, a Coding a code
        return value["value"] if "value" in value else value.get("code")
    return value
