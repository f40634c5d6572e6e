"""Shared flow fixtures: a small valid flow file as YAML text, easy to seed with one mistake.

`flow_text` is the flow below (consent -> age -> symptoms -> severity (asked only with pain)
-> review -> done; declining consent ends at declined), with a `messages` block generated from
the `Messages` model so it stays complete when messages are added. Use
`flow_text.replace(old, new)` to change exactly one place and `flow_text.line_of(fragment)`
for the 1-based line a problem should point at. `mini_flow` is the same text loaded; tests
outside this package call `mini_flow_text()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from flows.engine.format.messages import Messages
from flows.engine.loading.loader import LoadedFlow, load_flow_text

MINI_FLOW = """\
# yaml-language-server: $schema=../flow.schema.json
id: mini
version: 1
title: Mini intake
languages: [en]
start: consent
consent: {step: consent, accept: agree}
steps:
  consent:
    prompt: This is an automated intake for the clinic. A clinician reads your answers.
    answer:
      kind: choice
      options:
        - {value: agree, label: I agree}
        - {value: decline, label: I do not agree}
    next:
      - {when: {answer: consent, equals: decline}, goto: declined}
      - {goto: age}
  age:
    prompt: How old are you?
    label: Age
    answer: {kind: number, min: 16, max: 110, unit: years}
    next: symptoms
  symptoms:
    prompt: Which of these do you notice?
    label: Symptoms
    answer:
      kind: multi
      options:
        - {value: bloating, label: Bloating}
        - {value: pain, label: Belly pain}
        - {value: none, label: None of these}
      none: none
    next: severity
  severity:
    prompt: How strong is the pain?
    label: Pain
    ask_when: {answer: symptoms, includes: pain}
    answer: {kind: scale, low: No pain, high: Worst pain}
    next: review
  review:
    prompt: Please check your answers.
    answer: {kind: review}
    next: done
  done:
    prompt: "Thank you. You can book the clinic's first step here: {booking_url}"
    answer: {kind: end}
  declined:
    prompt: You chose not to go on. Nothing was stored.
    answer: {kind: end, outcome: declined}
red_flags:
  - id: severe_pain
    level: same_day
    when: {all: [{answer: severity, gte: 9}, {answer: age, gte: 50}]}
    label: Severe pain
    message: Please see a doctor today. If it gets worse, call {emergency_number}.
messages:
"""


def _messages_block() -> str:
    """One `key: text` line per message, with the placeholders its description documents."""
    lines = []
    for name, info in Messages.model_fields.items():
        placeholders = " ".join(re.findall(r"\{\w+\}", info.description or ""))
        lines.append(f'  {name}: "{name.replace("_", " ").capitalize()} {placeholders}"'.rstrip())
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FlowText:
    """A flow file's text with helpers to seed one mistake and find lines."""

    text: str

    def replace(self, old: str, new: str) -> FlowText:
        """A copy with the single occurrence of `old` replaced by `new`."""
        assert self.text.count(old) == 1, f"{old!r} occurs {self.text.count(old)} times"
        return FlowText(self.text.replace(old, new))

    def line_of(self, fragment: str, *, after: str | None = None) -> int:
        """The 1-based line of the one line containing `fragment` (or the first after `after`)."""
        start = self.line_of(after) if after is not None else 0
        lines = self.text.splitlines()
        found = [n for n, line in enumerate(lines, 1) if fragment in line and n > start]
        assert found, f"{fragment!r} not found"
        assert after is not None or len(found) == 1, f"{fragment!r} on lines {found}"
        return found[0]


def mini_flow_text() -> FlowText:
    """The small valid flow file as text (for tests outside tests/flows)."""
    return FlowText(MINI_FLOW + _messages_block())


@pytest.fixture
def flow_text() -> FlowText:
    """The small valid flow file as text."""
    return mini_flow_text()


@pytest.fixture
def mini_flow(flow_text: FlowText) -> LoadedFlow:
    """The small valid flow, loaded."""
    return load_flow_text(flow_text.text, file="mini.yaml")
