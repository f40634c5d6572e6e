"""A scenario run's moves as the lines a patient would type into a chat without buttons.

Options become their numbers (a multi-select is one line, `1, 3`), a 0-10 scale its number,
a "Just to check" answer `yes` or `no`; typed text and commands stay as they are. Typing the
numbers keeps option labels out of the free-text screen, so the typed replay takes the same
path as the pressed one. `intake-bot chat --scenario` and the tests replay runs this way.
"""

from __future__ import annotations

from collections.abc import Iterable

from flows.engine.format.model import Flow
from flows.workbench.runs import Move


def typed_lines(moves: Iterable[Move], flow: Flow) -> list[str]:
    """The typed lines that make the same moves."""
    lines: list[str] = []
    toggled: list[str] = []
    for move in moves:
        if move.kind == "toggle":
            toggled.append(str((move.index or 0) + 1))
        elif move.kind == "done":
            lines.append(", ".join(toggled))
            toggled = []
        elif move.kind == "press":
            lines.append(_pressed(move, flow))
        else:  # type, command, confirm: the value is what is typed
            lines.append(move.value or "")
    return lines


def _pressed(move: Move, flow: Flow) -> str:
    step = flow.steps.get(move.step or "")
    if step is not None and step.kind == "scale":
        return move.value or "0"
    return str((move.index or 0) + 1)
