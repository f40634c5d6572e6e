"""Compact button payloads: which intake, which step, which option, as short integer keys.

Telegram allows at most 64 bytes of callback data, so a payload never carries text: it names
the session id, the step's index in the flow and the option's index in the step. Buttons shown
before consent (session 0) may add the language they were shown in (`c:0:0:1:es`), since no
stored session holds it yet. The flow validator uses `MAX_PAYLOAD_BYTES` and `encode` to prove
every button of a flow fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_PAYLOAD_BYTES = 64
LARGEST_SESSION_ID = 2**63 - 1
_LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


class ButtonAction(StrEnum):
    """What a button does; one letter on the wire."""

    CHOOSE = "c"
    TOGGLE = "t"  # flips a multi-select option (still read on keyboards sent by older versions)
    SELECT = "p"  # ticks an unticked multi-select option; a second press changes nothing
    CLEAR = "u"  # unticks a ticked one; a second press changes nothing
    DONE = "d"
    BACK = "b"
    SKIP = "s"
    CONFIRM = "y"  # answer to a confirming question / system yes-no (option index 0 yes, 1 no)
    SYSTEM = "x"  # a transport-level button (e.g. /delete confirmation); meaning is the adapter's
    LANGUAGE = "l"  # a language of the /language question (option index in the flow's list)


@dataclass(frozen=True, slots=True)
class Button:
    """A decoded payload."""

    action: ButtonAction
    session_id: int
    step_index: int
    option_index: int
    language: str | None = None  # only on buttons shown before consent (session 0)


def encode(button: Button) -> str:
    """The wire form: `action:session:step:option` in base 36, then `:language` if any."""
    parts = (button.session_id, button.step_index, button.option_index)
    wire = [button.action.value, *(_b36(n) for n in parts)]
    if button.language is not None and button.session_id == 0:
        wire.append(button.language)
    return ":".join(wire)


def decode(payload: str) -> Button | None:
    """The button a payload names, or None for anything malformed."""
    parts = payload.split(":")
    if len(parts) not in (4, 5) or len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return None
    language = parts.pop() if len(parts) == 5 else None
    if language is not None and not _LANGUAGE.match(language):
        return None
    try:
        action = ButtonAction(parts[0])
        numbers = [int(p, 36) for p in parts[1:]]
    except ValueError:
        return None
    if any(n < 0 for n in numbers) or (language is not None and numbers[0] != 0):
        return None
    return Button(action, numbers[0], numbers[1], numbers[2], language)


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rem = divmod(number, 36)
        out.append(digits[rem])
    return "".join(reversed(out))
