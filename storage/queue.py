"""Queries for the clinician side: review items, the outbox and audit events.

Same conventions as `storage.intakes`: the session first, keyword-only arguments, no commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage.tables import AuditEvent, OutboxMessage, ReviewItem, utcnow

PRIORITY_RANK = {"emergency": 0, "same_day": 1, "soon": 2, "routine": 3}


def queue_review(
    session: Session, *, session_id: int, priority: str, red_flags: list[dict[str, Any]]
) -> ReviewItem:
    """Create the one review item of an intake (or return the one that exists)."""
    found = session.exec(select(ReviewItem).where(ReviewItem.session_id == session_id)).first()
    if found is not None:
        return found
    item = ReviewItem(
        session_id=session_id,
        priority=priority,
        priority_rank=PRIORITY_RANK[priority],
        red_flags=red_flags,
    )
    session.add(item)
    session.flush()
    return item


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
    detail: str | None = None,
) -> None:
    """Record who did what to which intake (never answer contents)."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            session_id=session_id,
            review_item_id=review_item_id,
            detail=detail,
        )
    )
