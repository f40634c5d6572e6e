"""Queries for the clinician side: review items, the outbox and audit events.

Same conventions as `storage.intakes`: the session first, keyword-only arguments, no commits.
State changes of a review item are single conditional `UPDATE`s whose row count says whether
they happened, so of two clinicians claiming one item exactly one wins, on SQLite and
PostgreSQL alike (see PITFALLS.md). The delivery side of the outbox is in `storage.outbox`.

The urgency is stored as a rank only (0 emergency ... 3 routine, so the queue orders in SQL);
its reasons, the red flags, are sealed. `claimed_by` is the claiming actor's id; acting on
another clinician's claim (release, review) needs `force`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from storage.tables import AuditEvent, IntakeSession, OutboxMessage, Patient, ReviewItem, utcnow

PRIORITY_RANK = {"emergency": 0, "same_day": 1, "soon": 2, "routine": 3}
PRIORITY_OF_RANK = {rank: name for name, rank in PRIORITY_RANK.items()}
STATUSES = ("pending", "claimed", "reviewed", "withdrawn")


def priority_of(item: ReviewItem) -> str:
    """The priority word of an item (from its rank)."""
    return PRIORITY_OF_RANK.get(item.priority_rank, "routine")


def queue_review(session: Session, *, session_id: int, priority: str, red_flags: str) -> ReviewItem:
    """Create the one review item of an intake (or return the one that exists).

    `red_flags` is the sealed JSON list of the flags raised.
    """
    found = session.exec(select(ReviewItem).where(ReviewItem.session_id == session_id)).first()
    if found is not None:
        return found
    item = ReviewItem(
        session_id=session_id, priority_rank=PRIORITY_RANK[priority], red_flags=red_flags
    )
    session.add(item)
    session.flush()
    return item


def find_review_item(
    session: Session, *, session_id: int, for_update: bool = False
) -> ReviewItem | None:
    """The review item of an intake, if it has one (locked when `for_update`)."""
    query = select(ReviewItem).where(ReviewItem.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()


def enqueue(
    session: Session, *, topic: str, ref_id: int, not_before: datetime | None = None
) -> OutboxMessage:
    """Owe a message about `ref_id` to the review chat."""
    row = OutboxMessage(topic=topic, ref_id=ref_id, next_try_at=not_before or utcnow())
    session.add(row)
    session.flush()
    return row


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    session_id: int | None = None,
    review_item_id: int | None = None,
    patient_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Record who did what to which intake (never answer contents)."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            session_id=session_id,
            review_item_id=review_item_id,
            patient_id=patient_id,
            detail=detail,
        )
    )


# --- review items ----------------------------------------------------------------------------


def list_review_items(
    session: Session,
    *,
    status: str | None = None,
    priority: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[ReviewItem]:
    """Review items, most urgent first, then oldest first, optionally filtered."""
    query = select(ReviewItem)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if priority is not None:
        query = query.where(ReviewItem.priority_rank == PRIORITY_RANK[priority])
    if since is not None:
        query = query.where(col(ReviewItem.created_at) >= since)
    if until is not None:
        query = query.where(col(ReviewItem.created_at) < until)
    query = query.order_by(
        col(ReviewItem.priority_rank), col(ReviewItem.created_at), col(ReviewItem.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def review_item_of(session: Session, *, session_id: int) -> ReviewItem | None:
    """The review item queued for an intake session, if any."""
    return session.exec(select(ReviewItem).where(ReviewItem.session_id == session_id)).first()


def get_review_item(session: Session, *, item_id: int) -> ReviewItem | None:
    """The review item with this id, read fresh from the database."""
    return session.exec(
        select(ReviewItem).where(ReviewItem.id == item_id).execution_options(populate_existing=True)
    ).first()


def review_context(
    session: Session, *, item: ReviewItem
) -> tuple[IntakeSession | None, Patient | None]:
    """The intake session and the patient a review item belongs to."""
    intake = session.get(IntakeSession, item.session_id)
    patient = session.get(Patient, intake.patient_id) if intake is not None else None
    return intake, patient


def preload_context(session: Session, *, items: list[ReviewItem]) -> list[object]:
    """Load the sessions and patients of `items` in two queries, so `review_context` needs none.

    A page of review records then costs three queries, not one plus two per item. The session
    keeps loaded rows only while referenced: hold the returned list while reading the items.
    """
    session_ids = [item.session_id for item in items]
    if not session_ids:
        return []
    query = select(IntakeSession).where(col(IntakeSession.id).in_(session_ids))
    intakes = list(session.exec(query))
    patient_ids = {intake.patient_id for intake in intakes}
    patients = list(session.exec(select(Patient).where(col(Patient.id).in_(patient_ids))))
    return [*intakes, *patients]


def count_review_items(session: Session) -> dict[tuple[str, str], int]:
    """How many items there are per (status, priority)."""
    query = select(ReviewItem.status, ReviewItem.priority_rank, func.count()).group_by(
        col(ReviewItem.status), col(ReviewItem.priority_rank)
    )
    return {
        (status, PRIORITY_OF_RANK.get(rank, "routine")): n
        for status, rank, n in session.exec(query)
    }


def claim_item(session: Session, *, item_id: int, by: str, name: str) -> bool:
    """Claim a pending item for actor `by` (shown as `name`); False when it is not pending."""
    now = utcnow()
    return _transition(
        session,
        item_id,
        ("pending",),
        status="claimed",
        claimed_by=by,
        claimed_name=name,
        claimed_at=now,
        updated_at=now,
    )


def claim_next(session: Session, *, by: str, name: str) -> int | None:
    """Claim the most urgent, oldest pending item for `by`; its id, or None when none is free."""
    now = utcnow()
    nxt = (
        select(ReviewItem.id)
        .where(ReviewItem.status == "pending")
        .order_by(col(ReviewItem.priority_rank), col(ReviewItem.created_at), col(ReviewItem.id))
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL: concurrent claimers take different rows
    )
    statement = (
        update(ReviewItem)
        .where(col(ReviewItem.id) == nxt.scalar_subquery(), col(ReviewItem.status) == "pending")
        .values(status="claimed", claimed_by=by, claimed_name=name, claimed_at=now, updated_at=now)
        .returning(col(ReviewItem.id))
    )
    return session.execute(statement).scalar_one_or_none()


def release_item(session: Session, *, item_id: int, by: str, force: bool = False) -> bool:
    """Put an item `by` claimed back in the queue (anyone's with `force`); False otherwise."""
    return _transition(
        session,
        item_id,
        ("claimed",),
        claimant=None if force else by,
        status="pending",
        claimed_by=None,
        claimed_name=None,
        claimed_at=None,
        updated_at=utcnow(),
    )


def mark_reviewed(
    session: Session, *, item_id: int, by: str, name: str, note: str | None, force: bool = False
) -> bool:
    """Mark an item reviewed with a (sealed) note: a pending one, one `by` claimed, or with
    `force` one another clinician claimed; False otherwise."""
    now = utcnow()
    claimed = _transition(
        session,
        item_id,
        ("claimed",),
        claimant=None if force else by,
        status="reviewed",
        claimed_by=by,  # who reviewed it (a forced review overrides the claim)
        claimed_name=name,
        reviewed_at=now,
        note=note,
        updated_at=now,
    )
    if claimed:
        return True
    return _transition(
        session,
        item_id,
        ("pending",),
        status="reviewed",
        claimed_by=by,
        claimed_name=name,
        claimed_at=now,
        reviewed_at=now,
        note=note,
        updated_at=now,
    )


def reopen_item(session: Session, *, item_id: int) -> bool:
    """Send a reviewed item back to pending; False when it is not reviewed."""
    return _transition(
        session,
        item_id,
        ("reviewed",),
        status="pending",
        claimed_by=None,
        claimed_name=None,
        claimed_at=None,
        reviewed_at=None,
        updated_at=utcnow(),
    )


def _transition(
    session: Session,
    item_id: int,
    from_: tuple[str, ...],
    *,
    claimant: str | None = None,
    **values: Any,
) -> bool:
    """One conditional UPDATE; `claimant` also requires the item to be claimed by that actor."""
    statement = update(ReviewItem).where(
        col(ReviewItem.id) == item_id, col(ReviewItem.status).in_(from_)
    )
    if claimant is not None:
        statement = statement.where(col(ReviewItem.claimed_by) == claimant)
    statement = statement.values(**values)
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


# --- audit -----------------------------------------------------------------------------------


def audit_events(
    session: Session,
    *,
    review_item_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditEvent]:
    """Audit events, oldest first, optionally filtered."""
    query = select(AuditEvent)
    if review_item_id is not None:
        query = query.where(AuditEvent.review_item_id == review_item_id)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query.order_by(col(AuditEvent.id))))
