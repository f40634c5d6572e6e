"""Erasing rows about a patient: their intakes, review items, updates and audit links.

`erase_sessions` is the one way intakes leave the database, for /delete and for retention
alike: their review items and sessions are deleted, every message about them is owed a
retraction, outbox rows still owed about them are dropped, and audit events about them lose
their links (the event stays, about no one). `erase_patient` adds the patient row, their
inbox rows (received and processed updates) and denied-access rows; what a legal retention
duty keeps is passed in as the review items to keep, and then the patient row stays, detached
from every look-up. Same conventions as `storage.queue`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, update
from sqlmodel import Session, col, select

from storage import inbox
from storage.messages import retract_messages
from storage.tables import (
    AuditEvent,
    IntakeSession,
    OutboxMessage,
    Patient,
    ReviewItem,
)

ITEM_TOPICS = ("review_item", "review_update")
ERASED_ACTOR = "user:erased"


@dataclass
class Erased:
    """What an erasure removed (counts only)."""

    sessions: int = 0
    review_items: int = 0
    messages: int = 0
    updates: int = 0
    audit_unlinked: int = 0
    kept_items: list[int] = field(default_factory=list)

    def describe(self) -> str:
        """The counts as an audit detail."""
        return (
            f"sessions={self.sessions} review_items={self.review_items} "
            f"messages={self.messages} updates={self.updates} "
            f"audit_unlinked={self.audit_unlinked} kept={len(self.kept_items)}"
        )


def erase_sessions(session: Session, *, session_ids: Sequence[int], erased: Erased) -> None:
    """Delete intakes with their review items; retract their messages; unlink their audit."""
    if not session_ids:
        return
    items = list(
        session.exec(select(ReviewItem.id).where(col(ReviewItem.session_id).in_(session_ids)))
    )
    item_ids = [i for i in items if i is not None]
    erased.messages += retract_messages(session, item_ids=item_ids)
    if item_ids:
        session.execute(
            delete(OutboxMessage).where(
                col(OutboxMessage.topic).in_(ITEM_TOPICS),
                col(OutboxMessage.ref_id).in_(item_ids),
                col(OutboxMessage.sent_at).is_(None),
            )
        )
    erased.audit_unlinked += _unlink_audit(
        session,
        col(AuditEvent.session_id).in_(session_ids),
        col(AuditEvent.review_item_id).in_(item_ids or [-1]),
    )
    erased.review_items += _count(
        session.execute(delete(ReviewItem).where(col(ReviewItem.session_id).in_(session_ids)))
    )
    erased.sessions += _count(
        session.execute(delete(IntakeSession).where(col(IntakeSession.id).in_(session_ids)))
    )


def erase_patient(
    session: Session,
    *,
    patient: Patient | None,
    hashes: Sequence[int],
    keep_reviewed_since: datetime | None = None,
) -> Erased:
    """Erase everything about one person; reviewed items since `keep_reviewed_since` stay."""
    erased = Erased()
    if patient is not None and patient.id is not None:
        kept = _kept_items(session, patient.id, keep_reviewed_since)
        erased.kept_items = [item_id for item_id, _ in kept]
        kept_sessions = {session_id for _, session_id in kept}
        sessions = session.exec(
            select(IntakeSession.id).where(IntakeSession.patient_id == patient.id)
        )
        erase = [s for s in sessions if s is not None and s not in kept_sessions]
        erase_sessions(session, session_ids=erase, erased=erased)
        erased.messages += retract_messages(session, item_ids=erased.kept_items)
        _erase_person_row(session, patient, erased)
    erased.updates += inbox.erase(session, chat_hashes=hashes)
    actors = [f"user:{h}" for h in hashes]
    erased.audit_unlinked += _count(
        session.execute(
            update(AuditEvent).where(col(AuditEvent.actor).in_(actors)).values(actor=ERASED_ACTOR)
        )
    )
    return erased


def _kept_items(session: Session, patient_id: int, since: datetime | None) -> list[tuple[int, int]]:
    """(item id, session id) of the patient's reviewed items a legal duty keeps."""
    if since is None:
        return []
    query = (
        select(ReviewItem.id, ReviewItem.session_id)
        .join(IntakeSession, col(IntakeSession.id) == col(ReviewItem.session_id))
        .where(
            IntakeSession.patient_id == patient_id,
            ReviewItem.status == "reviewed",
            col(ReviewItem.reviewed_at) >= since,
        )
    )
    return [(item_id, session_id) for item_id, session_id in session.exec(query) if item_id]


def _erase_person_row(session: Session, patient: Patient, erased: Erased) -> None:
    """Delete the patient row, or detach it from look-ups when kept records need it."""
    assert patient.id is not None
    if erased.kept_items:
        patient.telegram_id_hash = -patient.id  # no keyed hash is negative: nobody finds it
        patient.unreachable = True
        session.add(patient)
        return
    erased.audit_unlinked += _unlink_audit(session, col(AuditEvent.patient_id) == patient.id)
    session.delete(patient)
    session.flush()


def _unlink_audit(session: Session, *conditions: Any) -> int:
    """Cut the links of audit events matching any condition to the intakes and patient."""
    statement = (
        update(AuditEvent)
        .where(or_(*conditions))
        .values(session_id=None, review_item_id=None, patient_id=None)
    )
    return _count(session.execute(statement))


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)
