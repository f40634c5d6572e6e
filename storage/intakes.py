"""Queries for patients, intake sessions, answers and flow versions.

Every function takes the open `Session` first and the rest keyword-only; none commits (the
caller owns the transaction). `for_update` asks PostgreSQL for a row lock; SQLite already
serialises writers with `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, update
from sqlmodel import Session, col, func, select

from storage.sealing import Sealer
from storage.tables import (
    Answer,
    AuditEvent,
    FlowVersion,
    IntakeSession,
    Patient,
    utcnow,
)

ACTIVE = "active"
ANSWERS: Table = Answer.__table__  # type: ignore[attr-defined]  # sqlmodel leaves it untyped


def find_current(
    session: Session, *, telegram_user_id: int, for_update: bool = False
) -> tuple[Patient | None, IntakeSession | None]:
    """The patient and their newest session in one query (the session locked when asked)."""
    query = (
        select(Patient, IntakeSession)
        .join(IntakeSession, col(IntakeSession.patient_id) == col(Patient.id))
        .where(Patient.telegram_user_id == telegram_user_id)
        .order_by(col(IntakeSession.id).desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update(of=IntakeSession)
    row = session.exec(query).first()
    if row is not None:
        return row[0], row[1]
    return find_patient(session, telegram_user_id=telegram_user_id), None


def find_patient(session: Session, *, telegram_user_id: int) -> Patient | None:
    """The patient with this Telegram user id, if any."""
    query = select(Patient).where(Patient.telegram_user_id == telegram_user_id)
    return session.exec(query).first()


def create_patient(
    session: Session,
    *,
    telegram_user_id: int,
    language: str | None,
    display_name: str | None,
    username: str | None,
    sealer: Sealer,
) -> Patient:
    """A new consenting patient row."""
    patient = Patient(
        telegram_user_id=telegram_user_id,
        language=language,
        display_name=sealer.seal_optional(display_name),
        username=sealer.seal_optional(username),
        consented_at=utcnow(),
    )
    session.add(patient)
    session.flush()
    return patient


def current_session(
    session: Session, *, patient_id: int, for_update: bool = False
) -> IntakeSession | None:
    """The patient's newest intake session, locked when `for_update`."""
    query = (
        select(IntakeSession)
        .where(IntakeSession.patient_id == patient_id)
        .order_by(col(IntakeSession.id).desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def load_answers(session: Session, *, session_id: int, sealer: Sealer) -> dict[str, Any]:
    """Every stored answer of a session, by step id."""
    rows = session.execute(
        select(ANSWERS.c.step_id, ANSWERS.c.value).where(ANSWERS.c.session_id == session_id)
    )
    return {step: json.loads(sealer.unseal(value)) for step, value in rows}


def save_answers(
    session: Session,
    *,
    session_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    sealer: Sealer,
) -> None:
    """Write the difference between two answer maps (insert, update, delete)."""
    removed = [step for step in before if step not in after]
    if removed:
        session.execute(
            delete(Answer).where(
                col(Answer.session_id) == session_id, col(Answer.step_id).in_(removed)
            )
        )
    now = utcnow()
    for step, value in after.items():
        if step in before and before[step] == value:
            continue
        sealed = sealer.seal(json.dumps(value))
        if step in before:
            session.execute(
                update(ANSWERS)
                .where(ANSWERS.c.session_id == session_id, ANSWERS.c.step_id == step)
                .values(value=sealed, answered_at=now)
            )
        else:
            session.execute(
                insert(ANSWERS).values(
                    session_id=session_id, step_id=step, value=sealed, answered_at=now
                )
            )


def delete_patient(session: Session, *, patient: Patient) -> list[int]:
    """Erase a patient's answers, sessions' contents and personal fields; the session ids."""
    ids = list(session.exec(select(IntakeSession.id).where(IntakeSession.patient_id == patient.id)))
    session_ids = [i for i in ids if i is not None]
    if session_ids:
        session.execute(delete(Answer).where(col(Answer.session_id).in_(session_ids)))
    for row in session.exec(select(IntakeSession).where(col(IntakeSession.id).in_(session_ids))):
        row.state, row.source = {}, None
        if row.status == ACTIVE:
            row.status, row.ended_at = "withdrawn", utcnow()
        session.add(row)
    patient.display_name = patient.username = patient.language = None
    patient.consented_at = None
    session.add(patient)
    return session_ids


def in_progress_by_step(session: Session, *, flow_id: str, version: int) -> dict[str, int]:
    """How many intakes in progress on a flow version sit at each step."""
    rows = session.exec(
        select(IntakeSession.current_step, func.count())
        .where(
            IntakeSession.flow_id == flow_id,
            IntakeSession.flow_version == version,
            IntakeSession.status == ACTIVE,
        )
        .group_by(IntakeSession.current_step)
    )
    return dict(rows.all())


def erase_session(session: Session, *, session_id: int, patient_id: int) -> None:
    """Delete a session with its answers and audit trail, and its patient if it has no other."""
    session.execute(delete(Answer).where(col(Answer.session_id) == session_id))
    session.execute(delete(AuditEvent).where(col(AuditEvent.session_id) == session_id))
    session.execute(delete(IntakeSession).where(col(IntakeSession.id) == session_id))
    others = session.exec(select(IntakeSession.id).where(IntakeSession.patient_id == patient_id))
    if others.first() is None:
        session.execute(delete(Patient).where(col(Patient.id) == patient_id))


def stored_flow(session: Session, *, flow_id: str, version: int) -> FlowVersion | None:
    """The stored source of a flow version."""
    return session.get(FlowVersion, (flow_id, version))


def store_flow(
    session: Session, *, flow_id: str, version: int, digest: str, source: str
) -> FlowVersion:
    """Keep the source of a flow version (first writer wins)."""
    row = FlowVersion(flow_id=flow_id, version=version, digest=digest, source=source)
    session.add(row)
    session.flush()
    return row


def idle_sessions(session: Session, *, updated_before: datetime, limit: int = 100) -> list[int]:
    """Ids of active sessions with no turn since `updated_before`, oldest first."""
    query = (
        select(IntakeSession.id)
        .where(IntakeSession.status == ACTIVE, col(IntakeSession.updated_at) < updated_before)
        .order_by(col(IntakeSession.updated_at))
        .limit(limit)
    )
    return [i for i in session.exec(query) if i is not None]


def lock_idle(
    session: Session, *, session_id: int, updated_before: datetime
) -> IntakeSession | None:
    """The session, locked, if it is still active and idle since `updated_before`."""
    query = (
        select(IntakeSession)
        .where(
            IntakeSession.id == session_id,
            IntakeSession.status == ACTIVE,
            col(IntakeSession.updated_at) < updated_before,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(query).first()
