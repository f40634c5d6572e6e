"""A session's sealed state: the engine's `IntakeState`, its answers and its source, as one blob.

Everything a session knows about the patient is one JSON value sealed into
`intake_sessions.state`: the current step, the answers, the history, the flags raised, the
selection in progress, the counting progress (`flows.analytics.tally.Progress`), the deep-link
source. One value means one Fernet operation to read a turn and one to write it, and no step id
or answer shape in clear (which questions a patient was asked says which branch they took).

A session row is created when the patient consents (nothing is stored before); the patient row
is created then too, or refreshed when the person has been here before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.values import Inbound
from storage import intakes
from storage.sealing import Sealer
from storage.tables import IntakeSession, Patient, utcnow

if TYPE_CHECKING:
    from flows.engine.format.model import Flow


@dataclass(frozen=True, slots=True)
class Opened:
    """A session's state, the deep-link source it started from, and the whole opened blob."""

    state: IntakeState
    source: str | None
    blob: dict[str, Any]


def seal_state(
    state: IntakeState,
    source: str | None,
    sealer: Sealer,
    *,
    progress: dict[str, Any] | None = None,
) -> str:
    """The stored form of a session's state (and its counting progress)."""
    blob: dict[str, Any] = {
        "step": state.step,
        "answers": state.answers,
        "source": source,
        **state.to_record(),
    }
    if progress is not None:
        blob["progress"] = progress
    return sealer.seal_json(blob)


def open_state(record: IntakeSession, patient: Patient | None, sealer: Sealer) -> Opened:
    """The runtime state of a stored session."""
    blob = sealer.unseal_json(record.state)
    state = IntakeState.from_record(
        step=blob["step"],
        status=record.status,
        record=blob,
        answers=blob.get("answers", {}),
        language=patient.language if patient else None,
    )
    return Opened(state, blob.get("source"), blob)


def session_answers(record: IntakeSession, sealer: Sealer) -> dict[str, Any]:
    """The answers stored in a session (empty when none)."""
    answers: dict[str, Any] = sealer.unseal_json(record.state).get("answers", {})
    return answers


def reseal_state(record: IntakeSession, opened: Opened, state: IntakeState, sealer: Sealer) -> None:
    """Store `state` on the session, keeping what else its blob holds (the counting progress)."""
    record.state = sealer.seal_json({**opened.blob, **state.to_record()})


def open_session(
    tx: Session,
    *,
    patient: Patient | None,
    inbound: Inbound,
    state: IntakeState,
    flow: Flow,
    sealer: Sealer,
) -> tuple[Patient, IntakeSession]:
    """The consenting patient's row (new or refreshed) and their new intake session row."""
    profile = inbound.profile
    if patient is None:
        patient = intakes.create_patient(
            tx,
            telegram_id=inbound.user_id,
            language=state.language,
            display_name=profile.display_name,
            username=profile.username,
            sealer=sealer,
        )
    else:
        patient.display_name = sealer.seal_optional(profile.display_name)
        patient.username = sealer.seal_optional(profile.username)
        patient.language, patient.consented_at = state.language, utcnow()
        patient.unreachable = False
        tx.add(patient)
    assert patient.id is not None
    record = IntakeSession(
        patient_id=patient.id,
        flow_id=flow.id,
        flow_version=flow.version,
        state=seal_state(state, inbound.source, sealer),
    )
    tx.add(record)
    tx.flush()
    return patient, record
