"""Checks of conditions: which steps they test, when, and with which operator.

Conditions appear in `next` branches and `ask_when` (evaluated during the intake, so the step
they test must always be answered before: it must dominate the step) and in `red_flags`,
`modifiers` and `workup` (evaluated on whatever was answered, so any existing step will do).
Operators must suit the tested step's answer kind, and compared values must be ones that
answer can have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from flows.engine.format.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FactCheck,
    NotOf,
    Scalar,
)
from flows.engine.format.model import Flow
from flows.engine.format.problems import Problem
from flows.engine.format.steps import Step
from flows.engine.validation.context import Context, YamlPath
from flows.engine.validation.graph import dominators

Scope = Literal["next", "ask_when", "anywhere"]
ORDERED = frozenset({"number", "scale", "duration"})
NO_VALUE = frozenset({"text", "info", "review", "end"})


@dataclass(frozen=True)
class Site:
    """One comparison in a flow, where it is written, and when it is evaluated."""

    compare: Compare
    path: YamlPath
    scope: Scope
    owner: str | None  # the step whose `next` or `ask_when` holds it


def sites(flow: Flow) -> Iterator[Site]:
    """Every comparison of every condition of `flow`."""
    for step_id, step in flow.steps.items():
        if step.ask_when is not None:
            yield from _walk(step.ask_when, ("steps", step_id, "ask_when"), "ask_when", step_id)
        if isinstance(step.next, list):
            for index, branch in enumerate(step.next):
                if branch.when is not None:
                    path: YamlPath = ("steps", step_id, "next", index, "when")
                    yield from _walk(branch.when, path, "next", step_id)
    for index, rule in enumerate(flow.red_flags):
        yield from _walk(rule.when, ("red_flags", index, "when"), "anywhere", None)
    for index, modifier in enumerate(flow.modifiers):
        yield from _walk(modifier.when, ("modifiers", index, "when"), "anywhere", None)
    for index, hint in enumerate(flow.workup):
        yield from _walk(hint.when, ("workup", index, "when"), "anywhere", None)
    for index, fact in enumerate(flow.facts):
        if fact.answers is not None:
            yield from _walk(fact.answers, ("facts", index, "answers"), "anywhere", None)


def fact_sites(flow: Flow) -> Iterator[tuple[FactCheck, YamlPath, bool]]:
    """Every `{fact: id}` of every condition, with its path and whether facts may go there."""
    places: list[tuple[Condition, YamlPath, bool]] = []
    for step_id, step in flow.steps.items():
        if step.ask_when is not None:
            places.append((step.ask_when, ("steps", step_id, "ask_when"), False))
        for index, branch in enumerate(step.next if isinstance(step.next, list) else []):
            if branch.when is not None:
                places.append((branch.when, ("steps", step_id, "next", index, "when"), False))
    places += [(r.when, ("red_flags", i, "when"), True) for i, r in enumerate(flow.red_flags)]
    places += [(m.when, ("modifiers", i, "when"), True) for i, m in enumerate(flow.modifiers)]
    places += [(h.when, ("workup", i, "when"), False) for i, h in enumerate(flow.workup)]
    places += [
        (f.answers, ("facts", i, "answers"), False)
        for i, f in enumerate(flow.facts)
        if f.answers is not None
    ]
    for condition, path, allowed in places:
        for found, where in _fact_walk(condition, path):
            yield found, where, allowed


def _fact_walk(condition: Condition, path: YamlPath) -> Iterator[tuple[FactCheck, YamlPath]]:
    if isinstance(condition, FactCheck):
        yield condition, path
    elif isinstance(condition, AllOf | AnyOf):
        key, parts = (
            ("all", condition.all) if isinstance(condition, AllOf) else ("any", condition.any)
        )
        for index, part in enumerate(parts):
            yield from _fact_walk(part, (*path, key, index))
    elif isinstance(condition, NotOf):
        yield from _fact_walk(condition.not_, (*path, "not"))


def check_facts(ctx: Context) -> Iterator[Problem]:
    """Facts are declared once and used only in red flags and modifiers; phrases name facts."""
    declared = {fact.id for fact in ctx.flow.facts}
    for found, path, allowed in fact_sites(ctx.flow):
        if found.fact not in declared:
            yield ctx.problem((*path, "fact"), f"condition refers to unknown fact '{found.fact}'")
        elif not allowed:
            message = f"fact '{found.fact}' can only be tested in red_flags and modifiers"
            yield ctx.problem((*path, "fact"), message)
    for index, rule in enumerate(ctx.flow.screening.red_flags):
        at: YamlPath = ("screening", "red_flags", index)
        if rule.fact not in declared:
            yield ctx.problem((*at, "fact"), f"screening: unknown fact '{rule.fact}'")
        # a negation a few words away turns a sure phrase into a question: every fact needs one
        if not any(r.confirm for r in ctx.flow.screening.red_flags if r.fact == rule.fact):
            message = f"screening: '{rule.fact}' has no confirm question in any of its rules"
            yield ctx.problem(at, message)


def _walk(condition: Condition, path: YamlPath, scope: Scope, owner: str | None) -> Iterator[Site]:
    if isinstance(condition, Compare):
        yield Site(condition, path, scope, owner)
    elif isinstance(condition, AllOf | AnyOf):
        key, parts = (
            ("all", condition.all) if isinstance(condition, AllOf) else ("any", condition.any)
        )
        for index, part in enumerate(parts):
            yield from _walk(part, (*path, key, index), scope, owner)
    elif isinstance(condition, NotOf):
        yield from _walk(condition.not_, (*path, "not"), scope, owner)


def check_references(ctx: Context) -> Iterator[Problem]:
    """Every condition tests an existing step."""
    for site in sites(ctx.flow):
        if site.compare.answer not in ctx.flow.steps:
            message = f"condition refers to unknown step '{site.compare.answer}'"
            yield ctx.problem((*site.path, "answer"), message)


def check_order(ctx: Context) -> Iterator[Problem]:
    """`next` and `ask_when` conditions test only steps always answered before."""
    dom = dominators(ctx.flow)
    for site in sites(ctx.flow):
        tested, owner = site.compare.answer, site.owner
        if owner is None or owner not in dom or tested not in ctx.flow.steps:
            continue
        before = dom[owner] - {owner} if site.scope == "ask_when" else dom[owner]
        if tested not in before:
            message = (
                f"{site.scope} of '{owner}' tests '{tested}', "
                f"which is not always answered before it"
            )
            yield ctx.problem((*site.path, "answer"), message)


def check_operators(ctx: Context) -> Iterator[Problem]:
    """Each operator suits the answer kind of the step it tests, with values it can have."""
    for site in sites(ctx.flow):
        step = ctx.flow.steps.get(site.compare.answer)
        if step is None:
            continue
        message = operator_problem(site.compare, step)
        if message is not None:
            key = "in" if site.compare.operator == "in" else site.compare.operator
            yield ctx.problem((*site.path, key), message)


def operator_problem(compare: Compare, step: Step) -> str | None:
    """What is wrong with testing `step`'s answer with `compare`, or None."""
    op, kind, name = compare.operator, step.kind, compare.answer
    if op == "answered":
        return None
    if kind in NO_VALUE:
        return f"'{name}' is a {kind} step: only 'answered' can test it, not '{op}'"
    if op == "includes":
        if kind != "multi":
            return f"'includes' needs a multi step; '{name}' is {kind}"
        return _values_problem([compare.includes or ""], step, name)
    if op in ("gt", "gte", "lt", "lte"):
        if kind not in ORDERED:
            return f"'{op}' needs a number, scale or duration step; '{name}' is {kind}"
        return None
    values: list[Scalar | None] = [compare.equals] if op == "equals" else [*(compare.in_ or [])]
    return _values_problem(values, step, name)


def _values_problem(values: list[Scalar | None], step: Step, name: str) -> str | None:
    kind = step.kind
    if kind in ("choice", "multi"):
        options = [option.value for option in getattr(step.answer, "options", [])]
        for value in values:
            if value not in options:
                return f"{value!r} is not an option of '{name}' (options: {', '.join(options)})"
    elif kind == "yes_no":
        for value in values:
            if value not in ("yes", "no"):
                return f"'{name}' is answered yes or no, not {value!r}"
    elif kind in ORDERED:
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"'{name}' is answered with a number, not {value!r}"
    return None
