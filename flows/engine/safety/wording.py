"""The wording lint: finds diagnostic, scoring, advice and reassuring words in a flow's texts.

Every patient-facing text of a flow (step prompts and labels, option labels, scale ends, number
units, red-flag messages, screening confirm questions, every `messages` entry) is checked
against the deny-lists of `flows.engine.safety.wording_rules` (English) and
`flows.engine.safety.wording_rules_es` (Spanish), sentence by sentence, with accents folded
away (each character keeps its place, so quotes and spans are the text's own); workup
reasons are clinician-facing and only checked for claims about what a test proves. A finding is
allowed by a reviewed `wording_exceptions` entry naming the same place (a step id,
`messages.<key>` or `red_flags.<id>`; screening confirm questions belong to their flag) and a
phrase that overlaps the forbidden words; an exception that allows nothing is stale and is
itself a problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from flows.engine.format.fields import Text
from flows.engine.format.model import Flow
from flows.engine.format.problems import PathPart, Problem, SourceMap
from flows.engine.safety.wording_rules import RULES as RULES_EN
from flows.engine.safety.wording_rules import Rule
from flows.engine.safety.wording_rules_es import RULES_ES

RULES: tuple[Rule, ...] = (*RULES_EN, *RULES_ES)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
ADVICE_RULE = 7


@dataclass(frozen=True, slots=True)
class Finding:
    """Forbidden words in one text: the rule, the words to quote, and the decisive span."""

    rule: Rule
    quote: str
    span: tuple[int, int]  # the forbidden part (for rule 2, the condition name)


@dataclass(frozen=True, slots=True)
class _Place:
    """One text of a flow and where it lives."""

    where: str
    step: str | None
    path: tuple[PathPart, ...]
    text: str
    clinician: bool = False


def findings(text: str, *, clinician: bool = False) -> list[Finding]:
    """Every deny-list match in `text` (clinician texts: only the rules marked for them)."""
    found: dict[tuple[int, tuple[int, int]], Finding] = {}
    original = text.replace("’", "'")
    text = fold(original)
    for sentence in _SENTENCE.finditer(text):
        question = sentence.group().rstrip().endswith("?")
        for rule in RULES:
            if (question and not rule.questions) or (clinician and not rule.clinician):
                continue
            for finding in _matches(rule, text, original, sentence.start(), sentence.end()):
                found.setdefault((rule.number, finding.span), finding)
    return list(found.values())


def fold(text: str) -> str:
    """`text` without accents and with straight apostrophes, each character in its place."""
    text = text.replace("’", "'")
    if text.isascii():
        return text
    return "".join(unicodedata.normalize("NFKD", char)[0] for char in text)


def _matches(rule: Rule, text: str, original: str, start: int, end: int) -> Iterator[Finding]:
    """Matches in the folded `text`, quoted from the `original` (the same positions)."""
    for hit in rule.pattern.finditer(text, start, end):
        if rule.then is None:
            yield Finding(rule, original[hit.start() : hit.end()], hit.span())
            continue
        for follower in rule.then.finditer(text, hit.end(), end):
            yield Finding(rule, original[hit.start() : follower.end()], follower.span())


def lint(flow: Flow, source_map: SourceMap, file: str) -> list[Problem]:
    """Problems with the wording of every patient-facing text of `flow`."""
    used: set[int] = set()
    seen: set[str] = set()
    problems: list[Problem] = []
    for place in _places(flow):
        seen.add(place.where)
        for finding in findings(place.text, clinician=place.clinician):
            allowed = _allowing(flow, place, finding)
            if allowed is not None:
                used.add(allowed)
                continue
            problems.append(_problem(place, finding, source_map, file))
    for index, exception in enumerate(flow.wording_exceptions):
        # An exception naming an unknown place is the validator's problem, not a stale one.
        if index not in used and exception.where in seen:
            message = (
                f"wording exception for '{exception.phrase}' in {exception.where} "
                "allows nothing: remove it or correct its phrase"
            )
            problems.append(Problem(file, source_map.line(("wording_exceptions", index)), message))
    return problems


def diagnosis_words(flow: Flow, text: str) -> list[str]:
    """Words of a sent message that tie a condition to the patient (rule 2), less reviewed ones."""
    allowed = [fold(e.phrase).lower() for e in flow.wording_exceptions if e.phrase]
    lowered = fold(text).lower()
    spans = [m.span() for p in allowed for m in re.finditer(re.escape(p), lowered)]
    return [
        f.quote
        for f in findings(text)
        if f.rule.number == 2 and not any(a < f.span[1] and f.span[0] < b for a, b in spans)
    ]


def advice_words(text: str) -> list[str]:
    """Words of a sent message that give treatment, diet or medicine advice (rule 7)."""
    return [f.quote for f in findings(text) if f.rule.number == ADVICE_RULE]


def _allowing(flow: Flow, place: _Place, finding: Finding) -> int | None:
    """The index of an exception that allows `finding` at `place`, if any."""
    lowered = fold(place.text).lower()
    for index, exception in enumerate(flow.wording_exceptions):
        phrase = fold(exception.phrase).lower()
        if exception.where != place.where or not phrase:
            continue
        for hit in re.finditer(re.escape(phrase), lowered):
            if hit.start() < finding.span[1] and finding.span[0] < hit.end():
                return index
    return None


def _problem(place: _Place, finding: Finding, source_map: SourceMap, file: str) -> Problem:
    where = "" if place.step else f" (in {place.where})"
    message = f"wording (rule {finding.rule.number}): '{finding.quote}' {finding.rule.why}{where}"
    return Problem(file, source_map.line(place.path), message, place.step)


def _places(flow: Flow) -> Iterator[_Place]:
    """Every text the wording lint reads, with its place, step and source path."""
    yield from _texts("title", None, ("title",), flow.title)
    for step_id, step in flow.steps.items():
        base = ("steps", step_id)
        yield from _texts(step_id, step_id, (*base, "prompt"), step.prompt)
        if step.label is not None:
            yield from _texts(step_id, step_id, (*base, "label"), step.label)
        for key, text in _answer_texts(step.answer):
            yield from _texts(step_id, step_id, (*base, "answer", *key), text)
    for index, rule in enumerate(flow.red_flags):
        yield from _texts(
            f"red_flags.{rule.id}", None, ("red_flags", index, "message"), rule.message
        )
        if rule.after_end is not None:
            after = ("red_flags", index, "after_end")
            yield from _texts(f"red_flags.{rule.id}", None, after, rule.after_end)
    for index, phrase_rule in enumerate(flow.screening.red_flags):
        confirm = ("screening", "red_flags", index, "confirm")
        if phrase_rule.confirm is not None:
            where = f"screening.{phrase_rule.fact}"
            yield from _texts(where, None, confirm, phrase_rule.confirm)
    for name in type(flow.messages).model_fields:
        text = getattr(flow.messages, name)
        yield from _texts(f"messages.{name}", None, ("messages", name), text)
    for name, typed in flow.typed_messages:
        if typed is not None:
            yield from _texts(f"messages.{name}", None, ("typed_messages", name), typed)
    for index, hint in enumerate(flow.workup):
        reason = ("workup", index, "reason")
        yield from _texts(f"workup.{hint.panel}", None, reason, hint.reason, clinician=True)


def _answer_texts(answer: object) -> Iterator[tuple[tuple[PathPart, ...], Text]]:
    """The texts inside an answer spec: option labels, scale ends, a number's unit."""
    for index, option in enumerate(getattr(answer, "options", None) or ()):
        yield ("options", index, "label"), option.label
    for key in ("low", "high", "unit"):
        value = getattr(answer, key, None)
        if isinstance(value, str | dict):
            yield (key,), value


def _texts(
    where: str, step: str | None, path: tuple[PathPart, ...], text: Text, clinician: bool = False
) -> Iterator[_Place]:
    """One place per language of a `Text`."""
    if isinstance(text, str):
        yield _Place(where, step, path, text, clinician)
    else:
        for language, value in text.items():
            yield _Place(where, step, (*path, language), value, clinician)
