"""Queries for the delivery side of the outbox: due rows, leases, outcomes.

Rows are owed messages (`storage.queue.enqueue`). A worker takes due rows with `lease_outbox`,
one conditional `UPDATE` that moves the row's next try ahead only if it is still due, so two
workers (two bot instances on one database) never take the same row. Same conventions as
`storage.queue`: the session first, keyword-only arguments, no commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from storage.tables import OutboxMessage, utcnow


def due_outbox(
    session: Session, *, now: datetime | None = None, limit: int = 20
) -> list[OutboxMessage]:
    """Unsent outbox rows whose time has come, oldest first."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None))
        .where(col(OutboxMessage.next_try_at) <= (now or utcnow()))
        .order_by(col(OutboxMessage.next_try_at), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query))


def lease_outbox(session: Session, *, row_id: int, now: datetime, until: datetime) -> bool:
    """Take a due row for one attempt until `until`; False when another worker took it first."""
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == row_id,
            col(OutboxMessage.sent_at).is_(None),
            col(OutboxMessage.next_try_at) <= now,
        )
        .values(next_try_at=until)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def next_outbox_time(session: Session) -> datetime | None:
    """When the earliest unsent outbox row is due, if any."""
    query = select(func.min(OutboxMessage.next_try_at)).where(col(OutboxMessage.sent_at).is_(None))
    return session.exec(query).first()


def mark_sent(session: Session, *, row_id: int) -> None:
    """Record an outbox row as delivered."""
    row = session.get(OutboxMessage, row_id)
    if row is not None:
        row.sent_at, row.last_error = utcnow(), None
        row.attempts += 1
        session.add(row)


def mark_failed(session: Session, *, row_id: int, error: str, next_try_at: datetime) -> int:
    """Record a failed attempt and when to try again; the attempts so far."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return 0
    row.attempts += 1
    row.last_error, row.next_try_at = error[:200], next_try_at
    session.add(row)
    return row.attempts


def pending_outbox(session: Session) -> list[OutboxMessage]:
    """Every unsent outbox row (for status pages and tests)."""
    query = select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
    return list(session.exec(query.order_by(col(OutboxMessage.id))))
