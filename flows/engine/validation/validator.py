"""Structural checks of a flow (DESIGN §3), run by the loader after the models accept a file.

`validate` runs every check and returns all problems, sorted by line. The checks live by
concern: the step graph in `validator_graph`, conditions in `validator_conditions`, texts in
`validator_texts`; this module holds the checks of consent, options, ids, cross-references
and button payloads, and finally calls the wording lint (`flows.engine.safety.wording`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from flows.engine.conversation.buttons import (
    LARGEST_SESSION_ID,
    MAX_PAYLOAD_BYTES,
    Button,
    ButtonAction,
    encode,
)
from flows.engine.format.model import Flow
from flows.engine.format.problems import Problem, SourceMap
from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, NumberAnswer
from flows.engine.safety import wording
from flows.engine.validation.conditions import (
    check_facts,
    check_operators,
    check_order,
    check_references,
)
from flows.engine.validation.context import Context, YamlPath
from flows.engine.validation.graph import (
    check_dead_ends,
    check_gotos,
    check_next_shape,
    check_start,
    check_unreachable,
)
from flows.engine.validation.texts import (
    check_fallback_number,
    check_placeholders,
    check_screening_languages,
    check_translations,
)

Check = Callable[[Context], Iterator[Problem]]


def validate(flow: Flow, source_map: SourceMap, file: str) -> list[Problem]:
    """Every structural and wording problem of `flow`, sorted by line."""
    ctx = Context(flow, source_map, file)
    problems = [problem for check in CHECKS for problem in check(ctx)]
    problems.extend(wording.lint(flow, source_map, file))
    return sorted(problems, key=lambda problem: problem.line)


def check_consent(ctx: Context) -> Iterator[Problem]:
    """The consent step exists, is `start`, and is a choice offering the `accept` option."""
    consent = ctx.flow.consent
    step = ctx.flow.steps.get(consent.step)
    if step is None:
        yield ctx.problem(("consent", "step"), f"consent: unknown step '{consent.step}'")
        return
    if consent.step != ctx.flow.start:
        message = f"consent: step '{consent.step}' must be the start step ('{ctx.flow.start}')"
        yield ctx.problem(("consent", "step"), message)
    if not isinstance(step.answer, ChoiceAnswer):
        message = f"consent: step '{consent.step}' must be a choice, not {step.kind}"
        yield ctx.problem(("consent", "step"), message)
    else:
        options = [option.value for option in step.answer.options]
        for key, value in (("accept", consent.accept), ("decline", consent.decline)):
            if value is not None and value not in options:
                message = f"consent: '{value}' is not an option of step '{consent.step}'"
                yield ctx.problem(("consent", key), message)


def check_minimum_age(ctx: Context) -> Iterator[Problem]:
    """The minimum age names a number step."""
    minimum = ctx.flow.minimum_age
    if minimum is None:
        return
    step = ctx.flow.steps.get(minimum.step)
    if step is None or not isinstance(step.answer, NumberAnswer):
        message = f"minimum_age: '{minimum.step}' is not a number step"
        yield ctx.problem(("minimum_age", "step"), message)


def check_option_values(ctx: Context) -> Iterator[Problem]:
    """The option values of a choice or multi step are unique."""
    for step_id, step in ctx.flow.steps.items():
        if isinstance(step.answer, ChoiceAnswer | MultiAnswer):
            values = _values(step.answer)
            for index, value in enumerate(values):
                if value in values[:index]:
                    path = ("steps", step_id, "answer", "options", index, "value")
                    yield ctx.problem(path, f"duplicate option value '{value}'")


def check_multi_none(ctx: Context) -> Iterator[Problem]:
    """A multi step's exclusive `none` is one of its options."""
    for step_id, step in ctx.flow.steps.items():
        answer = step.answer
        if isinstance(answer, MultiAnswer) and answer.none not in (None, *_values(answer)):
            message = f"none: '{answer.none}' is not one of the options"
            yield ctx.problem(("steps", step_id, "answer", "none"), message)


def check_number_bounds(ctx: Context) -> Iterator[Problem]:
    """A number step's `min` is below its `max`."""
    for step_id, step in ctx.flow.steps.items():
        answer = step.answer
        if isinstance(answer, NumberAnswer) and answer.min >= answer.max:
            message = f"min ({answer.min}) must be less than max ({answer.max})"
            yield ctx.problem(("steps", step_id, "answer", "min"), message)


def _values(answer: ChoiceAnswer | MultiAnswer) -> list[str]:
    return [option.value for option in answer.options]


def check_ids(ctx: Context) -> Iterator[Problem]:
    """Red flags, modifiers, workup panels and sections each have unique ids."""
    groups = {
        "red_flags": ("id", [rule.id for rule in ctx.flow.red_flags]),
        "modifiers": ("id", [rule.id for rule in ctx.flow.modifiers]),
        "workup": ("panel", [hint.panel for hint in ctx.flow.workup]),
        "sections": ("id", [section.id for section in ctx.flow.sections]),
        "facts": ("id", [fact.id for fact in ctx.flow.facts]),
    }
    for group, (key, ids) in groups.items():
        counts = Counter(ids)
        for index, item in enumerate(ids):
            if counts[item] > 1 and item in ids[:index]:
                yield ctx.problem((group, index, key), f"{group}: duplicate {key} '{item}'")


def check_cross_references(ctx: Context) -> Iterator[Problem]:
    """Modifier and phrase flags name red flags; step sections name sections."""
    flags = {rule.id for rule in ctx.flow.red_flags}
    for index, modifier in enumerate(ctx.flow.modifiers):
        for position, flag in enumerate(modifier.flags):
            if flag not in flags:
                at: YamlPath = ("modifiers", index, "flags", position)
                yield ctx.problem(at, f"modifiers: unknown red flag '{flag}'")
    yield from check_facts(ctx)
    sections = {section.id for section in ctx.flow.sections}
    for step_id, step in ctx.flow.steps.items():
        if step.section is not None and step.section not in sections:
            yield ctx.problem(
                ("steps", step_id, "section"), f"section: unknown section '{step.section}'"
            )


def check_exception_targets(ctx: Context) -> Iterator[Problem]:
    """Each wording exception names an existing step, message or red flag."""
    flow = ctx.flow
    known = set(flow.steps)
    known |= {f"messages.{name}" for name in type(flow.messages).model_fields}
    known |= {f"red_flags.{rule.id}" for rule in flow.red_flags}
    known |= {f"screening.{rule.fact}" for rule in flow.screening.red_flags}
    for index, exception in enumerate(flow.wording_exceptions):
        if exception.where not in known:
            path = ("wording_exceptions", index, "where")
            yield ctx.problem(path, f"wording_exceptions: unknown place '{exception.where}'")


def check_payloads(ctx: Context) -> Iterator[Problem]:
    """Every button payload of every step fits Telegram's 64 bytes."""
    for step_index, (step_id, step) in enumerate(ctx.flow.steps.items()):
        for option_index in range(_button_count(step.answer)):
            button = Button(ButtonAction.TOGGLE, LARGEST_SESSION_ID, step_index, option_index)
            size = len(encode(button).encode())
            if size > MAX_PAYLOAD_BYTES:
                message = f"button payload of {size} bytes exceeds {MAX_PAYLOAD_BYTES}"
                yield ctx.problem(("steps", step_id, "answer"), message)
                break


def _button_count(answer: object) -> int:
    if isinstance(answer, ChoiceAnswer | MultiAnswer):
        return len(answer.options)
    kind = getattr(answer, "kind", "")
    return {"scale": 11, "yes_no": 2}.get(kind, 0)


CHECKS: tuple[Check, ...] = (
    check_start,
    check_consent,
    check_minimum_age,
    check_gotos,
    check_next_shape,
    check_unreachable,
    check_dead_ends,
    check_references,
    check_order,
    check_operators,
    check_option_values,
    check_multi_none,
    check_number_bounds,
    check_ids,
    check_cross_references,
    check_exception_targets,
    check_translations,
    check_screening_languages,
    check_placeholders,
    check_fallback_number,
    check_payloads,
)
