"""One patient turn, purely: screen, parse, transition, raise flags, and say what comes next.

`Conversation.handle(state, action, places)` mutates the `IntakeState` and returns an `Outcome`
(prompts in sending order). Emergency flags put their message first and end the intake; no
question follows. Diagnosis- and advice-seeking text gets the flow's refusal and the same
question again, and never counts as an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine.conversation import epilogue
from flows.engine.conversation.alerts import (
    Outcome,
    confirmed,
    note_facts,
    queue_confirms,
    raise_flags,
)
from flows.engine.conversation.machine import FlowMachine
from flows.engine.conversation.parsing import (
    Accepted,
    check_multi,
    describe,
    leading_int,
    match_option,
    normalise,
    parse,
)
from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.questions import answer_part, refusals
from flows.engine.conversation.state import (
    CANCELLED,
    COMPLETED,
    DECLINED,
    IntakeState,
)
from flows.engine.conversation.values import (
    MULTI_PRESSES,
    Action,
    ActionKind,
    Prompt,
    PromptKind,
)
from flows.engine.format.conditions import holds
from flows.engine.format.model import Flow
from flows.engine.format.steps import MultiAnswer, Step, YesNoAnswer
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener

MAX_AUTO_STEPS = 1000  # guards a cyclic flow; validation rejects flows without an end


class Conversation:
    """The engine of one flow version: compiled once, used for every patient on that version."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.fm = FlowMachine(flow)
        self.screener = Screener(flow)
        self.rules = RuleBook(flow)

    def new_state(self, language: str | None = None) -> IntakeState:
        """A state at the start of the flow."""
        return IntakeState(state=self.flow.start, language=language)

    def opening(self, state: IntakeState, places: Placeholders) -> list[Prompt]:
        """The prompt(s) of the current step (start, resume, status)."""
        return [self._builder(state, places).question(state)]

    def after_end(self, state: IntakeState, action: Action, places: Placeholders) -> Outcome:
        """Input after `state` ended: screened for red flags, which it keeps and reports, else
        answered with a reminder (see `epilogue`)."""
        return epilogue.after_end(self, state, action, places)

    def handle(self, state: IntakeState, action: Action, places: Placeholders) -> Outcome:
        """Apply one patient action to `state`."""
        out = Outcome()
        if state.ended:  # an ended intake takes no more input; a new one starts afresh
            out.stale = True
            return out
        ui = self._builder(state, places)
        kind = action.kind
        if kind == ActionKind.TEXT and action.step not in (None, state.step):
            kind = ActionKind.SCREEN  # an edited answer to a question passed since: screen only
        if kind in (ActionKind.TEXT, ActionKind.SCREEN):
            self._on_text(state, action.text or "", ui, out, answer=kind == ActionKind.TEXT)
        elif kind == ActionKind.BACK:
            self._on_back(state, ui, out, action)
        elif kind == ActionKind.HELP:
            out.prompts += [ui.notice("help"), ui.question(state)]
        elif kind == ActionKind.STATUS:
            n, total = ui.progress(state)
            out.prompts += [ui.notice("status", n=n, total=total), ui.question(state)]
        elif kind == ActionKind.CANCEL:
            state.status = CANCELLED
            out.prompts.append(ui.notice("cancelled"))
        elif kind == ActionKind.START:
            out.prompts += [ui.notice("resume"), ui.question(state)]
        elif kind == ActionKind.LANGUAGE:
            self._on_language(state, action, ui, out, places)
        else:
            self._on_button(state, action, ui, out)
        return out

    # --- typed text ------------------------------------------------------------------------

    def _on_text(
        self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome, *, answer: bool
    ) -> None:
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
            self._typed_confirm(state, text, ui, out)
            return
        if found.asks:
            refused = refusals(found, ui)
            rest = answer_part(text, self.screener, language)
            if not rest or not self._answers_step(state, rest):
                out.prompts += [*refused, ui.question(state)]
                return
            out.prompts += refused
            text = rest
        self._typed_answer(state, text, ui, out)
        if not state.ended and queue_confirms(state, found.unsure):
            out.prompts[-1:] = [ui.confirm(state, state.pending_confirm or "")]

    def _answers_step(self, state: IntakeState, text: str) -> bool:
        """Whether `text` is a valid answer to the current question."""
        step = self.fm.step(state.step)
        if not step.is_question:
            return False
        return isinstance(parse(step, text, self.flow, state.language), Accepted)

    def _typed_answer(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> None:
        step = self.fm.step(state.step)
        if step.answer.kind == "review":
            self._typed_review(state, text, ui, out)
            return
        if not step.is_question:
            out.prompts.append(ui.question(state))
            return
        if self._typed_button(state, text, ui, out) or self._too_young(state, text, ui, out):
            return
        parsed = parse(step, text, self.flow, state.language)
        if isinstance(parsed, Accepted):
            self._accept(state, parsed.value, ui, out)
        else:
            out.prompts += [Prompt(text=parsed.reason), ui.question(state)]

    def _typed_button(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> bool:
        """A typed Back, Skip or Done label works as the button does."""
        word = normalise(text)
        step = self.fm.step(state.step)
        if word == normalise(ui.message("back")):
            self._on_back(state, ui, out, Action(ActionKind.BACK))
        elif word == normalise(ui.message("skip")) and step.optional:
            self._skip(state, ui, out)
        elif word == normalise(ui.message("done")) and isinstance(step.answer, MultiAnswer):
            self._press(state, ActionKind.DONE, "", ui, out)
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

    def _typed_confirm(
        self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome
    ) -> None:
        fact = state.pending_confirm
        assert fact is not None
        value = self.confirm_reply(state, text, ui)
        if value is None:
            out.prompts.append(ui.confirm(state, fact))
            return
        confirmed(self.rules, state, fact, value == "yes", ui, out)

    def _typed_review(self, state: IntakeState, text: str, ui: PromptBuilder, out: Outcome) -> None:
        if state.picking:
            rows = ui.answered(state)
            options = [_Opt(step_id, label) for step_id, label, _ in rows]
            target = match_option(options, text, self.flow, state.language)
            if target is None:
                out.prompts += [ui.notice("invalid_choice"), ui.question(state)]
            else:
                self._edit(state, target, ui, out)
            return
        choices = ui.review(state).choices
        value = match_option([_Opt(c.value, c.label) for c in choices], text, self.flow, None)
        if value is None:
            out.prompts += [ui.notice("invalid_choice"), ui.question(state)]
        else:
            self._review_choice(state, value, ui, out)

    # --- language --------------------------------------------------------------------------

    def _on_language(
        self,
        state: IntakeState,
        action: Action,
        ui: PromptBuilder,
        out: Outcome,
        places: Placeholders,
    ) -> None:
        """Ask which language (no choice given), or carry on in the chosen one; answers stay."""
        languages = self.flow.languages
        index = action.option_index
        if index is None:
            out.prompts.append(ui.language_picker(state))
            return
        if not 0 <= index < len(languages):
            out.stale = True
            return
        state.language = languages[index]
        ui = self._builder(state, places)
        out.prompts += [ui.notice("language_changed"), ui.current(state)]

    def language_of_answer(self, step_id: str, text: str, language: str) -> str:
        """The flow language whose option labels `text` names at `step_id` (else `language`)."""
        step = self.fm.step(step_id)
        if isinstance(parse(step, text, self.flow, language), Accepted):
            return language
        for other in self.flow.languages:
            if other != language and match_option(
                getattr(step.answer, "options", []), text, self.flow, other
            ):
                return other
        return language

    # --- buttons ---------------------------------------------------------------------------

    def _on_button(
        self, state: IntakeState, action: Action, ui: PromptBuilder, out: Outcome
    ) -> None:
        if action.step_index != self.fm.index.get(state.step) or state.ended:
            out.stale = True
            return
        if action.kind == ActionKind.CONFIRM:
            if state.pending_confirm is None or action.option_index not in (0, 1):
                out.stale = True
                return
            yes = action.option_index == 0
            confirmed(self.rules, state, state.pending_confirm, yes, ui, out)
            return
        if state.pending_confirm is not None:
            out.stale = True
            return
        if action.kind == ActionKind.SKIP:
            self._skip(state, ui, out)
            return
        choices = ui.question(state).choices
        index = action.option_index
        if action.kind != ActionKind.DONE and (index is None or not 0 <= index < len(choices)):
            out.stale = True
            return
        value = choices[index].value if index is not None and index < len(choices) else ""
        self._press(state, action.kind, value, ui, out)

    def _press(
        self, state: IntakeState, kind: ActionKind, value: str, ui: PromptBuilder, out: Outcome
    ) -> None:
        step = self.fm.step(state.step)
        spec = step.answer
        if step.answer.kind == "review":
            if state.picking:
                self._edit(state, value, ui, out)
            else:
                self._review_choice(state, value, ui, out)
        elif isinstance(spec, MultiAnswer) and kind in MULTI_PRESSES:
            state.selection = _pick(state.selection, value, spec.none, kind)
            out.prompts.append(ui.question(state))
            out.refresh = True
        elif isinstance(spec, MultiAnswer) and kind == ActionKind.DONE:
            checked = check_multi(spec, list(state.selection), self.flow, state.language)
            if isinstance(checked, Accepted):
                self._accept(state, checked.value, ui, out)
            else:
                out.prompts += [Prompt(text=checked.reason), ui.question(state)]
        elif kind == ActionKind.CHOOSE and not isinstance(spec, MultiAnswer):
            self._accept(state, int(value) if spec.kind == "scale" else value, ui, out)
        else:
            out.stale = True

    # --- moving through the flow -----------------------------------------------------------

    def _accept(self, state: IntakeState, value: object, ui: PromptBuilder, out: Outcome) -> None:
        step_id = state.step
        state.answers[step_id] = value
        state.selection = []
        state.skipped = [s for s in state.skipped if s != step_id]
        state.history.append(step_id)
        out.answered_step = step_id
        out.answer_text = describe(self.fm.step(step_id), value, self.flow, state.language)
        if raise_flags(self.rules, state, ui, out):
            return
        self._move_on(state, ui, out)

    def _skip(self, state: IntakeState, ui: PromptBuilder, out: Outcome) -> None:
        if not self.fm.step(state.step).optional:
            out.stale = True
            return
        state.answers.pop(state.step, None)
        state.selection = []
        state.history.append(state.step)
        state.skipped = [*(s for s in state.skipped if s != state.step), state.step]
        out.answered_step, out.answer_text = state.step, ui.message("skip")
        self._move_on(state, ui, out)

    def _move_on(self, state: IntakeState, ui: PromptBuilder, out: Outcome) -> None:
        """Advance to the next step that needs the patient, sending info steps on the way."""
        with self.fm.attached(state):
            for _ in range(MAX_AUTO_STEPS):
                source = state.step
                if self.fm.advance(state):
                    out.moves.append((source, state.step))
                step = self.fm.step(state.step)
                if step.ask_when is not None and not holds(step.ask_when, state.answers):
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

    def _on_back(self, state: IntakeState, ui: PromptBuilder, out: Outcome, action: Action) -> None:
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

    def _review_choice(
        self, state: IntakeState, value: str, ui: PromptBuilder, out: Outcome
    ) -> None:
        if value == "submit":
            self._move_on(state, ui, out)
        else:
            state.picking = True
            out.prompts.append(ui.question(state))

    def _edit(self, state: IntakeState, target: str, ui: PromptBuilder, out: Outcome) -> None:
        if target not in state.history:
            out.stale = True
            return
        state.history = state.history[: state.history.index(target)]
        state.answers.pop(target, None)
        state.state, state.picking, state.editing = target, False, True
        out.prompts.append(ui.question(state))

    def _builder(self, state: IntakeState, places: Placeholders) -> PromptBuilder:
        return PromptBuilder(self.fm, places, state.language)


@dataclass(frozen=True)
class _Opt:
    value: str
    label: str


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


_YES_NO_STEP = Step(prompt="", answer=YesNoAnswer(kind="yes_no"))  # typed replies to confirms
