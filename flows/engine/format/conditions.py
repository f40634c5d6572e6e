"""Structured conditions: the models a flow writes them in (mirroring FHIR SDC enableWhen), and
their interpretation over answers and facts (never evaluated as code).

An unanswered or skipped step makes every comparison false, except `answered: false`.
`settled` reads a condition before every answer is in: a comparison on a step that may still
be answered is unknown (None), and `all` / `any` / `not` combine unknowns the three-valued way.
A `{fact: id}` holds when `facts(id)` says so; without a fact view (step routing) it is false.
`explain` says which comparisons and facts made a condition true, for the clinician's "why".
`compiled` turns a condition into a closure that gives what `holds` gives, without walking the
models on every call (a flow version compiles its conditions once).
A duration answer may be stored as days or as `{"days": n, "said": "..."}` (a phrase read by a
rule); comparisons read its days.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from flows.engine.format.fields import StepId, Strict

Scalar = str | int | float | bool


class Compare(Strict):
    """A test of one answer: exactly one operator key besides `answer`."""

    answer: StepId
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    includes: str | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    answered: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> Compare:
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(
                f"a condition on '{self.answer}' needs exactly one operator "
                f"(equals, in, includes, gt, gte, lt, lte, answered); found {len(ops)}"
            )
        return self

    def operators(self) -> list[str]:
        """Names of the operators set on this comparison."""
        names = ("equals", "in_", "includes", "gt", "gte", "lt", "lte", "answered")
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    @property
    def operator(self) -> str:
        """The one operator this comparison uses."""
        return self.operators()[0]


class FactCheck(Strict):
    """True when a symptom fact holds: said in free text (current, not denied, sure or
    confirmed) or asserted by a checklist answer (see `Fact.answers`)."""

    fact: StepId


class AllOf(Strict):
    """True when every condition is true."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    """True when at least one condition is true."""

    any: list[Condition] = Field(min_length=1)


class NotOf(Strict):
    """True when the condition is false."""

    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Condition = Compare | FactCheck | AllOf | AnyOf | NotOf

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()

Answers = Mapping[str, Any]
FactView = Callable[[str], bool]
Leaf = Compare | FactCheck
Check = Callable[[Answers, FactView | None], bool]


def holds(condition: Condition, answers: Answers, facts: FactView | None = None) -> bool:
    """Whether `condition` is true for these answers (and facts)."""
    if isinstance(condition, AllOf):
        return all(holds(c, answers, facts) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, answers, facts) for c in condition.any)
    if isinstance(condition, NotOf):
        return not holds(condition.not_, answers, facts)
    if isinstance(condition, FactCheck):
        return facts is not None and facts(condition.fact)
    return _compare(condition, answers)


def compiled(condition: Condition) -> Check:
    """A closure giving `holds(condition, answers, facts)` for `(answers, facts)`."""
    if isinstance(condition, AllOf | AnyOf):
        parts = tuple(
            compiled(c) for c in (condition.all if isinstance(condition, AllOf) else condition.any)
        )
        if isinstance(condition, AllOf):
            return lambda answers, facts: all(part(answers, facts) for part in parts)
        return lambda answers, facts: any(part(answers, facts) for part in parts)
    if isinstance(condition, NotOf):
        inner = compiled(condition.not_)
        return lambda answers, facts: not inner(answers, facts)
    if isinstance(condition, FactCheck):
        fact = condition.fact
        return lambda answers, facts: facts is not None and facts(fact)
    return _compiled_compare(condition)


def _compiled_compare(cmp: Compare) -> Check:
    step = cmp.answer
    if cmp.answered is not None:
        wanted = cmp.answered
        return lambda answers, facts: (answers.get(step) is not None) == wanted
    test = _value_test(cmp)

    def check(answers: Answers, facts: FactView | None) -> bool:
        value = answers.get(step)
        return value is not None and test(days_of(value))

    return check


def _value_test(cmp: Compare) -> Callable[[Any], bool]:
    """The operator of `cmp` applied to an answer's comparable core (see `_compare`)."""
    if cmp.equals is not None:
        equals = cmp.equals
        return lambda value: bool(value == equals)
    if cmp.in_ is not None:
        among = cmp.in_
        return lambda value: value in among
    if cmp.includes is not None:
        item = cmp.includes
        return lambda value: isinstance(value, list) and item in value
    return lambda value: _order(cmp, value)


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
    if isinstance(condition, FactCheck):
        return False  # facts never route (validation keeps them to red flags and modifiers)
    if condition.answer in open_steps and answers.get(condition.answer) is None:
        return None
    return _compare(condition, answers)


def explain(condition: Condition, answers: Answers, facts: FactView | None = None) -> list[Leaf]:
    """The comparisons and facts that make `condition` true (empty when it is false).

    For `any`, every true branch counts; for `all`, every part; a `not` adds nothing of its
    own (what is absent is not evidence).
    """
    if not holds(condition, answers, facts):
        return []
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        return [leaf for part in parts for leaf in explain(part, answers, facts)]
    if isinstance(condition, NotOf):
        return []
    return [condition]


def referenced_steps(condition: Condition) -> Iterator[Compare]:
    """Every comparison inside a condition (for validation)."""
    for leaf in leaves(condition):
        if isinstance(leaf, Compare):
            yield leaf


def referenced_facts(condition: Condition) -> Iterator[FactCheck]:
    """Every fact test inside a condition (for validation)."""
    for leaf in leaves(condition):
        if isinstance(leaf, FactCheck):
            yield leaf


def leaves(condition: Condition) -> Iterator[Leaf]:
    """Every comparison and fact test inside a condition."""
    if isinstance(condition, AllOf | AnyOf):
        for part in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from leaves(part)
    elif isinstance(condition, NotOf):
        yield from leaves(condition.not_)
    else:
        yield condition


def days_of(value: Any) -> Any:
    """The comparable core of an answer: the days of a duration read from a phrase."""
    if isinstance(value, dict) and "days" in value:
        return value["days"]
    return value


def _compare(cmp: Compare, answers: Answers) -> bool:
    present = cmp.answer in answers and answers[cmp.answer] is not None
    if cmp.answered is not None:
        return present == cmp.answered
    if not present:
        return False
    value = days_of(answers[cmp.answer])
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
