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
    wire = (
        f"{button.action.value}:{_b36(button.session_id)}:"
        f"{_b36(button.step_index)}:{_b36(button.option_index)}"
    )
    if button.language is not None and button.session_id == 0:
        return f"{wire}:{button.language}"
    return wire


def decode(payload: str) -> Button | None:
    """The button a payload names, or None for anything malformed."""
    parts = payload.split(":")
    if len(parts) not in (4, 5) or len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return None
    language = parts.pop() if len(parts) == 5 else None
    if language is not None and not _LANGUAGE.match(language):
        return None
    action = _ACTIONS.get(parts[0])
    try:
        numbers = [int(p, 36) for p in parts[1:]]
    except ValueError:
        return None
    if action is None:
        return None
    if any(n < 0 for n in numbers) or (language is not None and numbers[0] != 0):
        return None
    return Button(action, numbers[0], numbers[1], numbers[2], language)


def _b36(number: int) -> str:
    """`number` (>= 0) in base 36, lower case, without leading zeros."""
    if number < _PAIRS:
        return _SHORT[number]
    high, low = divmod(number, _PAIRS)
    return _b36(high) + _PADDED[low]


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS = 36 * 36
_PADDED = tuple(a + b for a in _DIGITS for b in _DIGITS)  # "00" .. "zz"
_SHORT = tuple(pair.lstrip("0") or "0" for pair in _PADDED)  # "0" .. "zz"
_ACTIONS = {action.value: action for action in ButtonAction}
