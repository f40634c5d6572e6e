"""What changed between two versions of a flow, as an operator reads it (`intake-bot flows diff`).

`diff_flows` lists steps, options, red flags, modifiers, workup hints, sections, texts
(`messages`, `typed_messages`) and screening phrases that were added (+), removed (-) or
changed (~), conditions in words. Each change of a step names it, so `changed_steps` tells
which steps an intake in progress could be sitting on when they change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.engine.format.conditions import Condition
from flows.engine.format.fields import Text
from flows.engine.format.model import Flow
from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, Step
from flows.workbench.words import condition_words

EXCERPT = 60


@dataclass(frozen=True)
class Change:
    """One difference: in which part, added / removed / changed, what, and how."""

    part: str
    sign: str
    name: str
    detail: str = ""
    step: str | None = None

    def line(self) -> str:
        """`~ age: prompt (en): 'How old...' -> 'What is your age?'`."""
        return f"{self.sign} {self.name}" + (f": {self.detail}" if self.detail else "")


def diff_flows(old: Flow, new: Flow) -> list[Change]:
    """Every difference from `old` to `new`, in flow order."""
    return [
        *_top(old, new),
        *_steps(old, new),
        *_keyed("red flags", _flags(old), _flags(new)),
        *_keyed("modifiers", _modifiers(old), _modifiers(new)),
        *_keyed("workup hints", _workup(old), _workup(new)),
        *_keyed("sections", _sections(old), _sections(new)),
        *_keyed("messages", _messages(old, "messages"), _messages(new, "messages")),
        *_keyed("typed messages", _messages(old, "typed"), _messages(new, "typed")),
        *_screening(old, new),
    ]


def changed_steps(changes: Iterable[Change]) -> set[str]:
    """Steps added, removed or changed (an intake sitting on one meets the change)."""
    return {change.step for change in changes if change.step is not None}


# --- parts as {name: {attribute: words}}, compared the same way ------------------------------

Described = dict[str, dict[str, str]]


def _keyed(
    part: str, old: Described, new: Described, step_of: Callable[[str], str] | None = None
) -> list[Change]:
    changes = []
    for name in [*old, *(n for n in new if n not in old)]:
        where = step_of(name) if step_of is not None else None
        if name not in new:
            changes.append(Change(part, "-", name, "", where))
        elif name not in old:
            changes.append(Change(part, "+", name, _summary(new[name]), where))
        else:
            for key, before in old[name].items():
                after = new[name].get(key, "")
                if after != before:
                    changes.append(Change(part, "~", name, _changed(key, before, after), where))
            for key in new[name].keys() - old[name].keys():
                changes.append(Change(part, "~", name, f"{key}: + {new[name][key]}", where))
    return changes


def _summary(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{key} {_cut(value)}" for key, value in list(attributes.items())[:2])


def _changed(key: str, before: str, after: str) -> str:
    if not before:
        return f"{key}: + {_cut(after)}"
    if not after:
        return f"{key}: - {_cut(before)}"
    pairs = enumerate(zip(before, after, strict=False))
    same = next((i for i, (a, b) in pairs if a != b), min(len(before), len(after)))
    start = max(0, same - EXCERPT // 3)
    return f"{key}: {_cut(before, start)} -> {_cut(after, start)}"


def _cut(text: str, start: int = 0) -> str:
    """At most EXCERPT characters of `text` from `start`, with … where cut."""
    head = "…" if start else ""
    tail = "…" if len(text) > start + EXCERPT else ""
    return head + text[start : start + EXCERPT] + tail


def _top(old: Flow, new: Flow) -> list[Change]:
    def described(flow: Flow) -> Described:
        return {
            "flow": {
                "title": _quoted(flow.title),
                "languages": ", ".join(flow.languages),
                "start": flow.start,
                "consent": f"{flow.consent.step} = {flow.consent.accept}",
            }
        }

    return _keyed("flow", described(old), described(new))


def _steps(old: Flow, new: Flow) -> list[Change]:
    steps = _keyed("steps", _step_words(old), _step_words(new), step_of=str)
    options = _keyed(
        "options", _options(old), _options(new), step_of=lambda name: name.split(".")[0]
    )
    return steps + options


def _step_words(flow: Flow) -> Described:
    return {step_id: _step(flow, step) for step_id, step in flow.steps.items()}


def _step(flow: Flow, step: Step) -> dict[str, str]:
    words = {
        "kind": step.kind,
        **_texts("prompt", step.prompt, flow),
        **_texts("label", step.label, flow),
        "section": step.section or "",
        "optional": "yes" if step.optional else "",
        "asked when": _when(step.ask_when, flow),
        "next": _next(step, flow),
    }
    spec = step.answer.model_dump(exclude={"kind", "options"}, exclude_none=True)
    for key, value in spec.items():
        words.update(_texts(key, value, flow) if isinstance(value, dict) else {key: str(value)})
    return words


def _options(flow: Flow) -> Described:
    found: Described = {}
    for step_id, step in flow.steps.items():
        if isinstance(step.answer, ChoiceAnswer | MultiAnswer):
            for option in step.answer.options:
                found[f"{step_id}.{option.value}"] = _texts("label", option.label, flow)
    return found


def _flags(flow: Flow) -> Described:
    return {
        rule.id: {
            "level": rule.level.value,
            "when": condition_words(rule.when, flow),
            **_texts("label", rule.label, flow),
            **_texts("message", rule.message, flow),
        }
        for rule in flow.red_flags
    }


def _modifiers(flow: Flow) -> Described:
    return {
        m.id: {
            "when": condition_words(m.when, flow),
            "flags": ", ".join(m.flags),
            "raise by": str(m.raise_by),
        }
        for m in flow.modifiers
    }


def _workup(flow: Flow) -> Described:
    return {
        hint.panel: {
            "when": condition_words(hint.when, flow),
            **_texts("label", hint.label, flow),
            **_texts("reason", hint.reason, flow),
        }
        for hint in flow.workup
    }


def _sections(flow: Flow) -> Described:
    return {section.id: _texts("title", section.title, flow) for section in flow.sections}


def _messages(flow: Flow, which: str) -> Described:
    model = flow.messages if which == "messages" else flow.typed_messages
    return {name: _texts("text", text, flow) for name, text in model if text is not None}


def _screening(old: Flow, new: Flow) -> list[Change]:
    """Phrases added and removed, per flag rule and language; the lists of question words."""
    changes = _keyed("screening", _confirms(old), _confirms(new))
    for name, before, after in _phrase_lists(old, new):
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        if added or removed:
            detail = ", ".join([*(f"+ {p!r}" for p in added), *(f"- {p!r}" for p in removed)])
            changes.append(Change("screening", "~", name, detail))
    for lang in old.screening.lexicon.keys() | new.screening.lexicon.keys():
        if old.screening.lexicon.get(lang) != new.screening.lexicon.get(lang):
            changes.append(Change("screening", "~", f"lexicon ({lang})", "changed"))
    return changes


def _confirms(flow: Flow) -> Described:
    return {
        f"phrases of {rule.fact}": _texts("confirm", rule.confirm, flow)
        for rule in flow.screening.red_flags
        if rule.confirm is not None
    }


def _phrase_lists(old: Flow, new: Flow) -> list[tuple[str, list[str], list[str]]]:
    def lists(flow: Flow) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for rule in flow.screening.red_flags:
            for kind, table in (("phrases", rule.phrases), ("unsure", rule.unsure)):
                for lang, phrases in table.items():
                    found.setdefault(f"{kind} of {rule.fact} ({lang})", []).extend(phrases)
        for name in (
            "negations",
            "diagnosis_seeking",
            "serious_seeking",
            "advice_seeking",
            "test_seeking",
        ):
            for lang, phrases in getattr(flow.screening, name).items():
                found[f"{name} ({lang})"] = phrases
        return found

    before, after = lists(old), lists(new)
    names = [*before, *(n for n in after if n not in before)]
    return [(name, before.get(name, []), after.get(name, [])) for name in names]


# --- words ---------------------------------------------------------------------------------


def _texts(key: str, text: Any, flow: Flow) -> dict[str, str]:
    """One entry per language: `prompt (en)`."""
    if text is None:
        return {}
    if isinstance(text, str):
        return {f"{key} ({flow.default_language})": _quoted(text)}
    return {f"{key} ({lang})": _quoted(value) for lang, value in text.items()}


def _quoted(text: Text | str) -> str:
    value = text if isinstance(text, str) else next(iter(text.values()), "")
    return " ".join(value.split())  # one line: whitespace folded


def _when(condition: Condition | None, flow: Flow) -> str:
    return condition_words(condition, flow) if condition is not None else ""


def _next(step: Step, flow: Flow) -> str:
    if step.next is None:
        return ""
    if isinstance(step.next, str):
        return step.next
    return "; ".join(
        f"{b.goto} if {condition_words(b.when, flow)}" if b.when is not None else b.goto
        for b in step.next
    )
