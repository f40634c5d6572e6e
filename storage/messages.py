"""Queries for the messages the bot sent about review items, and their retraction.

Every notice in the review chat and every summary or full-answers message in a clinician's
private chat is remembered (chat id, message id, item id, kind), so that when the patient
deletes their data, or retention purges the item, each one is owed a `retract` through the
outbox: a notice is edited to say the intake was withdrawn, a private message is deleted (or
emptied when Telegram no longer lets the bot delete it). Same conventions as `storage.queue`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.queue import enqueue
from storage.tables import ReviewMessage

NOTICE = "notice"
RETRACT = "retract"


def remember_message(
    session: Session, *, item_id: int, chat_id: int, message_id: int, kind: str
) -> ReviewMessage:
    """Remember a message sent about an item."""
    row = ReviewMessage(review_item_id=item_id, chat_id=chat_id, message_id=message_id, kind=kind)
    session.add(row)
    session.flush()
    return row


def item_messages(
    session: Session, *, item_id: int, kind: str | None = None
) -> list[ReviewMessage]:
    """The messages sent about an item (of one kind), oldest first."""
    query = select(ReviewMessage).where(ReviewMessage.review_item_id == item_id)
    if kind is not None:
        query = query.where(ReviewMessage.kind == kind)
    return list(session.exec(query.order_by(col(ReviewMessage.id))))


def message_row(session: Session, *, row_id: int) -> ReviewMessage | None:
    """One remembered message."""
    return session.get(ReviewMessage, row_id)


def forget_message(session: Session, *, row_id: int) -> None:
    """Drop a remembered message (it has been retracted)."""
    session.execute(delete(ReviewMessage).where(col(ReviewMessage.id) == row_id))


def retract_messages(session: Session, *, item_ids: Sequence[int]) -> int:
    """Owe Telegram the retraction of every message about these items; how many."""
    if not item_ids:
        return 0
    rows = session.exec(
        select(ReviewMessage.id).where(col(ReviewMessage.review_item_id).in_(item_ids))
    )
    ids = [row_id for row_id in rows if row_id is not None]
    for row_id in ids:
        enqueue(session, topic=RETRACT, ref_id=row_id)
    return len(ids)
