"""Channel-neutral values that cross the engine's boundary: what comes in, what goes out.

Adapters (the terminal chat, the Telegram bot) turn their input into an `Action` inside an
`Inbound`, and render each outgoing `Prompt` of a `Turn` in their own way. No transport type
appears here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PromptKind(StrEnum):
    """What an outgoing message is, so a renderer can style it."""

    QUESTION = "question"  # waits for an answer (buttons and/or text)
    INFO = "info"  # a message of the flow that needs no answer
    NOTICE = "notice"  # a re-ask reason, a refusal, an acknowledgement
    ESCALATION = "escalation"  # a red-flag message; emergency ones come first
    REVIEW = "review"  # the review screen
    END = "end"  # the last message of an intake


@dataclass(frozen=True, slots=True)
class Choice:
    """One button of a prompt."""

    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """One message to a patient."""

    text: str
    kind: PromptKind = PromptKind.NOTICE
    step: str | None = None  # the step this prompt asks (None for plain messages)
    step_index: int | None = None  # the step's position in the flow, for button payloads
    answer_kind: str | None = None  # the step's answer kind, or "confirm" / "review_pick"
    choices: tuple[Choice, ...] = ()
    multi: bool = False  # toggle buttons plus a Done button
    can_back: bool = False
    can_skip: bool = False
    progress: tuple[int, int] | None = None  # (question n, of about total)
    level: str | None = None  # red-flag level for ESCALATION prompts


class ActionKind(StrEnum):
    """What a patient did."""

    START = "start"
    TEXT = "text"  # typed text (also an edited message that answers the current step)
    CHOOSE = "choose"  # pressed an option button
    TOGGLE = "toggle"  # pressed a multi-select option (selects or clears it)
    SELECT = "select"  # pressed an unticked multi-select option: ticks it (again: no change)
    CLEAR = "clear"  # pressed a ticked multi-select option: unticks it (again: no change)
    DONE = "done"  # pressed Done on a multi-select
    BACK = "back"
    SKIP = "skip"
    CONFIRM = "confirm"  # answered a confirming question: option_index 0 yes, 1 no
    RESTART = "restart"
    CANCEL = "cancel"  # stop the intake in progress without submitting it
    STATUS = "status"
    HELP = "help"
    SCREEN = "screen"  # text screened for red flags only, never an answer (e.g. an old edit)
    LANGUAGE = "language"  # switch language: option_index picks one of the flow's; None asks


BUTTON_KINDS = frozenset(
    {
        ActionKind.CHOOSE,
        ActionKind.TOGGLE,
        ActionKind.SELECT,
        ActionKind.CLEAR,
        ActionKind.DONE,
        ActionKind.SKIP,
        ActionKind.CONFIRM,
    }
)
MULTI_PRESSES = frozenset({ActionKind.TOGGLE, ActionKind.SELECT, ActionKind.CLEAR})


@dataclass(frozen=True, slots=True)
class Action:
    """A patient's input in channel-neutral form.

    For button presses (CHOOSE, TOGGLE, DONE, BACK, SKIP, CONFIRM), `session_id`,
    `step_index` and `option_index` say which button of which prompt was pressed; a press that
    does not belong to the current prompt of the current intake is stale. Typed input is TEXT.
    `language` is the language the question was shown in (a button's, or a typed answer's);
    it matters only before consent, when no stored session holds the patient's language.
    """

    kind: ActionKind
    text: str | None = None
    session_id: int | None = None
    step_index: int | None = None
    option_index: int | None = None
    language: str | None = None
    step: str | None = None  # typed text answering a known question (an edit): its step

    @property
    def bound(self) -> bool:
        """Whether this is a button press, which belongs to the intake it was shown in.

        Back is a button too, unless typed (/back carries no session): a Back button of an
        earlier intake is as stale as any other of its buttons; so is a /language pick.
        """
        if self.kind in (ActionKind.BACK, ActionKind.LANGUAGE):
            pressed = self.session_id if self.kind == ActionKind.BACK else self.option_index
            return pressed is not None
        return self.kind in BUTTON_KINDS


@dataclass(frozen=True, slots=True)
class Profile:
    """What the channel knows of the patient, for the clinician summary only."""

    display_name: str | None = None
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One patient update: who, which update (for idempotency), and what they did."""

    user_id: int
    action: Action
    update_id: int | None = None  # None: not deduplicated (terminal chat)
    profile: Profile = field(default_factory=Profile)
    source: str | None = None  # a deep-link payload on /start


@dataclass(frozen=True, slots=True)
class Turn:
    """The result of one patient update."""

    prompts: tuple[Prompt, ...] = ()
    session_id: int | None = None
    ended: bool = False
    escalation: str | None = None  # the highest red-flag level raised in this turn
    duplicate: bool = False  # the update was seen before; nothing changed
    deferred: bool = False  # an older update of this patient waits to be applied first
    failed: bool = False  # the turn failed; prompts are the fallback (nothing was stored)
    stale: bool = False  # a button of another step or intake; nothing changed
    answered_step: str | None = None  # the step this turn answered (renderers show it)
    answer_text: str | None = None  # the answer as the patient would read it
    refresh: bool = False  # prompts[0] replaces the pressed question in place (multi toggles)
    language: str | None = None  # the language the prompts are written in
    offer_contact: bool = False  # an urgent flag was raised: offer to share a call-back number
