"""Typed text in a turn: screened first, then read as what it answers.

Every text is screened for red-flag facts before anything else (an emergency ends the intake
at once, whatever step it was typed at); vague words queue a "Just to check" question. Text
that only screens (an edit of an answer to a question passed since) stops there. Otherwise it
answers the pending "Just to check" question, or, after the flow's refusal of any diagnosis- or
advice-seeking part, the current step: a typed Back, Skip or Done label works as the button
does, an age under the flow's minimum ends the intake keeping nothing, the review screen takes
its choices by label, and a question parses the text (re-asking with the reason when it does
not fit).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine.conversation.alerts import (
    Outcome,
    confirmed,
    note_facts,
    queue_confirms,
    raise_flags,
)
from flows.engine.conversation.machine import FlowMachine
from flows.engine.conversation.navigation import Navigator
from flows.engine.conversation.parsing import (
    Accepted,
    leading_int,
    match_option,
    normalise,
    parse,
)
from flows.engine.conversation.prompts import PromptBuilder
from flows.engine.conversation.questions import answer_part, refusals
from flows.engine.conversation.state import CANCELLED, IntakeState
from flows.engine.conversation.values import Action, ActionKind, Prompt, PromptKind
from flows.engine.format.model import Flow
from flows.engine.format.steps import MultiAnswer, Step, YesNoAnswer
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener


class TypedText:
    """Reads typed text for one flow version."""

    def __init__(
        self, flow: Flow, fm: FlowMachine, screener: Screener, rules: RuleBook, moves: Navigator
    ) -> None:
        self.flow = flow
        self.fm = fm
        self.screener = screener
        self.rules = rules
        self.moves = moves

    def handle(
        self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome, *, answer: bool
    ) -> None:
        """Screen `text`; then, when `answer`, take it as the reply to what is asked now."""
        language = state.language or self.flow.default_language
        found = self.screener.screen(text, language)
        note_facts(state, found)
        if found.facts and raise_flags(self.rules, state, ui, out):
            return
        if not answer:
            if queue_confirms(state, found.unsure):
                out.prompts.append(ui.confirm(state, state.pending_confirm or ""))
            return
        if state.pending_confirm is not None:
            self._confirm(state, text, ui, out)
            return
        if found.asks:
            refused = refusals(found, ui)
            rest = answer_part(text, self.screener, language)
            if not rest or not self._answers_step(state, rest):
                out.prompts += [*refused, ui.question(state)]
                return
            out.prompts += refused
            text = rest
        self._answer(state, text, ui, out)
        if not state.ended and queue_confirms(state, found.unsure):
            out.prompts[-1:] = [ui.confirm(state, state.pending_confirm or "")]

    def confirm_reply(self, state: IntakeState, text: str, ui: PromptBuilder) -> str | None:
        """'yes' or 'no' when typed text answers the pending "Just to check" question."""
        fact = state.pending_confirm
        assert fact is not None
        labels = ui.confirm(state, fact).choices
        value = match_option([_Opt(c.value, c.label) for c in labels], text, self.flow, None)
        if value is None:
            yes_no = parse(_YES_NO_STEP, text, self.flow, state.language)
            value = yes_no.value if isinstance(yes_no, Accepted) else None
        return value

    def _answers_step(self, state: IntakeState, text: str) -> bool:
        """Whether `text` is a valid answer to the current question."""
        step = self.fm.step(state.step)
        if not step.is_question:
            return False
        return isinstance(parse(step, text, self.flow, state.language), Accepted)

    def _answer(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> None:
        step = self.fm.step(state.step)
        if step.answer.kind == "review":
            self._review(state, text, ui, out)
            return
        if not step.is_question:
            out.prompts.append(ui.question(state))
            return
        if self._button(state, text, ui, out) or self._too_young(state, text, ui, out):
            return
        parsed = parse(step, text, self.flow, state.language)
        if isinstance(parsed, Accepted):
            self.moves.accept(state, parsed.value, ui, out)
        else:
            out.prompts += [Prompt(text=parsed.reason), ui.question(state)]

    def _button(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> bool:
        """A typed Back, Skip or Done label works as the button does."""
        word = normalise(text)
        step = self.fm.step(state.step)
        if word == normalise(ui.message("back")):
            self.moves.back(state, ui, out, Action(ActionKind.BACK))
        elif word == normalise(ui.message("skip")) and step.optional:
            self.moves.skip(state, ui, out)
        elif word == normalise(ui.message("done")) and isinstance(step.answer, MultiAnswer):
            self.moves.press(state, ActionKind.DONE, "", ui, out)
        else:
            return False
        return True

    def _too_young(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> bool:
        """Under the minimum age: say so, end the intake, and ask the service to keep nothing."""
        minimum = self.flow.minimum_age
        if minimum is None or minimum.step != state.step:
            return False
        age = leading_int(text)
        if age is None or not 0 < age < minimum.age:
            return False
        state.status, out.minor = CANCELLED, True
        state.answers, state.facts, state.flags, state.raised = {}, {}, {}, {}
        out.prompts.append(Prompt(text=ui.message("minor", age=minimum.age), kind=PromptKind.END))
        return True

    def _confirm(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> None:
        fact = state.pending_confirm
        assert fact is not None
        value = self.confirm_reply(state, text, ui)
        if value is None:
            out.prompts.append(ui.confirm(state, fact))
            return
        confirmed(self.rules, state, fact, value == "yes", ui, out)

    def _review(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> None:
        if state.picking:
            rows = ui.answered(state)
            options = [_Opt(step_id, label) for step_id, label, _ in rows]
            target = match_option(options, text, self.flow, state.language)
            if target is None:
                out.prompts += [ui.notice("invalid_choice"), ui.question(state)]
            else:
                self.moves.edit(state, target, ui, out)
            return
        choices = ui.review(state).choices
        value = match_option([_Opt(c.value, c.label) for c in choices], text, self.flow, None)
        if value is None:
            out.prompts += [ui.notice("invalid_choice"), ui.question(state)]
        else:
            self.moves.review_choice(state, value, ui, out)


@dataclass(frozen=True)
class _Opt:
    value: str
    label: str


_YES_NO_STEP = Step(prompt="", answer=YesNoAnswer(kind="yes_no"))  # typed replies to confirms
