"""Building the `Prompt` values a turn sends: questions, the review screen, notices, escalations.

Texts come from the flow; the only values filled in are the configured booking link and
emergency number (`Placeholders`). Progress is an estimate: answered questions plus the
questions the answers so far surely lead to. A condition that a later answer could still
decide counts as false, so the total never goes down as answers come in; it goes up once, on
the answer that brings in more questions (symptoms chosen, each with its follow-ups). Only a
`next` branch taken on an answer can lower it.

A question's text and buttons depend only on the step and the language (and the ticks of a
multi-select), so they are built once per flow version, step and language and reused; a step
whose texts use a placeholder is built afresh each time, as the placeholders are per patient.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine.conversation.machine import FlowMachine, branches
from flows.engine.conversation.parsing import describe
from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.values import Choice, Prompt, PromptKind
from flows.engine.format.conditions import settled
from flows.engine.format.model import Flow
from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, ScaleAnswer, Step, YesNoAnswer

CONFIRM = "confirm"
REVIEW_PICK = "review_pick"
LANGUAGE = "language"


@dataclass(frozen=True, slots=True)
class Placeholders:
    """Values the engine fills into flow texts."""

    booking_url: str = ""
    emergency_number: str = ""

    def fill(self, text: str) -> str:
        """`text` with {booking_url} and {emergency_number} replaced."""
        if "{" not in text:
            return text
        return text.replace("{booking_url}", self.booking_url).replace(
            "{emergency_number}", self.emergency_number
        )


class PromptBuilder:
    """Builds prompts for one flow in one language."""

    def __init__(self, fm: FlowMachine, places: Placeholders, language: str | None) -> None:
        self.fm = fm
        self.flow: Flow = fm.flow
        self.places = places
        self.language = language

    def text(self, value: object) -> str:
        """A flow Text in the patient's language, placeholders filled."""
        return self.places.fill(self.flow.text(value, self.language))  # type: ignore[arg-type]

    def message(self, key: str, **values: object) -> str:
        """A `messages` entry, placeholders filled."""
        return self.places.fill(self.flow.message(key, self.language, **values))

    def notice(self, key: str, **values: object) -> Prompt:
        """A plain message from the flow's messages."""
        return Prompt(text=self.message(key, **values))

    def question(self, state: IntakeState) -> Prompt:
        """The prompt of the current step (a question, the review screen or an end)."""
        step = self.fm.step(state.step)
        kind = step.answer.kind
        if kind == "review":
            return self.review_pick(state) if state.picking else self.review(state)
        if kind in ("end", "info"):
            return Prompt(text=self.text(step.prompt), kind=_KIND[kind], step=state.step)
        text, choices = self._asked(state.step, step, state.selection)
        return Prompt(
            text=text,
            kind=PromptKind.QUESTION,
            step=state.step,
            step_index=self.fm.index[state.step],
            answer_kind=kind,
            choices=choices,
            multi=kind == "multi",
            can_back=bool(state.history),
            can_skip=step.optional,
            progress=self.progress(state),
        )

    def choices(self, step: Step, selection: list[str]) -> tuple[Choice, ...]:
        """The buttons of a step, in option order (the order button indexes refer to)."""
        spec = step.answer
        if isinstance(spec, ChoiceAnswer | MultiAnswer):
            return tuple(
                Choice(o.value, self.text(o.label), o.value in selection) for o in spec.options
            )
        if isinstance(spec, YesNoAnswer):
            return (Choice("yes", self.message("yes")), Choice("no", self.message("no")))
        if isinstance(spec, ScaleAnswer):
            return tuple(Choice(str(n), str(n)) for n in range(11))
        return ()

    def review(self, state: IntakeState) -> Prompt:
        """The review screen: every answer so far, then Submit / Change."""
        lines = [self.message("review_intro"), ""]
        lines += [f"{label}: {answer}" for _, label, answer in self.answered(state)]
        return Prompt(
            text="\n".join(lines),
            kind=PromptKind.REVIEW,
            step=state.step,
            step_index=self.fm.index[state.step],
            answer_kind="review",
            choices=(
                Choice("submit", self.message("submit")),
                Choice("change", self.message("change")),
            ),
            can_back=bool(state.history),
        )

    def review_pick(self, state: IntakeState) -> Prompt:
        """Which answer to change: one button per answered question."""
        return Prompt(
            text=self.message("review_change"),
            kind=PromptKind.REVIEW,
            step=state.step,
            step_index=self.fm.index[state.step],
            answer_kind=REVIEW_PICK,
            choices=tuple(Choice(step_id, label) for step_id, label, _ in self.answered(state)),
            can_back=True,
        )

    def answered(self, state: IntakeState) -> list[tuple[str, str, str]]:
        """(step id, label, answer) for every question passed, in order."""
        rows = []
        for step_id in state.history:
            step = self.fm.step(step_id)
            label = self.text(step.label or step.prompt)
            if step_id in state.answers:
                answer = describe(step, state.answers[step_id], self.flow, self.language)
            else:
                answer = self.message("review_empty_answer")
            rows.append((step_id, label, answer))
        return rows

    def confirm(self, state: IntakeState, fact_id: str) -> Prompt:
        """The "Just to check ...?" question for a fact found in vague words."""
        rule = next(r for r in self.flow.screening.red_flags if r.fact == fact_id and r.confirm)
        return Prompt(
            text=self.text(rule.confirm),
            kind=PromptKind.QUESTION,
            step=state.step,
            step_index=self.fm.index[state.step],
            answer_kind=CONFIRM,
            choices=(
                Choice("yes", self.message("confirm_yes")),
                Choice("no", self.message("confirm_no")),
            ),
        )

    def current(self, state: IntakeState) -> Prompt:
        """What the patient is being asked now: a pending "Did you mean ...?" or the question."""
        if state.pending_confirm is not None and not state.ended:
            return self.confirm(state, state.pending_confirm)
        return self.question(state)

    def language_picker(self, state: IntakeState) -> Prompt:
        """Which language to carry on in: one button per flow language, in its own words."""
        choices = tuple(
            Choice(code, self.flow.message("language_name", code)) for code in self.flow.languages
        )
        return Prompt(
            text=self.message("language_prompt"),
            kind=PromptKind.QUESTION,
            step=state.step,
            step_index=self.fm.index[state.step],
            answer_kind=LANGUAGE,
            choices=choices,
        )

    def escalation(self, flag_id: str, level: str) -> Prompt:
        """The message of a raised red flag, in the words of the level it was raised to.

        A modifier can raise a flag above its own level; its message then comes from the
        first flag of the flow written for that level, so a patient told the intake has
        stopped is never told it can wait until tomorrow.
        """
        rule = self.flow.flag(flag_id)
        if rule.level.value != level:
            rule = next((r for r in self.flow.red_flags if r.level.value == level), rule)
        return Prompt(text=self.text(rule.message), kind=PromptKind.ESCALATION, level=level)

    def after_end(self, flag_id: str, level: str) -> Prompt:
        """The message of a flag raised after the intake ended: no more questions are promised.

        An emergency gives its own message; other levels their `after_end` text (falling back
        to `message`), chosen as `escalation` chooses when a modifier raised the level.
        """
        rule = self.flow.flag(flag_id)
        if rule.level.value != level:
            rule = next((r for r in self.flow.red_flags if r.level.value == level), rule)
        text = rule.message if level == "emergency" else (rule.after_end or rule.message)
        return Prompt(text=self.text(text), kind=PromptKind.ESCALATION, level=level)

    def progress(self, state: IntakeState) -> tuple[int, int]:
        """(this question's number, about how many questions in all)."""
        done = len(state.history)
        return done + 1, done + self.remaining(state)

    def remaining(self, state: IntakeState) -> int:
        """Questions from the current step to the review or end, given the answers so far."""
        routing = map(state.answers.get, self.fm.routing_steps)
        key = (state.step, *[tuple(v) if isinstance(v, list) else v for v in routing])
        cached = self.fm.remaining_cache.get(key)
        if cached is None:
            cached = self._walk(state)
            if len(self.fm.remaining_cache) > REMAINING_CACHE_SIZE:
                self.fm.remaining_cache.clear()
            self.fm.remaining_cache[key] = cached
        return cached

    def _walk(self, state: IntakeState) -> int:
        count, step_id, seen = 0, state.step, set()
        still_open = self.fm.ahead(state.step)
        while step_id not in seen:
            seen.add(step_id)
            step = self.fm.step(step_id)
            when = step.ask_when
            asked = when is None or bool(settled(when, state.answers, still_open))
            count += int(step.is_question and asked)
            target = _first_branch(step, state, still_open)
            if target is None:
                break
            step_id = target
        return max(count, 1)

    def _asked(
        self, step_id: str, step: Step, selection: list[str]
    ) -> tuple[str, tuple[Choice, ...]]:
        """A question's text and buttons: built once per step and language (see the module)."""
        key = (step_id, self.language)
        built = self.fm.question_cache.get(key)
        if built is None:
            built = self.fm.question_cache[key] = _built_once(self, step)
        if not isinstance(built, tuple):  # a placeholder in its texts: built for this patient
            return self._question_text(step), self.choices(step, selection)
        text, choices = built
        if selection and isinstance(step.answer, ChoiceAnswer | MultiAnswer):
            choices = tuple(Choice(c.value, c.label, c.value in selection) for c in choices)
        return text, choices

    def _question_text(self, step: Step) -> str:
        text = self.text(step.prompt)
        spec = step.answer
        if isinstance(spec, ScaleAnswer):
            text += f"\n0 = {self.text(spec.low)} · 10 = {self.text(spec.high)}"
        elif isinstance(spec, MultiAnswer):
            text += "\n\n" + self._how_to_choose_many(spec)
        return text

    def _how_to_choose_many(self, spec: MultiAnswer) -> str:
        none = next((o for o in spec.options if o.value == spec.none), None)
        if none is None:
            return self.message("choose_many")
        return self.message("choose_many_or_none", none=self.text(none.label))


_KIND = {"end": PromptKind.END, "info": PromptKind.INFO}
_MARK = "\x00"  # placeholders filled with it show whether a text uses one
_MARKED = Placeholders(booking_url=_MARK, emergency_number=_MARK)
_PER_PATIENT = "per patient"


def _built_once(ui: PromptBuilder, step: Step) -> tuple[str, tuple[Choice, ...]] | str:
    """A question's text and unticked buttons, or `_PER_PATIENT` when a text uses a
    placeholder (or has the mark's character: built afresh, which is merely slower)."""
    marked = PromptBuilder(ui.fm, _MARKED, ui.language)
    text, choices = marked._question_text(step), marked.choices(step, [])
    if _MARK in text or any(_MARK in c.label for c in choices):
        return _PER_PATIENT
    return text, choices


REMAINING_CACHE_SIZE = 20_000


def _first_branch(step: Step, state: IntakeState, still_open: frozenset[str]) -> str | None:
    for branch in branches(step):
        if branch.when is None or settled(branch.when, state.answers, still_open):
            return branch.goto
    return None
