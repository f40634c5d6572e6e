"""Interpretation of structured conditions over a map of answers (never evaluated as code).

An unanswered or skipped step makes every comparison false, except `answered: false`.
`settled` reads a condition before every answer is in: a comparison on a step that may still
be answered is unknown (None), and `all` / `any` / `not` combine unknowns the three-valued way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from flows.engine.format.model import AllOf, AnyOf, Compare, Condition, NotOf

Answers = Mapping[str, Any]


def holds(condition: Condition, answers: Answers) -> bool:
    """Whether `condition` is true for these answers."""
    if isinstance(condition, AllOf):
        return all(holds(c, answers) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, answers) for c in condition.any)
    if isinstance(condition, NotOf):
        return not holds(condition.not_, answers)
    return _compare(condition, answers)


def settled(condition: Condition, answers: Answers, open_steps: Collection[str]) -> bool | None:
    """Whether `condition` holds, or None while a step in `open_steps` could still decide it."""
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        decisive = isinstance(condition, AnyOf)  # any: one True decides; all: one False
        results = [settled(part, answers, open_steps) for part in parts]
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if isinstance(condition, NotOf):
        inner = settled(condition.not_, answers, open_steps)
        return None if inner is None else not inner
    if condition.answer in open_steps and answers.get(condition.answer) is None:
        return None
    return _compare(condition, answers)


def referenced_steps(condition: Condition) -> Iterator[Compare]:
    """Every comparison inside a condition (for validation)."""
    if isinstance(condition, AllOf | AnyOf):
        for part in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from referenced_steps(part)
    elif isinstance(condition, NotOf):
        yield from referenced_steps(condition.not_)
    else:
        yield condition


def _compare(cmp: Compare, answers: Answers) -> bool:
    present = cmp.answer in answers and answers[cmp.answer] is not None
    if cmp.answered is not None:
        return present == cmp.answered
    if not present:
        return False
    value = answers[cmp.answer]
    if cmp.equals is not None:
        return bool(value == cmp.equals)
    if cmp.in_ is not None:
        return value in cmp.in_
    if cmp.includes is not None:
        return isinstance(value, list) and cmp.includes in value
    return _order(cmp, value)


def _order(cmp: Compare, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    number = float(value)
    return (
        (cmp.gt is not None and number > cmp.gt)
        or (cmp.gte is not None and number >= cmp.gte)
        or (cmp.lt is not None and number < cmp.lt)
        or (cmp.lte is not None and number <= cmp.lte)
    )
