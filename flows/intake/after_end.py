"""Text sent after an intake ended: red flags still reach the clinicians.

The ended intake (completed, escalated, abandoned, or cancelled when the text raises a flag) is
screened by the engine (`Conversation.after_end`). A flag raised or repeated there is kept on
the intake's state with its evidence (the patient's words, step, time, marked as after the
end) and put on the intake's review item, opened or raised to that level; an audit row records
it, and an urgent level makes the caller wake the review-chat delivery at once. Text that raises
nothing gets the reminder of how the intake ended.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from flows.engine.conversation.prompts import Placeholders
from flows.engine.conversation.values import Inbound, Turn
from flows.engine.safety.flags import priority
from flows.intake.referral import Referral, flags_of, refer
from flows.intake.sessions import open_state, reseal_state
from flows.registry import FlowRegistry
from storage import queue
from storage.sealing import Sealer
from storage.tables import IntakeSession, Patient

ENDED_STATUSES = frozenset({"completed", "escalated", "abandoned"})


@dataclass(frozen=True, slots=True)
class LateTurn:
    """The reply to text after the end, and what it did to the review item (if anything)."""

    turn: Turn
    referral: Referral | None = None


def answer_after_end(
    tx: Session,
    *,
    record: IntakeSession,
    patient: Patient | None,
    inbound: Inbound,
    registry: FlowRegistry,
    sealer: Sealer,
    places: Placeholders,
) -> LateTurn:
    """Screen one input after the intake `record` ended; store and refer what it raised."""
    assert record.id is not None
    conversation = registry.get(record.flow_id, record.flow_version)
    opened = open_state(record, patient, sealer)
    state = opened.state
    outcome = conversation.after_end(state, inbound.action, places)
    if outcome.stale:
        return LateTurn(Turn(stale=True, session_id=record.id))
    reseal_state(record, opened, state, sealer)  # keeps what else the blob holds
    tx.add(record)
    referral = None
    if outcome.flagged:
        patient_id = patient.id if patient is not None else None
        flags = flags_of(state, only=outcome.flagged)
        referral = refer(
            tx, session_id=record.id, flags=flags, sealer=sealer, patient_id=patient_id
        )
        queue.audit(
            tx,
            actor="patient",
            action="intake.flag_after_end",
            session_id=record.id,
            review_item_id=referral.item_id,
            patient_id=patient_id,
            detail=priority(outcome.flagged),  # a level, never which flag: no health data
        )
    turn = Turn(
        prompts=tuple(outcome.prompts),
        session_id=record.id,
        escalation=outcome.escalation,
        language=state.language,
    )
    return LateTurn(turn, referral)
