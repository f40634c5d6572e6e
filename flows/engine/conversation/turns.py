"""One patient turn, purely: screen, parse, transition, raise flags, and say what comes next.

`Conversation.handle(state, action, places)` mutates the `IntakeState` and returns an `Outcome`
(prompts in sending order). Emergency flags put their message first and end the intake; no
question follows. Diagnosis- and advice-seeking text gets the flow's refusal and the same
question again, and never counts as an answer. Typed text is read in `typed_text`; answers,
presses, Skip and Back move the intake through the flow in `navigation`; this module routes
each action and checks that a button belongs to the question now asked.
"""

from __future__ import annotations

from flows.engine.conversation import epilogue
from flows.engine.conversation.alerts import Outcome, confirmed
from flows.engine.conversation.machine import FlowMachine
from flows.engine.conversation.navigation import Navigator
from flows.engine.conversation.parsing import Accepted, match_option, parse
from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import CANCELLED, IntakeState
from flows.engine.conversation.typed_text import TypedText
from flows.engine.conversation.values import Action, ActionKind, Prompt
from flows.engine.format.model import Flow
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener


class Conversation:
    """The engine of one flow version: compiled once, used for every patient on that version."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.fm = FlowMachine(flow)
        self.screener = Screener(flow)
        self.rules = RuleBook(flow)
        self.moves = Navigator(flow, self.fm, self.rules)
        self.typed = TypedText(flow, self.fm, self.screener, self.rules, self.moves)

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
            self.typed.handle(state, action.text or "", ui, out, answer=kind == ActionKind.TEXT)
        elif kind == ActionKind.BACK:
            self.moves.back(state, ui, out, action)
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
            self.moves.skip(state, ui, out)
            return
        choices = ui.question(state).choices
        index = action.option_index
        if action.kind != ActionKind.DONE and (index is None or not 0 <= index < len(choices)):
            out.stale = True
            return
        value = choices[index].value if index is not None and index < len(choices) else ""
        self.moves.press(state, action.kind, value, ui, out)

    def _builder(self, state: IntakeState, places: Placeholders) -> PromptBuilder:
        return PromptBuilder(self.fm, places, state.language)
