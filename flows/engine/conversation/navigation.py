"""Moving an intake through its flow during a turn: what an answer, a press, Skip or Back does.

`Navigator` stores an accepted answer (raising the flags it makes hold) and moves on to the next
step that needs the patient: info steps on the way are sent, steps whose `ask_when` is false
are passed over (their old answers dropped), and while an answer is being changed from the
review screen, questions already answered are walked past. It also carries out a press on the
current step (a multi-select tick, Done, a choice, the review screen's Change and Submit), a
Skip and a Back. Typed text and buttons reach it the same way (see `turns`, `typed_text`).
"""

from __future__ import annotations

from flows.engine.conversation.alerts import Outcome, raise_flags
from flows.engine.conversation.machine import FlowMachine
from flows.engine.conversation.parsing import Accepted, check_multi, describe
from flows.engine.conversation.prompts import PromptBuilder
from flows.engine.conversation.state import COMPLETED, DECLINED, IntakeState
from flows.engine.conversation.values import MULTI_PRESSES, Action, ActionKind, Prompt
from flows.engine.format.model import Flow
from flows.engine.format.steps import MultiAnswer
from flows.engine.safety.flags import RuleBook

MAX_AUTO_STEPS = 1000  # guards a cyclic flow; validation rejects flows without an end


class Navigator:
    """Answers, presses, Skip and Back on one flow version's machine."""

    def __init__(self, flow: Flow, fm: FlowMachine, rules: RuleBook) -> None:
        self.flow = flow
        self.fm = fm
        self.rules = rules

    def press(
        self, state: IntakeState, kind: ActionKind, value: str, ui: PromptBuilder, out: Outcome
    ) -> None:
        """A press of a button of the current step (its value), or Done."""
        step = self.fm.step(state.step)
        spec = step.answer
        if step.answer.kind == "review":
            if state.picking:
                self.edit(state, value, ui, out)
            else:
                self.review_choice(state, value, ui, out)
        elif isinstance(spec, MultiAnswer) and kind in MULTI_PRESSES:
            state.selection = _pick(state.selection, value, spec.none, kind)
            out.prompts.append(ui.question(state))
            out.refresh = True
        elif isinstance(spec, MultiAnswer) and kind == ActionKind.DONE:
            checked = check_multi(spec, list(state.selection), self.flow, state.language)
            if isinstance(checked, Accepted):
                self.accept(state, checked.value, ui, out)
            else:
                out.prompts += [Prompt(text=checked.reason), ui.question(state)]
        elif kind == ActionKind.CHOOSE and not isinstance(spec, MultiAnswer):
            self.accept(state, int(value) if spec.kind == "scale" else value, ui, out)
        else:
            out.stale = True

    def accept(self, state: IntakeState, value: object, ui: PromptBuilder, out: Outcome) -> None:
        """Store the answer to the current question, raise flags, and move on."""
        step_id = state.step
        state.answers[step_id] = value
        state.selection = []
        state.skipped = [s for s in state.skipped if s != step_id]
        state.history.append(step_id)
        out.answered_step = step_id
        out.answer_text = describe(self.fm.step(step_id), value, self.flow, state.language)
        if raise_flags(self.rules, state, ui, out, answered=step_id):
            return
        self._move_on(state, ui, out)

    def skip(self, state: IntakeState, ui: PromptBuilder, out: Outcome) -> None:
        """Skip the current question (an optional one only) and move on."""
        if not self.fm.step(state.step).optional:
            out.stale = True
            return
        state.answers.pop(state.step, None)
        state.selection = []
        state.history.append(state.step)
        state.skipped = [*(s for s in state.skipped if s != state.step), state.step]
        out.answered_step, out.answer_text = state.step, ui.message("skip")
        self._move_on(state, ui, out)

    def back(self, state: IntakeState, ui: PromptBuilder, out: Outcome, action: Action) -> None:
        """Go back to the previous question (or out of the review screen's list)."""
        if action.step_index is not None and action.step_index != self.fm.index.get(state.step):
            out.stale = True
            return
        if state.picking:
            state.picking = False
            out.prompts.append(ui.question(state))
            return
        if not state.history:
            out.prompts += [ui.notice("nothing_to_undo"), ui.question(state)]
            return
        previous = state.history.pop()
        state.answers.pop(previous, None)
        state.state, state.selection, state.pending_confirm = previous, [], None
        state.confirm_queue = []
        out.prompts.append(ui.question(state))

    def review_choice(
        self, state: IntakeState, value: str, ui: PromptBuilder, out: Outcome
    ) -> None:
        """On the review screen: submit, or list the answers to pick one to change."""
        if value == "submit":
            self._move_on(state, ui, out)
        else:
            state.picking = True
            out.prompts.append(ui.question(state))

    def edit(self, state: IntakeState, target: str, ui: PromptBuilder, out: Outcome) -> None:
        """Go back to an answered question to change its answer."""
        if target not in state.history:
            out.stale = True
            return
        state.history = state.history[: state.history.index(target)]
        state.answers.pop(target, None)
        state.state, state.picking, state.editing = target, False, True
        out.prompts.append(ui.question(state))

    def _move_on(self, state: IntakeState, ui: PromptBuilder, out: Outcome) -> None:
        """Advance to the next step that needs the patient, sending info steps on the way."""
        asked_when = self.fm.asked_when
        for _ in range(MAX_AUTO_STEPS):
            source = state.step
            if self.fm.advance(state):
                out.moves.append((source, state.step))
            step = self.fm.step(state.step)
            asked = asked_when.get(state.step)
            if asked is not None and not asked(state.answers, None):
                state.answers.pop(state.step, None)
                out.passed_over.append(state.step)
                continue
            if step.answer.kind == "info":
                out.prompts.append(ui.question(state))
                continue
            done = state.step in state.answers or state.step in state.skipped
            if state.editing and step.is_question and done:
                state.history.append(state.step)
                continue
            break
        self._arrive(state, ui, out)

    def _arrive(self, state: IntakeState, ui: PromptBuilder, out: Outcome) -> None:
        step = self.fm.step(state.step)
        if step.answer.kind == "review":
            state.editing = state.picking = False
        if step.answer.kind == "end":
            outcome = getattr(step.answer, "outcome", COMPLETED)
            state.status = DECLINED if outcome == "declined" else COMPLETED
            _keep_path_answers(state)
        if state.pending_confirm is not None:
            out.prompts.append(ui.confirm(state, state.pending_confirm))
        else:
            out.prompts.append(ui.question(state))


def _pick(selection: list[str], value: str, none: str | None, kind: ActionKind) -> list[str]:
    """The selection after a multi-select press: a tick or untick that is already so (a
    double tap, or a press on an older copy of the question) changes nothing."""
    ticked = value in selection
    if (kind == ActionKind.SELECT and ticked) or (kind == ActionKind.CLEAR and not ticked):
        return selection
    return _toggle(selection, value, none)


def _toggle(selection: list[str], value: str, none: str | None) -> list[str]:
    if value in selection:
        return [v for v in selection if v != value]
    if value == none:
        return [value]
    return [v for v in selection if v != none] + [value]


def _keep_path_answers(state: IntakeState) -> None:
    """Drop answers to questions the final path no longer passes (after edits)."""
    kept = set(state.history)
    state.answers = {k: v for k, v in state.answers.items() if k in kept}
