"""Queries for retention: which rows have outlived their period, and removing them in batches.

Each category selects at most `limit` ids older than a cut-off, so a purge holds the write
lock for one short batch at a time (patients' turns go on between batches). Intakes leave
through `storage.erasure.erase_sessions` (messages retracted, audit links cut). Never
selected: intakes still waiting for a clinician (pending or claimed review items) and
active intakes. Same conventions as `storage.queue`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, update
from sqlmodel import Session, col, select

from storage.erasure import Erased, erase_sessions
from storage.tables import (
    AuditEvent,
    InboxUpdate,
    IntakeSession,
    OutboxMessage,
    Patient,
    ReviewItem,
)

UNFINISHED = ("cancelled", "abandoned", "withdrawn", "declined")


def unfinished_sessions(session: Session, *, before: datetime, limit: int | None) -> list[int]:
    """Intakes that ended without reaching the queue, last changed before `before`."""
    has_item = exists().where(col(ReviewItem.session_id) == col(IntakeSession.id))
    query = (
        select(IntakeSession.id)
        .where(col(IntakeSession.status).in_(UNFINISHED), ~has_item)
        .where(col(IntakeSession.updated_at) < before)
        .order_by(col(IntakeSession.id))
        .limit(limit)
    )
    return [i for i in session.exec(query) if i is not None]


def reviewed_sessions(session: Session, *, before: datetime, limit: int | None) -> list[int]:
    """Intakes whose review item was marked reviewed before `before`."""
    query = (
        select(ReviewItem.session_id)
        .where(ReviewItem.status == "reviewed", col(ReviewItem.reviewed_at) < before)
        .order_by(col(ReviewItem.id))
        .limit(limit)
    )
    return list(session.exec(query))


def erase(session: Session, *, session_ids: list[int]) -> Erased:
    """Erase these intakes (see `storage.erasure`)."""
    erased = Erased()
    erase_sessions(session, session_ids=session_ids, erased=erased)
    return erased


def orphan_patients(session: Session, *, limit: int | None) -> list[int]:
    """Patients with no intake left (every one purged), whose rows serve nothing."""
    has_session = exists().where(col(IntakeSession.patient_id) == col(Patient.id))
    query = select(Patient.id).where(~has_session).order_by(col(Patient.id)).limit(limit)
    return [i for i in session.exec(query) if i is not None]


def delete_patients(session: Session, *, patient_ids: list[int]) -> int:
    """Delete patient rows (with no intakes left); cut audit links to them."""
    session.execute(
        update(AuditEvent)
        .where(col(AuditEvent.patient_id).in_(patient_ids))
        .values(patient_id=None)
    )
    return _count(session.execute(delete(Patient).where(col(Patient.id).in_(patient_ids))))


def old_audit(session: Session, *, before: datetime, limit: int | None) -> list[int]:
    """Audit events written before `before`."""
    query = select(AuditEvent.id).where(col(AuditEvent.at) < before)
    return [i for i in session.exec(query.order_by(col(AuditEvent.id)).limit(limit)) if i]


def delete_audit(session: Session, *, ids: list[int]) -> int:
    """Delete audit events."""
    return _count(session.execute(delete(AuditEvent).where(col(AuditEvent.id).in_(ids))))


def old_updates(session: Session, *, before: datetime, limit: int | None) -> list[int]:
    """Inbox rows applied before `before` (past Telegram's redelivery window); never pending."""
    query = select(InboxUpdate.update_id).where(
        InboxUpdate.status != "pending", col(InboxUpdate.processed_at) < before
    )
    return list(session.exec(query.order_by(col(InboxUpdate.update_id)).limit(limit)))


def delete_updates(session: Session, *, ids: list[int]) -> int:
    """Delete inbox rows."""
    statement = delete(InboxUpdate).where(col(InboxUpdate.update_id).in_(ids))
    return _count(session.execute(statement))


def old_outbox(session: Session, *, before: datetime, limit: int | None) -> list[int]:
    """Outbox rows delivered before `before` (rows still owed are never purged)."""
    query = select(OutboxMessage.id).where(col(OutboxMessage.sent_at) < before)
    return [i for i in session.exec(query.order_by(col(OutboxMessage.id)).limit(limit)) if i]


def delete_outbox(session: Session, *, ids: list[int]) -> int:
    """Delete delivered outbox rows."""
    return _count(session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids))))


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)
