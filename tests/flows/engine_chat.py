"""A test client for the pure engine: one `IntakeState` driven through `Conversation.handle`.

`EngineChat` types text and presses buttons of the current prompt the way an adapter would
(button actions carry the current step index), and keeps every outcome for assertions.
`small_flow()` is a small flow defined here with a branch, an `ask_when` step and an optional step.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from flows.engine.conversation.alerts import Outcome
from flows.engine.conversation.prompts import Placeholders
from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, Prompt, PromptKind
from flows.engine.format.messages import Messages
from flows.engine.format.model import Flow

PLACES = Placeholders(booking_url="https://book.test/x", emergency_number="999")


class EngineChat:
    """One patient talking to a `Conversation`, without storage."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.state = conversation.new_state()
        self.outcomes: list[Outcome] = []

    @property
    def index(self) -> int:
        """The flow index of the current step (what a button payload carries)."""
        return self.conversation.fm.index[self.state.step]

    def act(self, action: Action) -> Outcome:
        """Apply one action and remember its outcome."""
        outcome = self.conversation.handle(self.state, action, PLACES)
        self.outcomes.append(outcome)
        return outcome

    def say(self, *texts: str) -> Outcome:
        """Type each text in turn; the last outcome."""
        for text in texts:
            outcome = self.act(Action(ActionKind.TEXT, text=text))
        return outcome

    def press(self, option: int, kind: ActionKind = ActionKind.CHOOSE) -> Outcome:
        """Press button `option` (0-based) of the current step."""
        return self.act(Action(kind, step_index=self.index, option_index=option))

    def toggle(self, option: int) -> Outcome:
        """Toggle option `option` of the current multi-select."""
        return self.press(option, ActionKind.TOGGLE)

    def done(self) -> Outcome:
        """Press Done on the current multi-select."""
        return self.act(Action(ActionKind.DONE, step_index=self.index))

    def back(self) -> Outcome:
        """Go back one question."""
        return self.act(Action(ActionKind.BACK, step_index=self.index))

    def skip(self) -> Outcome:
        """Skip the current question."""
        return self.act(Action(ActionKind.SKIP, step_index=self.index))

    def question(self) -> Prompt:
        """The prompt of the current step."""
        return self.conversation.opening(self.state, PLACES)[0]


def snapshot(state: IntakeState) -> dict[str, Any]:
    """Everything a turn may change, for "nothing changed" assertions."""
    return {"step": state.step, "status": state.status, "answers": dict(state.answers)} | (
        state.to_record()
    )


def questions(outcome: Outcome) -> list[Prompt]:
    """The question prompts of an outcome."""
    return [p for p in outcome.prompts if p.kind == PromptKind.QUESTION]


SMALL_FLOW = """
id: small
version: 1
title: Small
languages: [en]
start: consent
consent: {step: consent, accept: agree}
steps:
  consent:
    prompt: May we?
    answer:
      kind: choice
      options: [{value: agree, label: Agree}, {value: decline, label: Decline}]
    next:
      - {when: {answer: consent, equals: decline}, goto: declined}
      - {goto: age}
  age:
    prompt: Age?
    answer: {kind: number, min: 16, max: 110}
    next: symptoms
  symptoms:
    prompt: Which?
    answer:
      kind: multi
      options:
        - {value: bloating, label: Bloating}
        - {value: pain, label: Pain}
        - {value: none, label: None}
      none: none
    next: severity
  severity:
    prompt: How bad?
    ask_when: {answer: symptoms, includes: pain}
    answer: {kind: scale, low: none, high: worst}
    next: diet
  diet:
    prompt: Diet?
    answer:
      kind: choice
      options: [{value: vegan, label: Vegan}, {value: omnivore, label: Omnivore}]
    next:
      - {when: {answer: diet, equals: vegan}, goto: b12}
      - {goto: note}
  b12: {prompt: B12?, answer: {kind: yes_no}, next: note}
  note: {prompt: Anything else?, answer: {kind: text}, optional: true, next: review}
  review: {prompt: Check, answer: {kind: review}, next: done}
  done: {prompt: "Book at {booking_url}", answer: {kind: end}}
  declined: {prompt: Nothing stored., answer: {kind: end, outcome: declined}}
red_flags:
  - {id: severe_pain, level: same_day, when: {answer: severity, gte: 9}, label: Severe pain,
     message: See a doctor today.}
  - id: worst_pain
    level: emergency
    when: {all: [{answer: severity, equals: 10}, {answer: age, gte: 50}]}
    label: Worst pain
    message: "Call {emergency_number} now."
"""


def small_flow() -> Flow:
    """consent -> age -> symptoms -> severity (pain only) -> diet -> b12 (vegan only) -> note
    (optional) -> review -> done; declining consent ends at declined. Messages read "<key>"."""
    data = YAML(typ="safe").load(SMALL_FLOW)
    data["messages"] = {name: f"<{name}>" for name in Messages.model_fields}
    return Flow.model_validate(data)
