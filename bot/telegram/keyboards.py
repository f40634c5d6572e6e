"""Rendering of engine prompts as Telegram inline keyboards.

Every option of a prompt becomes a button whose callback data is the compact payload of
`flows.engine.conversation.buttons` (session, step index, option index; never text).
Multi-select options tick or untick as shown (so a double tap, or a press on an older copy of
the question, never undoes a choice) and show a check mark when selected, with a Done button
under them; 0-10 scales are a grid of two rows; Back and Skip share the last row. Labels of
Back, Skip and Done come from the flow's messages via `Labels`, so no patient-facing word
lives here.

A keyboard is built as the Bot API's JSON (`reply_markup` takes a JSON string), not as
python-telegram-bot objects: one goes out with nearly every turn, and building and serialising
`InlineKeyboardButton`s cost ten times as much.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from flows.engine.conversation.buttons import Button, ButtonAction, encode
from flows.engine.conversation.values import Choice, Prompt

CHECK = "✅ "
ANSWER_MARK = "» "
SCALE_ROW = 6  # 0-5 on the first row, 6-10 on the second
SHORT_LABEL = 14  # labels up to this length sit two to a row
InlineKeyboard = str  # an inline keyboard markup, as the Bot API's JSON
TEMPLATES = 2048  # keyboards kept cut for reuse (a flow has ~60 questions; multi-selects vary)
TEMPLATE_SESSION = 1  # the session a keyboard is built with before it is cut
ButtonJSON = dict[str, str]


@dataclass(frozen=True, slots=True)
class Labels:
    """Button words (and the progress line) taken from the flow's messages, in one language."""

    back: str
    skip: str
    done: str
    progress: str  # placeholders {n} and {total}


def prompt_text(prompt: Prompt, labels: Labels) -> str:
    """The message text of a prompt: its progress line (for questions), then its text."""
    if prompt.progress is None:
        return prompt.text
    n, total = prompt.progress
    return f"{labels.progress.format(n=n, total=total)}\n\n{prompt.text}"


def prompt_keyboard(
    prompt: Prompt, session_id: int | None, labels: Labels, language: str | None = None
) -> InlineKeyboard | None:
    """The inline keyboard of a prompt, or None when it has no buttons.

    Before consent there is no session yet: its buttons carry session 0 and the language they
    are shown in, so the answer is read (and the intake goes on) in that language.
    """
    if prompt.step_index is None:
        return None
    if not session_id:  # the language rides on the buttons: built afresh (a turn or two)
        return _keyboard(prompt, 0, labels, language)
    template = _template(prompt, labels)
    if template is None:
        return _keyboard(prompt, session_id, labels)
    return _session_of(session_id).join(template)


@lru_cache(maxsize=TEMPLATES)
def _template(prompt: Prompt, labels: Labels) -> list[str] | None:
    """A prompt's keyboard cut where its session goes (the same for every patient), or None.

    Patients on the same question get the same keyboard but for the session in each button's
    payload (`action:session:step:option`); joining the parts with the session is a few string
    copies where building it is a few dozen calls. None when the keyboard could not be cut
    cleanly (a label that happens to hold the cut mark), or when the prompt has no buttons.
    """
    mark = f"~{uuid.uuid4().hex}~"
    keyboard = _keyboard(prompt, TEMPLATE_SESSION, labels)
    if keyboard is None:
        return None
    rows = json.loads(keyboard)["inline_keyboard"]
    for row in rows:
        for button in row:
            wire = button["callback_data"].split(":")
            wire[1] = mark
            button["callback_data"] = ":".join(wire)
    marked = _markup(rows)
    parts = marked.split(mark)
    return parts if len(parts) == 1 + sum(len(row) for row in rows) else None


def _session_of(session_id: int) -> str:
    """A session as button payloads write it."""
    return encode(Button(ButtonAction.CHOOSE, session_id, 0, 0)).split(":")[1]


def _keyboard(
    prompt: Prompt, session_id: int, labels: Labels, language: str | None = None
) -> InlineKeyboard | None:
    assert prompt.step_index is not None
    step, lang = prompt.step_index, language if session_id == 0 else None
    rows = _option_rows(prompt, session_id, step, lang)
    if prompt.multi:
        rows.append([_button(labels.done, ButtonAction.DONE, session_id, step, 0, lang)])
    last = []
    if prompt.can_back:
        last.append(_button(labels.back, ButtonAction.BACK, session_id, step, 0, lang))
    if prompt.can_skip:
        last.append(_button(labels.skip, ButtonAction.SKIP, session_id, step, 0, lang))
    if last:
        rows.append(last)
    return _markup(rows) if rows else None


def yes_no_keyboard(yes: str, no: str, action: ButtonAction, step: int) -> InlineKeyboard:
    """Two buttons on one row: option 0 yes, option 1 no (a transport-level question)."""
    return _markup([[_button(yes, action, 0, step, 0), _button(no, action, 0, step, 1)]])


def keyboard_rows(keyboard: InlineKeyboard) -> list[list[tuple[str, str]]]:
    """(label, callback data) of each button, row by row."""
    return [
        [(b["text"], b["callback_data"]) for b in row]
        for row in json.loads(keyboard)["inline_keyboard"]
    ]


def answered_text(question: str, answer: str) -> str:
    """A question message as it reads once answered: the question and the answer under it."""
    return f"{question}\n\n{ANSWER_MARK}{answer}"


def _option_rows(
    prompt: Prompt, session_id: int, step: int, language: str | None
) -> list[list[ButtonJSON]]:
    action = _option_action(prompt)
    buttons = [
        _button(
            _choice_label(choice, prompt.multi),
            _multi_action(choice) if prompt.multi else action,
            session_id,
            step,
            index,
            language,
        )
        for index, choice in enumerate(prompt.choices)
    ]
    if prompt.answer_kind == "scale":
        return _chunks(buttons, SCALE_ROW)
    if all(len(choice.label) <= SHORT_LABEL for choice in prompt.choices):
        return _chunks(buttons, 2)
    return _chunks(buttons, 1)


def _multi_action(choice: Choice) -> ButtonAction:
    """A multi-select option ticks or unticks, as shown: pressing it twice, or pressing an
    older copy of the question, never undoes what the patient meant."""
    return ButtonAction.CLEAR if choice.selected else ButtonAction.SELECT


def _option_action(prompt: Prompt) -> ButtonAction:
    if prompt.answer_kind == "confirm":
        return ButtonAction.CONFIRM
    if prompt.answer_kind == "language":
        return ButtonAction.LANGUAGE
    return ButtonAction.CHOOSE


def _choice_label(choice: Choice, multi: bool) -> str:
    return f"{CHECK}{choice.label}" if multi and choice.selected else choice.label


def _button(
    label: str,
    action: ButtonAction,
    session: int,
    step: int,
    option: int,
    language: str | None = None,
) -> ButtonJSON:
    return {"text": label, "callback_data": encode(Button(action, session, step, option, language))}


def _markup(rows: list[list[ButtonJSON]]) -> InlineKeyboard:
    return json.dumps({"inline_keyboard": rows}, ensure_ascii=False, separators=(",", ":"))


def _chunks(buttons: Sequence[ButtonJSON], size: int) -> list[list[ButtonJSON]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]
