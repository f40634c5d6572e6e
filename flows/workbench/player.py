"""Playing a scenario against a flow, in memory: the engine's turns, no database, no transport.

`play` walks the scenario's answers in order. An entry `step: answer` must meet the intake at
that step; a step the scenario does not mention is answered from the defaults, so a scenario
lists only what matters to it. When the intake asks something the scenario and the defaults
cannot answer, or ends before the scenario's next answer, the run fails at that step. Options
are pressed as buttons (by value or label), multi-selects toggled then Done, other answers
typed; everything the intake says and does is recorded in a `Run` (see `flows.workbench.runs`).
"""

from __future__ import annotations

from typing import Any, NoReturn

from flows.engine.conversation.alerts import Outcome
from flows.engine.conversation.parsing import normalise
from flows.engine.conversation.state import ACTIVE, COMPLETED, DECLINED, ESCALATED
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, Prompt, PromptKind
from flows.engine.format.model import Flow
from flows.engine.safety.flags import priority
from flows.workbench.runs import CANCELLED, IN_PROGRESS, PLACES, Move, Raised, Run
from flows.workbench.scenario import Change, Chosen, Confirm, Typed
from flows.workbench.scenario_files import LoadedScenario, ScenarioSet

MAX_TURNS = 500
ASKING = (PromptKind.QUESTION, PromptKind.REVIEW)
BUTTON_KINDS = ("choice", "yes_no", "scale", "review")
TYPED_KINDS = ("number", "text", "duration")
COMMAND_ACTIONS = {
    "/back": ActionKind.BACK,
    "/skip": ActionKind.SKIP,
    "/help": ActionKind.HELP,
    "/status": ActionKind.STATUS,
    "/cancel": ActionKind.CANCEL,
}


class _Stop(Exception):
    """The run cannot go on (the failure is already recorded)."""


class Player:
    """Plays one scenario on one compiled flow."""

    def __init__(
        self, conversation: Conversation, loaded: LoadedScenario, found: ScenarioSet, file: str
    ) -> None:
        self.conversation = conversation
        self.flow: Flow = conversation.flow
        self.loaded = loaded
        self.found = found
        self.language = loaded.scenario.language
        self.state = conversation.new_state(self.language)
        self.run = Run(loaded, file)

    def play(self) -> Run:
        """Run the scenario to its end and record what happened."""
        self._show(self.conversation.opening(self.state, PLACES))
        try:
            self._entries()
            if self.loaded.scenario.finish:
                self._finish()
        except _Stop:
            pass
        self._settle()
        return self.run

    # --- walking the answers ---------------------------------------------------------------

    def _entries(self) -> None:
        for index, entry in enumerate(self.loaded.scenario.answers):
            line = self.loaded.line("answers", index)
            if not isinstance(entry, dict):
                self._plain(str(entry), line)
                continue
            [(step, answer)] = entry.items()
            if step not in self.flow.steps:
                self._stop(line, None, "answer for a step", f"a step of {self.flow.id}", step)
            if not (isinstance(answer, Confirm) and self.state.pending_confirm is not None):
                self._reach(step, line)  # a "Just to check" answer needs no step of its own
            self._answer(step, answer, line)

    def _reach(self, step: str, line: int) -> None:
        """Answer from the defaults until the intake asks `step`."""
        for _ in range(MAX_TURNS):
            if self.state.ended:
                expected = f"to be asked {step}"
                self._stop(line, self.state.step, "the intake ended", expected, self._ending())
            if self.state.step == step:
                return
            if not self._default(expected=step, line=line):
                return
        self._stop(line, self.state.step, "turns", f"at most {MAX_TURNS}", "more")

    def _finish(self) -> None:
        """After the last answer: the defaults until the intake ends (or nothing answers)."""
        for _ in range(MAX_TURNS):
            if self.state.ended or not self._default(expected=None, line=None):
                return

    def _default(self, *, expected: str | None, line: int | None) -> bool:
        """Answer the current step from the defaults; False when there is none."""
        step = self.state.step
        flag = self.state.pending_confirm
        where = line or self.loaded.line("answers")
        if flag is not None:
            wanted = f"an answer {{confirm: ...}} to the 'Just to check' question ({flag})"
            self._stop(where, step, "unanswered question", wanted, "none in the scenario")
        answer = self.found.defaults.get(step)
        if answer is None:
            if expected is None:
                return False
            wanted = f"to be asked {expected} (line {line})"
            self._stop(where, step, "no answer for this step", wanted, f"{step} (no default)")
        before = (step, len(self.state.history))
        self._answer(step, answer, self.found.defaults_lines.line((step,)), default=True)
        if (self.state.step, len(self.state.history)) == before and not self.state.ended:
            reply = self.run.shown[-1][1] if self.run.shown else ""
            self._stop(where, step, "default answer", "accepted", f"refused: {reply!r}")
        return True

    # --- one answer ------------------------------------------------------------------------

    def _answer(self, step: str, answer: Any, line: int, *, default: bool = False) -> None:
        if isinstance(answer, Confirm):
            self._confirm(step, answer, line)
            return
        if self.state.pending_confirm is not None:
            flag = self.state.pending_confirm
            wanted = f"{{confirm: ...}} for the 'Just to check' question ({flag})"
            self._stop(line, step, "answer", wanted, repr(answer))
        if isinstance(answer, Typed):
            self._type(step, answer.type)
        elif isinstance(answer, Change):
            self._change(step, answer, line)
        elif isinstance(answer, str) and answer.startswith("/"):
            self._command(answer, line)
        else:
            self._by_kind(step, answer, line)

    def _by_kind(self, step: str, answer: Any, line: int) -> None:
        kind = self.flow.steps[step].kind
        values = answer.choose if isinstance(answer, Chosen) else answer
        if kind == "multi":
            self._toggle_all(step, values if isinstance(values, list) else [values], line)
        elif kind in BUTTON_KINDS and not isinstance(values, list):
            self._press(step, values, line)
        elif kind in TYPED_KINDS and not isinstance(answer, Chosen | list):
            self._type(step, _text(answer))
        else:
            self._stop(line, step, "answer", f"an answer a {kind} step takes", repr(answer))

    def _press(self, step: str, value: Any, line: int, kind: str = "press") -> None:
        question = self._question()
        index = _option(question, value)
        if index is None:
            options = ", ".join(c.value for c in question.choices)
            self._stop(line, step, "option", f"one of: {options}", _text(value))
        action = ActionKind.TOGGLE if kind == "toggle" else ActionKind.CHOOSE
        choice = question.choices[index]
        self._act(
            Action(action, step_index=question.step_index, option_index=index),
            Move(kind, step, choice.value, index),
            line,
        )

    def _toggle_all(self, step: str, values: list[Any], line: int) -> None:
        for value in values:
            self._press(step, value, line, kind="toggle")
        index = self._question().step_index
        self._act(Action(ActionKind.DONE, step_index=index), Move("done", step), line)

    def _type(self, step: str | None, text: str) -> None:
        self._act(Action(ActionKind.TEXT, text=text), Move("type", step, text), None)

    def _confirm(self, step: str, answer: Confirm, line: int) -> None:
        if self.state.pending_confirm is None:
            self._stop(line, step, "'Just to check' question", "one asked here", "none asked")
        yes = answer.confirm in ("yes", True)
        index = self.conversation.fm.index[self.state.step]
        action = Action(ActionKind.CONFIRM, step_index=index, option_index=0 if yes else 1)
        self._act(action, Move("confirm", step, "yes" if yes else "no", 0 if yes else 1), line)

    def _change(self, step: str, answer: Change, line: int) -> None:
        if self.flow.steps[step].kind != "review":
            self._stop(line, step, "a change", "the review step", step)
        self._press(step, "change", line)
        self._press(step, answer.change, line)
        self._answer(answer.change, answer.to, line)

    def _command(self, command: str, line: int) -> None:
        step = self.state.step
        if command == "/restart":
            self.state = self.conversation.new_state(self.language)
            self.run.raised.clear()
            self.run.moves.append(Move("command", step, command))
            self._show([Prompt(self.flow.message("restarted", self.language))])
            self._show(self.conversation.opening(self.state, PLACES))
            return
        index = self.conversation.fm.index[step] if command == "/skip" else None
        action = Action(COMMAND_ACTIONS[command], step_index=index)
        self._act(action, Move("command", step, command), line)

    def _plain(self, text: str, line: int) -> None:
        """An entry with no step: a command, or typed text (after the end: screened only)."""
        if text.startswith("/"):
            self._command(text, line)
        elif self.state.ended:
            self.run.moves.append(Move("type", None, text))
            action = Action(ActionKind.TEXT, text=text)
            out = self.conversation.after_end(self.state, action, PLACES)
            self._show(out.prompts)
            for flag, level in out.flagged.items():
                self.run.raised[flag] = Raised(level, self.state.step)
        else:
            self._type(self.state.step, text)

    # --- turns -----------------------------------------------------------------------------

    def _act(self, action: Action, move: Move, line: int | None) -> Outcome:
        step, before = self.state.step, dict(self.state.raised)
        out = self.conversation.handle(self.state, action, PLACES)
        self.run.moves.append(move)
        if out.stale:
            where = line or self.loaded.line("answers")
            done = f"{move.kind} {move.value or ''}".strip()
            self._stop(where, step, "answer", "one this step takes", f"{done} (refused)")
        self._show(out.prompts)
        self.run.edges.update(out.moves)
        self.run.passed_over.update(out.passed_over)
        for flag, level in self.state.raised.items():
            if before.get(flag) != level:
                self.run.raised[flag] = Raised(level, step)
        return out

    def _show(self, prompts: list[Prompt]) -> None:
        for prompt in prompts:
            self.run.shown.append((self.state.step, prompt.text))
            if prompt.kind in ASKING and prompt.step is not None:
                self.run.asked.append(prompt.step)

    def _question(self) -> Prompt:
        return self.conversation.opening(self.state, PLACES)[0]

    def _ending(self) -> str:
        return _end_of(self.state.status, self.state.step)

    def _stop(self, line: int, step: str | None, what: str, expected: str, actual: str) -> NoReturn:
        self.run.fail(line, step, what, expected, actual)
        raise _Stop

    def _settle(self) -> None:
        state, run = self.state, self.run
        run.status, run.end_step = state.status, state.step
        run.end = _end_of(state.status, state.step)
        if state.status in (COMPLETED, ESCALATED):
            run.priority = priority(state.raised)


def play(conversation: Conversation, loaded: LoadedScenario, found: ScenarioSet, file: str) -> Run:
    """Play one scenario on a compiled flow (from `file`) and record the run."""
    return Player(conversation, loaded, found, file).play()


def _end_of(status: str, step: str) -> str:
    if status in (COMPLETED, DECLINED):
        return step
    if status == ACTIVE:
        return IN_PROGRESS
    return ESCALATED if status == ESCALATED else CANCELLED if status == "cancelled" else status


def _option(question: Prompt, value: Any) -> int | None:
    wanted = normalise(_text(value))
    for index, choice in enumerate(question.choices):
        if wanted in (normalise(choice.value), normalise(choice.label)):
            return index
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
