"""Compact button payloads: which intake, which step, which option, as short integer keys.

Telegram allows at most 64 bytes of callback data, so a payload never carries text: it names
the session id, the step's index in the flow and the option's index in the step. The flow
validator uses `MAX_PAYLOAD_BYTES` and `encode` to prove every button of a flow fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_PAYLOAD_BYTES = 64
LARGEST_SESSION_ID = 2**63 - 1


class ButtonAction(StrEnum):
    """What a button does; one letter on the wire."""

    CHOOSE = "c"
    TOGGLE = "t"
    DONE = "d"
    BACK = "b"
    SKIP = "s"
    CONFIRM = "y"  # answer to a confirming question / system yes-no (option index 0 yes, 1 no)
    SYSTEM = "x"  # a transport-level button (e.g. /delete confirmation); meaning is the adapter's


@dataclass(frozen=True, slots=True)
class Button:
    """A decoded payload."""

    action: ButtonAction
    session_id: int
    step_index: int
    option_index: int


def encode(button: Button) -> str:
    """The wire form: `action:session:step:option` in base 36."""
    parts = (button.session_id, button.step_index, button.option_index)
    return ":".join([button.action.value, *(_b36(n) for n in parts)])


def decode(payload: str) -> Button | None:
    """The button a payload names, or None for anything malformed."""
    parts = payload.split(":")
    if len(parts) != 4 or len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return None
    try:
        action = ButtonAction(parts[0])
        numbers = [int(p, 36) for p in parts[1:]]
    except ValueError:
        return None
    if any(n < 0 for n in numbers):
        return None
    return Button(action, numbers[0], numbers[1], numbers[2])


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rem = divmod(number, 36)
        out.append(digits[rem])
    return "".join(reversed(out))
