"""Red flags during a turn: announcing newly raised flags and the "Just to check" questions.

Newly raised flags are announced in the words of the level they reached (after modifiers),
each distinct message once; an emergency puts its message first and ends the intake. Vague
free text queues confirming questions, asked one at a time before the intake goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.engine.conversation.prompts import PromptBuilder
from flows.engine.conversation.state import ESCALATED, IntakeState
from flows.engine.conversation.values import Prompt
from flows.engine.format.model import Flow, Level
from flows.engine.safety.flags import held_flags


@dataclass
class Outcome:
    """What a turn produced."""

    prompts: list[Prompt] = field(default_factory=list)
    stale: bool = False
    escalation: str | None = None  # the most urgent level newly raised
    answered_step: str | None = None
    answer_text: str | None = None
    refresh: bool = False
    moves: list[tuple[str, str]] = field(default_factory=list)  # `next` followed: (from, to)
    passed_over: list[str] = field(default_factory=list)  # steps whose `ask_when` was false


def raise_flags(
    flow: Flow,
    state: IntakeState,
    ui: PromptBuilder,
    out: Outcome,
    text_flags: tuple[str, ...] = (),
) -> bool:
    """Announce newly raised flags; True when an emergency ended the intake."""
    state.text_flags += [f for f in text_flags if f not in state.text_flags]
    held = held_flags(flow, state.answers, state.text_flags)
    new = {f: lvl for f, lvl in held.items() if _more_urgent(lvl, state.raised.get(f))}
    if not new:
        return False
    said = {ui.escalation(f, lvl).text for f, lvl in state.raised.items()}
    state.raised.update(new)
    top = min((Level(lvl) for lvl in new.values()), key=lambda lvl: lvl.rank)
    out.escalation = top.value
    if top == Level.EMERGENCY:
        first = next(f for f, lvl in new.items() if lvl == Level.EMERGENCY.value)
        out.prompts.insert(0, ui.escalation(first, top.value))
        state.status, state.pending_confirm, state.confirm_queue = ESCALATED, None, []
        return True
    for flag, level in new.items():
        prompt = ui.escalation(flag, level)
        if prompt.text not in said:  # flags of one level often share their message
            said.add(prompt.text)
            out.prompts.append(prompt)
    return False


def queue_confirms(state: IntakeState, unsure: tuple[str, ...]) -> bool:
    """Queue confirming questions for vague flags; True when one is newly asked now."""
    known = {*state.raised, *state.text_flags, *state.confirm_queue, state.pending_confirm}
    state.confirm_queue += [flag for flag in unsure if flag not in known]
    if state.pending_confirm is None and state.confirm_queue:
        state.pending_confirm = state.confirm_queue.pop(0)
        return True
    return False


def confirmed(
    flow: Flow, state: IntakeState, flag: str, yes: bool, ui: PromptBuilder, out: Outcome
) -> None:
    """Apply the answer to a confirming question, then ask the next one or the question."""
    state.pending_confirm = None
    if yes and raise_flags(flow, state, ui, out, text_flags=(flag,)):
        return
    if state.confirm_queue:
        state.pending_confirm = state.confirm_queue.pop(0)
        out.prompts.append(ui.confirm(state, state.pending_confirm))
        return
    out.prompts.append(ui.question(state))


def _more_urgent(level: str, before: str | None) -> bool:
    return before is None or Level(level).rank < Level(before).rank
