"""Intake session rows: rebuilding the engine's `IntakeState` from one, and opening one.

A session row is created when the patient consents (nothing is stored before); the patient row
is created then too, or refreshed when the person has been here before.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.values import Inbound
from flows.engine.format.model import Flow
from storage import intakes
from storage.sealing import Sealer
from storage.tables import IntakeSession, Patient, utcnow


def restore_state(
    record: IntakeSession, answers: dict[str, Any], patient: Patient | None
) -> IntakeState:
    """The runtime state of a stored session."""
    return IntakeState.from_record(
        step=record.current_step,
        status=record.status,
        record=record.state,
        answers=answers,
        language=patient.language if patient else None,
    )


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
            telegram_user_id=inbound.user_id,
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
        current_step=state.step,
        source=inbound.source,
    )
    tx.add(record)
    tx.flush()
    return patient, record
