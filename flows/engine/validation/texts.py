"""Checks of a flow's texts: every language present, and only known placeholders.

`texts` finds every patient- or clinician-facing `Text` field of a flow by reading the
models' field types, so a text field added to a model of `flows.engine.format` is checked without a
change here. Placeholders (`{booking_url}`) are filled by the engine; a name it does not fill would
reach the patient as literal braces, so only documented names are allowed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

from pydantic import BaseModel

from flows.engine.format.fields import Text
from flows.engine.format.messages import Messages
from flows.engine.format.problems import Problem
from flows.engine.validation.context import Context, YamlPath, dotted

TEXT_TYPES = (Text, Text | None)
PROMPT_PLACEHOLDERS = frozenset({"booking_url", "emergency_number"})


def texts(model: BaseModel, path: YamlPath = ()) -> Iterator[tuple[YamlPath, Text]]:
    """Every `Text` value inside `model`, with its YAML path."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = info.alias or name
        if value is None:
            continue
        if info.annotation in TEXT_TYPES:
            yield (*path, key), value
        else:
            yield from _nested_texts(value, (*path, key))


def _nested_texts(value: object, path: YamlPath) -> Iterator[tuple[YamlPath, Text]]:
    if isinstance(value, BaseModel):
        yield from texts(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nested_texts(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nested_texts(item, (*path, key))


def check_translations(ctx: Context) -> Iterator[Problem]:
    """Every text has every language of the flow, and no other, and none is left empty."""
    languages = ctx.flow.languages
    for path, text in texts(ctx.flow):
        if isinstance(text, str):
            if len(languages) > 1:
                wanted = ", ".join(languages)
                yield ctx.problem(path, f"{dotted(path)}: needs one text per language ({wanted})")
            if not text.strip():
                yield ctx.problem(path, f"{dotted(path)}: the text is empty")
            continue
        for missing in [lang for lang in languages if lang not in text]:
            yield ctx.problem(path, f"{dotted(path)}: missing translation '{missing}'")
        for extra in [lang for lang in text if lang not in languages]:
            message = f"{dotted(path)}: language '{extra}' is not in the flow's languages"
            yield ctx.problem((*path, extra), message)
        for empty in [lang for lang, value in text.items() if not value.strip()]:
            yield ctx.problem((*path, empty), f"{dotted(path)}: the '{empty}' text is empty")


def check_screening_languages(ctx: Context) -> Iterator[Problem]:
    """Screening data exists for every language the flow screens, and only for its languages.

    Safety must not depend on the patient's language: a list the flow keeps for one language
    (red-flag and vaguer phrases, negations, questions, the lexicon) must exist for each.
    """
    screening = ctx.flow.screening
    languages = ctx.flow.languages
    tables: dict[str, Mapping[str, object]] = {
        "negations": screening.negations,
        "diagnosis_seeking": screening.diagnosis_seeking,
        "serious_seeking": screening.serious_seeking,
        "advice_seeking": screening.advice_seeking,
        "test_seeking": screening.test_seeking,
        "lexicon": screening.lexicon,
    }
    for name, table in tables.items():
        for extra in [lang for lang in table if lang not in languages]:
            path = ("screening", name, extra)
            yield ctx.problem(path, f"screening.{name}: language '{extra}' is not in languages")
        if any(table.values()):
            for missing in [lang for lang in languages if not table.get(lang)]:
                message = f"screening.{name}: nothing for language '{missing}'"
                yield ctx.problem(("screening", name), message)
    for index, rule in enumerate(screening.red_flags):
        for key, table in (("phrases", rule.phrases), ("unsure", rule.unsure)):
            at: YamlPath = ("screening", "red_flags", index, key)
            if key == "unsure" and not any(table.values()):
                continue
            for missing in [lang for lang in languages if not table.get(lang)]:
                kind = "phrases" if key == "phrases" else "unsure phrases"
                message = f"{dotted(at)}: no {kind} for language '{missing}'"
                yield ctx.problem(at, f"{message} (fact {rule.fact})")


def check_placeholders(ctx: Context) -> Iterator[Problem]:
    """Prompts, red-flag messages and `messages` use only the placeholders the engine fills."""
    for step_id, step in ctx.flow.steps.items():
        yield from _placeholders(
            ctx, ("steps", step_id, "prompt"), step.prompt, PROMPT_PLACEHOLDERS
        )
    for index, rule in enumerate(ctx.flow.red_flags):
        yield from _placeholders(
            ctx, ("red_flags", index, "message"), rule.message, PROMPT_PLACEHOLDERS
        )
        if rule.after_end is not None:
            path = ("red_flags", index, "after_end")
            yield from _placeholders(ctx, path, rule.after_end, PROMPT_PLACEHOLDERS)
    for name, info in Messages.model_fields.items():
        allowed = frozenset(re.findall(r"\{(\w+)\}", info.description or ""))
        yield from _placeholders(ctx, ("messages", name), getattr(ctx.flow.messages, name), allowed)
        typed = getattr(ctx.flow.typed_messages, name, None)
        if typed is not None:
            yield from _placeholders(ctx, ("typed_messages", name), typed, allowed)


def check_fallback_number(ctx: Context) -> Iterator[Problem]:
    """`messages.turn_failed` gives the emergency number: a failed turn is never silent on it."""
    text = ctx.flow.messages.turn_failed
    variants = [((), text)] if isinstance(text, str) else [((k,), v) for k, v in text.items()]
    for key, value in variants:
        if "{emergency_number}" not in value:
            path: YamlPath = ("messages", "turn_failed", *key)
            yield ctx.problem(path, f"{dotted(path)}: must include {{emergency_number}}")


def _placeholders(
    ctx: Context, path: YamlPath, text: Text, allowed: frozenset[str]
) -> Iterator[Problem]:
    variants = (
        [(path, text)] if isinstance(text, str) else [((*path, k), v) for k, v in text.items()]
    )
    for where, value in variants:
        message = placeholder_problem(value, allowed)
        if message is not None:
            yield ctx.problem(where, f"{dotted(path)}: {message}")


def placeholder_problem(value: str, allowed: frozenset[str]) -> str | None:
    """What is wrong with the `{placeholders}` of `value`, or None."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError:
        return "unbalanced braces (write {{ and }} for literal braces)"
    for name in fields:
        if name not in allowed:
            choices = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
            return f"unknown placeholder {{{name}}} (allowed here: {choices})"
    return None
