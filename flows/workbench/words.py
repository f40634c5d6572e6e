"""Conditions and answers in words, for operators: `consent = No, thanks`, `age ≥ 50`.

Option values are shown by their labels (in the flow's default language), so a drawing or a
diff reads like the questions a patient sees.
"""

from __future__ import annotations

from flows.engine.format.conditions import AllOf, AnyOf, Compare, Condition, FactCheck, NotOf
from flows.engine.format.model import Flow
from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, YesNoAnswer

_ORDER = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def condition_words(condition: Condition, flow: Flow) -> str:
    """A condition as an operator reads it (`pregnant is Yes or I might be and age < 60`)."""
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        joiner = " and " if isinstance(condition, AllOf) else " or "
        return joiner.join(_grouped(part, flow) for part in parts)
    if isinstance(condition, NotOf):
        return f"not ({condition_words(condition.not_, flow)})"
    if isinstance(condition, FactCheck):
        return f"fact {_fact_words(condition.fact, flow)}"
    return _compare_words(condition, flow)


def _fact_words(fact_id: str, flow: Flow) -> str:
    """A fact by its label (its id when the flow does not declare it)."""
    try:
        return flow.text(flow.fact(fact_id).label)
    except KeyError:
        return fact_id


def _grouped(condition: Condition, flow: Flow) -> str:
    words = condition_words(condition, flow)
    return f"({words})" if isinstance(condition, AllOf | AnyOf) else words


def _compare_words(cmp: Compare, flow: Flow) -> str:
    step = cmp.answer
    operator = cmp.operator
    if operator == "equals":
        return f"{step} = {value_words(flow, step, cmp.equals)}"
    if operator == "in":
        choices = " or ".join(value_words(flow, step, value) for value in cmp.in_ or [])
        return f"{step} is {choices}"
    if operator == "includes":
        return f"{step} includes {value_words(flow, step, cmp.includes)}"
    if operator == "answered":
        return f"{step} answered" if cmp.answered else f"{step} not answered"
    number = getattr(cmp, operator)
    shown = int(number) if float(number).is_integer() else number
    return f"{step} {_ORDER[operator]} {shown}"


def value_words(flow: Flow, step_id: str, value: object) -> str:
    """An answer value as the patient saw it: an option's label, Yes / No, or the value."""
    step = flow.steps.get(step_id)
    spec = step.answer if step is not None else None
    if isinstance(spec, ChoiceAnswer | MultiAnswer):
        for option in spec.options:
            if option.value == value:
                return flow.text(option.label)
    if isinstance(spec, YesNoAnswer) and value in ("yes", "no"):
        return flow.message(str(value))
    return str(value)
