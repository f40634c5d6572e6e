"""Loading review items as `ReviewRecord`s, and the errors of the clinician side.

The exception tree (messages name ids and statuses only, never patient data):

    ReviewError
    ├── UnknownItem     no review item with that id
    ├── WrongState      the item is not in a state that allows the action
    │   └── ClaimedByOther  another clinician claimed it (acting on it needs force)
    └── BadFormat       an export format that is not offered
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from flows.engine.records.record import RaisedFlag, ReviewRecord
from flows.intake.sessions import session_answers
from storage import queue
from storage.sealing import Sealer
from storage.tables import IntakeSession, ReviewItem

if TYPE_CHECKING:
    from flows.engine.format.model import Flow

FlowLookup = Callable[[str, int], "Flow"]
"""Finds the flow definition of a (flow id, version), stored or active."""


class ReviewError(Exception):
    """A clinician action that cannot be done; the message says why, with ids only."""


class UnknownItem(ReviewError):
    """There is no review item with the given id."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"there is no review item #{item_id}")
        self.item_id = item_id


class WrongState(ReviewError):
    """The item's status does not allow the action (e.g. claiming a claimed item)."""

    def __init__(self, item_id: int, action: str, status: str, by: str | None = None) -> None:
        who = f" by {by}" if by and status in ("claimed", "reviewed") else ""
        super().__init__(f"cannot {action} review item #{item_id}: it is {status}{who}")
        self.item_id, self.status, self.by = item_id, status, by


class ClaimedByOther(WrongState):
    """The item is claimed by another clinician: acting on it needs `force`."""

    def __init__(self, item_id: int, action: str, by: str | None) -> None:
        super().__init__(item_id, action, "claimed", by)
        self.args = (f"{self.args[0]} (to do it anyway, add --force)",)


class BadFormat(ReviewError):
    """The export format is not one of those offered."""

    def __init__(self, fmt: str, offered: tuple[str, ...]) -> None:
        super().__init__(f"unknown export format '{fmt}' (use one of: {', '.join(offered)})")


def load_item(tx: Session, item_id: int) -> ReviewItem:
    """The review item with this id, or UnknownItem."""
    item = queue.get_review_item(tx, item_id=item_id)
    if item is None:
        raise UnknownItem(item_id)
    return item


def to_record(tx: Session, item: ReviewItem, sealer: Sealer) -> ReviewRecord:
    """A review item with its intake and patient as a plain record (everything unsealed)."""
    intake, patient = queue.review_context(tx, item=item)
    assert item.id is not None
    flags = sealer.unseal_json(item.red_flags)
    return ReviewRecord(
        item_id=item.id,
        intake_id=item.session_id,
        priority=queue.priority_of(item),
        status=item.status,
        red_flags=tuple(RaisedFlag.from_stored(f) for f in flags),
        flow_id=intake.flow_id if intake else "?",
        flow_version=intake.flow_version if intake else 0,
        intake_status=intake_status(intake.status) if intake else "?",
        queued_at=item.created_at,
        started_at=intake.started_at if intake else None,
        ended_at=intake.ended_at if intake else None,
        telegram_user_id=int(sealer.unseal(patient.telegram_id)) if patient else None,
        display_name=sealer.unseal_optional(patient.display_name) if patient else None,
        username=sealer.unseal_optional(patient.username) if patient else None,
        claimed_by=item.claimed_by,
        claimed_name=item.claimed_name,
        claimed_at=item.claimed_at,
        reviewed_at=item.reviewed_at,
        note=sealer.unseal_optional(item.note),
        callback_phone=sealer.unseal_optional(intake.callback_phone) if intake else None,
    )


def intake_status(session_status: str) -> str:
    """The intake's status as clinicians read it: an abandoned intake is `incomplete`, one
    still running (queued early for a same-day flag) is `in_progress`."""
    return INTAKE_STATUS.get(session_status, session_status)


INTAKE_STATUS = {"abandoned": "incomplete", "active": "in_progress"}


def load_answers(tx: Session, item: ReviewItem, sealer: Sealer) -> dict[str, Any]:
    """The stored answers of the item's intake."""
    intake = tx.get(IntakeSession, item.session_id)
    return session_answers(intake, sealer) if intake is not None else {}
