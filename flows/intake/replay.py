"""What to send a patient again when the reply to their last turn may have been lost.

A reply goes out after its turn commits; a process killed in between leaves the turn applied
and the patient without an answer. The inbox knows (the update is `applied`, not `done`), and
the instance that takes it over sends this instead of the lost reply: never silent, and most of
all not about a red flag. It is rebuilt from the stored intake, not from the lost turn:

- an emergency (or same-day) flag raised on the intake: its message first, in the words it
  was raised with (after the end: its after-end words);
- an intake in progress: "welcome back" and the current question (or confirming question);
- a completed intake: the reminder that the answers were sent, then the end message with the
  booking link; an abandoned or cancelled one: its notice; no intake yet: the first question.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import ACTIVE, COMPLETED, IntakeState
from flows.engine.conversation.values import Prompt, Turn
from flows.engine.format.safety_rules import Level
from flows.intake.sessions import open_state
from flows.registry import FlowRegistry
from storage import intakes
from storage.database import Database
from storage.tables import IntakeSession

URGENT = (Level.EMERGENCY.value, Level.SAME_DAY.value)
NOTICES = {"abandoned": "intake_closed", "cancelled": "cancelled"}


def replay(
    *,
    database: Database,
    registry: FlowRegistry,
    places: Callable[[IntakeSession | None], Placeholders],
    user_id: int,
    language: str | None,
) -> Turn:
    """The prompts that stand in for a patient's lost reply (read only)."""
    hashes = database.sealer.lookup_hashes(user_id)
    with database.reading() as tx:
        patient, record = intakes.find_current(tx, hashes=hashes)
    if record is None:
        conversation = registry.active_conversation()
        state = conversation.new_state(language)
        return Turn(prompts=tuple(conversation.opening(state, places(None))))
    conversation = registry.get(record.flow_id, record.flow_version)
    state = open_state(record, patient, database.sealer).state
    ui = PromptBuilder(conversation.fm, places(record), state.language)
    prompts = [*_urgent(ui, state, ended=record.status != ACTIVE), *_where(ui, state, record)]
    session = record.id if record.status == ACTIVE else None
    return Turn(prompts=tuple(prompts), session_id=session)


def _urgent(ui: PromptBuilder, state: IntakeState, *, ended: bool) -> list[Prompt]:
    for level in URGENT:
        flag = next((f for f, lvl in state.raised.items() if lvl == level), None)
        if flag is not None:
            completed = ended and state.status == COMPLETED
            return [ui.after_end(flag, level) if completed else ui.escalation(flag, level)]
    return []


def _where(ui: PromptBuilder, state: IntakeState, record: IntakeSession) -> list[Prompt]:
    if record.status == ACTIVE:
        pending = state.pending_confirm
        question = ui.confirm(state, pending) if pending else ui.question(state)
        return [ui.notice("resume"), question]
    if record.status == COMPLETED:
        return [ui.notice("finished"), ui.question(state)]
    key = NOTICES.get(record.status)
    return [ui.notice(key)] if key else []
