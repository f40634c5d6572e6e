"""A simulated patient: reads the bot's messages in a fake chat and decides the next move.

It only sees what a person sees (message texts and buttons), plus the flow file to know which
step a button belongs to: the step index in a button's payload names the step. It answers by
buttons wherever there are buttons (options, multi-select toggles and Done, the 0-10 grid,
Skip, Submit) and types only where the flow asks for typed answers (age, free text, durations).
Used by the Telegram tests and the benchmark alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flows.engine.conversation.buttons import ButtonAction, decode
from flows.engine.format.model import Flow
from tests.bot.fake_bot_api import Sent

TYPED = {
    "age": "34",
    "concern": "Bloating after most meals",
    "concern_duration": "3 months",
    "other_medicines": "Nothing regular",
    "food_triggers": "Dairy, I think",
    "tests_when": "1 year",
    "tests_results": "Normal, I was told",
    "hopes": "To understand what is going on",
}
CHOSEN = {
    "consent": "agree",
    "sex_at_birth": "male",
    "nsaids": "never",
    "self_harm_safety": "safe",
    "alcohol_frequency": "monthly",
    "alcohol_amount": "one_two",
    "gluten": "most_days",
    "sleep": "well",
    "review": "submit",
}
PICKED = {"digestive": ("bloating", "pain")}
SKIPPED = frozenset({"anything_else"})
SCALE = "4"
SAFE_CHOICES = ("no", "never", "none", "not_sure", "rarely")


@dataclass(frozen=True, slots=True)
class Press:
    """Press the button with `data` on message `message_id`."""

    message_id: int
    data: str


@dataclass(frozen=True, slots=True)
class Type:
    """Type a message."""

    text: str


Move = Press | Type


@dataclass
class SimulatedPatient:
    """Decides moves for one user from the messages the bot has sent them."""

    user_id: int
    flow: Flow
    booking_marker: str
    typed: dict[str, str] = field(default_factory=lambda: dict(TYPED))
    steps_seen: list[str] = field(default_factory=list)

    @property
    def step_ids(self) -> list[str]:
        """Step ids in flow order (button payloads carry these indexes)."""
        return list(self.flow.steps)

    def finished(self, messages: Sequence[Sent]) -> bool:
        """Whether the bot has sent the booking link."""
        return any(self.booking_marker in m.text for m in messages)

    def next_move(self, messages: Sequence[Sent]) -> Move | None:
        """The move answering the newest question, or None when there is nothing to answer."""
        question = next((m for m in reversed(messages) if m.buttons), None)
        if question is None or self.finished(messages):
            return None
        step = self._step_of(question)
        if not self.steps_seen or self.steps_seen[-1] != step:
            self.steps_seen.append(step)
        return self._answer(step, question)

    def _step_of(self, message: Sent) -> str:
        button = decode(message.buttons[0][1])
        assert button is not None, "the bot sent a button with an unreadable payload"
        return self.step_ids[button.step_index]

    def _answer(self, step_id: str, question: Sent) -> Move:
        confirm = [d for _, d in question.buttons if _action(d) is ButtonAction.CONFIRM]
        if confirm:  # "Did you mean ...?" after vague words: no, I didn't
            return Press(question.message_id, confirm[1])
        kind = self.flow.steps[step_id].answer.kind
        if step_id in SKIPPED:
            return self._press_action(question, ButtonAction.SKIP)
        if kind in ("number", "text", "duration"):
            return Type(self.typed.get(step_id, "Nothing to add"))
        if kind == "multi":
            return self._toggle_or_done(step_id, question)
        if kind == "scale":
            return self._press_label(question, SCALE)
        return self._press_value(question, step_id, self._choice(step_id))

    def _choice(self, step_id: str) -> str:
        if step_id in CHOSEN:
            return CHOSEN[step_id]
        values = self._values(step_id)
        return next((v for v in SAFE_CHOICES if v in values), values[0])

    def _toggle_or_done(self, step_id: str, question: Sent) -> Move:
        spec = self.flow.steps[step_id].answer
        wanted = PICKED.get(step_id) or ((getattr(spec, "none", None) or self._values(step_id)[0]),)
        for value in wanted:
            index = self._values(step_id).index(value)
            label, data = self._option_buttons(question)[index]
            if not label.startswith("✅"):
                return Press(question.message_id, data)
        return self._press_action(question, ButtonAction.DONE)

    def _values(self, step_id: str) -> list[str]:
        spec = self.flow.steps[step_id].answer
        if spec.kind == "yes_no":
            return ["yes", "no"]
        if spec.kind == "review":
            return ["submit", "change"]
        return [o.value for o in getattr(spec, "options", [])]

    def _option_buttons(self, question: Sent) -> list[tuple[str, str]]:
        options = (
            ButtonAction.CHOOSE,
            ButtonAction.TOGGLE,
            ButtonAction.SELECT,
            ButtonAction.CLEAR,
            ButtonAction.CONFIRM,
        )
        return [(label, data) for label, data in question.buttons if _action(data) in options]

    def _press_value(self, question: Sent, step_id: str, value: str) -> Move:
        index = self._values(step_id).index(value)
        return Press(question.message_id, self._option_buttons(question)[index][1])

    def _press_label(self, question: Sent, label: str) -> Move:
        data = next(d for text, d in question.buttons if text == label)
        return Press(question.message_id, data)

    def _press_action(self, question: Sent, action: ButtonAction) -> Move:
        data = next(d for _, d in question.buttons if _action(d) is action)
        return Press(question.message_id, data)


def _action(data: str) -> ButtonAction | None:
    button = decode(data)
    return button.action if button is not None else None
