"""Parsing of typed answers for every answer kind, and the answer shown back to the patient.

Bad input is not an exception: `parse` returns a `Rejected` carrying the friendly re-ask from
the flow's messages, and the engine asks the same question again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flows.engine.conversation.durations import parse_duration
from flows.engine.format.conditions import days_of
from flows.engine.format.model import Flow
from flows.engine.format.steps import (
    ChoiceAnswer,
    DurationAnswer,
    MultiAnswer,
    NumberAnswer,
    ScaleAnswer,
    Step,
    TextAnswer,
    YesNoAnswer,
)

# Typed-answer words of the languages the bundled flow ships (English, Spanish); labels and
# option names of any language come from the flow itself, and a flow's lexicon adds more.
YES_WORDS = frozenset({
    "yes", "y", "yeah", "yep", "yup", "ja", "sure", "correct", "true", "ok", "okay",
    "si", "sip", "claro", "vale", "correcto", "de acuerdo",
})  # fmt: skip
NO_WORDS = frozenset({"no", "n", "nope", "nah", "false", "never", "nunca", "para nada"})
POLITE = frozenset(
    {"please", "thanks", "thank", "you", "i", "do", "that", "s", "fine", "go", "ahead", "gracias"}
)
_SEPARATOR = re.compile(r"(\s*(?:,|;|\band\b|\by\b|&|\+)\s*)")
MAX_PARTS_PER_LABEL = 4  # an option label spans at most this many separated parts


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid answer: the value to store."""

    value: Any


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid answer: the message that asks again."""

    reason: str


Parsed = Accepted | Rejected


def parse(step: Step, text: str, flow: Flow, language: str | None = None) -> Parsed:
    """Parse typed `text` as an answer to `step`."""
    spec = step.answer
    raw = text.strip()
    if isinstance(spec, TextAnswer):
        return _parse_text(spec, raw, flow, language)
    if isinstance(spec, ChoiceAnswer):
        value = match_option(spec.options, raw, flow, language) or _consent_word(
            step, raw, flow, language
        )
        return Accepted(value) if value else Rejected(flow.message("invalid_choice", language))
    if isinstance(spec, MultiAnswer):
        return _parse_multi(spec, raw, flow, language)
    if isinstance(spec, YesNoAnswer):
        return _parse_yes_no(raw, flow, language)
    if isinstance(spec, ScaleAnswer):
        number = leading_int(raw, allow_out_of=10)
        ok = number is not None and 0 <= number <= 10
        return Accepted(number) if ok else Rejected(flow.message("invalid_scale", language))
    if isinstance(spec, NumberAnswer):
        number = leading_int(raw)
        if number is not None and spec.min <= number <= spec.max:
            return Accepted(number)
        return Rejected(flow.message("invalid_number", language, min=spec.min, max=spec.max))
    if isinstance(spec, DurationAnswer):
        days = parse_duration(raw)
        if days is not None and 0 < days_of(days) <= spec.max_days:
            return Accepted(days)
        return Rejected(flow.message("invalid_duration", language))
    return Rejected(flow.message("invalid_choice", language))


def normalise(text: str) -> str:
    """Lower case, no accents, single spaces, no surrounding punctuation."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'./,-]", " ", plain)).strip(" .,!?")


def match_option(options: list[Any], raw: str, flow: Flow, language: str | None) -> str | None:
    """The value of the option `raw` names: its number, value, label, or a unique label start."""
    wanted = normalise(raw)
    if not wanted:
        return None
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return str(options[int(wanted) - 1].value)
    starts = []
    for option in options:
        label = normalise(flow.text(option.label, language))
        names = {option.value, option.value.replace("_", " "), label, label.split(" (")[0]}
        if wanted in names:
            return str(option.value)
        if len(wanted) >= 3 and label.startswith(wanted):
            starts.append(str(option.value))
    return starts[0] if len(starts) == 1 else None


def describe(step: Step, value: Any, flow: Flow, language: str | None = None) -> str:
    """An answer as the patient (or a clinician) would read it."""
    spec = step.answer
    if isinstance(spec, ChoiceAnswer | MultiAnswer):
        labels = {o.value: flow.text(o.label, language) for o in spec.options}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in values)
    if isinstance(spec, YesNoAnswer):
        return flow.message("yes" if value == "yes" else "no", language)
    if isinstance(spec, ScaleAnswer):
        return f"{value}/10"
    if isinstance(spec, NumberAnswer) and spec.unit is not None:
        return f"{value} {flow.text(spec.unit, language)}"
    if isinstance(spec, DurationAnswer) and isinstance(value, dict):
        return str(value.get("said", ""))
    if isinstance(spec, DurationAnswer) and isinstance(value, int):
        return describe_days(value, flow, language)
    return str(value)


def describe_days(days: int, flow: Flow, language: str | None = None) -> str:
    """A number of days in the largest whole unit ("3 weeks"), in the flow's words."""
    for key, size in (("duration_years", 365), ("duration_months", 30), ("duration_weeks", 7)):
        if days >= size and days % size == 0:
            return counted(flow.message(key, language), days // size)
    return counted(flow.message("duration_days", language), days)


def counted(forms: str, n: int) -> str:
    """`forms` ('1 day|{n} days') for the count `n`: the first form for one, else the second."""
    one, _, more = forms.partition("|")
    return (one if n == 1 or not more else more).replace("{n}", str(n))


def _parse_text(spec: TextAnswer, raw: str, flow: Flow, language: str | None) -> Parsed:
    if not any(ch.isalnum() for ch in raw):  # empty, or only emoji and punctuation
        return Rejected(flow.message("text_empty", language))
    if len(raw) > spec.max_length:
        return Rejected(flow.message("text_too_long", language, max=spec.max_length))
    return Accepted(raw)


def _parse_multi(spec: MultiAnswer, raw: str, flow: Flow, language: str | None) -> Parsed:
    pieces = _SEPARATOR.split(raw)  # parts at even indexes, the separators between them at odd
    values: list[str] = []
    start = 0
    while start < len(pieces):
        value, start = _longest_option(spec, pieces, start, flow, language)
        if value is None:
            return Rejected(flow.message("invalid_multi", language))
        if value and value not in values:
            values.append(value)
    return check_multi(spec, values, flow, language)


def _longest_option(
    spec: MultiAnswer, pieces: list[str], start: int, flow: Flow, language: str | None
) -> tuple[str | None, int]:
    """The option named by the most parts from `start` on (labels may hold "," or "and")."""
    if not pieces[start].strip():
        return "", start + 2
    last = min(len(pieces) - 1, start + 2 * (MAX_PARTS_PER_LABEL - 1))
    for end in range(last, start - 1, -2):
        value = match_option(spec.options, "".join(pieces[start : end + 1]), flow, language)
        if value is not None:
            return value, end + 2
    return None, start + 2


def check_multi(spec: MultiAnswer, values: list[str], flow: Flow, language: str | None) -> Parsed:
    """A multi-select answer is valid when not empty and "none" stands alone."""
    if not values:
        return Rejected(flow.message("invalid_multi", language))
    if spec.none is not None and spec.none in values and len(values) > 1:
        return Rejected(flow.message("invalid_multi_none", language))
    order = [o.value for o in spec.options]
    return Accepted(sorted(values, key=order.index))


def yes_or_no(raw: str, flow: Flow, language: str | None) -> str | None:
    """'yes' or 'no' for a typed yes- or no-word ('yep', 'ok sure', 'no thanks'), else None."""
    lexicon = flow.screening.lexicon.get(language or flow.default_language)
    yes = {*YES_WORDS, normalise(flow.message("yes", language)), "1"}
    no = {*NO_WORDS, normalise(flow.message("no", language)), "2"}
    if lexicon is not None:
        yes |= {normalise(w) for w in lexicon.yes_words}
        no |= {normalise(w) for w in lexicon.no_words}
    text = normalise(raw)
    if text in yes or text in no:
        return "yes" if text in yes else "no"
    said = set(re.findall(r"[\w']+", text.replace("'", " ")))
    if said & yes and not said & no and said <= yes | POLITE | {"agree"}:
        return "yes"
    if said & no and not said & yes and said <= no | POLITE | {"way"}:
        return "no"
    return None


def _consent_word(step: Step, raw: str, flow: Flow, language: str | None) -> str | None:
    """At the consent step, a yes-word accepts and a no-word declines."""
    consent = flow.consent
    if flow.steps.get(consent.step) is not step:
        return None
    word = yes_or_no(raw, flow, language)
    if word == "yes":
        return consent.accept
    return consent.decline if word == "no" else None


def _parse_yes_no(raw: str, flow: Flow, language: str | None) -> Parsed:
    word = yes_or_no(raw, flow, language)
    if word is not None:
        return Accepted(word)
    return Rejected(flow.message("invalid_yes_no", language))


def leading_int(raw: str, allow_out_of: int | None = None) -> int | None:
    """The whole number a text starts with ("34", "34 years old", "7/10"), or None."""
    out_of = rf"(?:\s*(?:/|out of|of)\s*{allow_out_of})?" if allow_out_of else ""
    # words may follow the number ("34 years old"), more numbers may not ("34 or 35")
    match = re.match(rf"^(-?\d+){out_of}\s*[a-z' ]*$", normalise(raw))
    return int(match[1]) if match else None
