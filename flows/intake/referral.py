"""Telling clinicians about an intake: its one review item, opened or raised as flags come.

An intake has at most one review item. It is opened when the intake ends (completed or
escalated), when a same-day flag is raised mid-intake (an emergency ends the intake), when an
idle intake with flags is closed as abandoned, or when text after the end raises a flag. Each
later event updates that item, never a second one: the priority only ever rises, flags are
merged (the most urgent level of each, evidence appended), and an item a clinician already
reviewed goes back to pending, because there is something new to read. The review chat is
owed a message through the outbox: a new card when the item is opened or its priority rises
to same-day or emergency (an edit far up the chat would go unseen), an edit of the card
otherwise. `Referral.urgent` tells the caller to wake the delivery at once.

The flags are sealed on the item (ids, levels and the patient's words as evidence): merging
opens them and seals the result; only the urgency rank is in clear.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from flows.engine.conversation.state import IntakeState
from flows.engine.safety.flags import priority
from storage import queue
from storage.sealing import Sealer
from storage.tables import ReviewItem, utcnow

URGENT = frozenset({"emergency", "same_day"})


@dataclass(frozen=True, slots=True)
class Referral:
    """What one referral did to the intake's review item."""

    item_id: int
    opened: bool  # a new item
    raised: bool  # an existing item's priority rose
    urgent: bool  # the review chat must hear of it now


def flags_of(state: IntakeState, only: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The review-item entries of the flags raised on `state` (or of `only` those): each
    flag's record with its evidence (see `flows.engine.conversation.evidence`), else a bare
    `{id, level}`."""
    raised = state.raised if only is None else only
    return [state.flags.get(flag) or {"id": flag, "level": level} for flag, level in raised.items()]


def refer(
    tx: Session,
    *,
    session_id: int,
    flags: list[dict[str, Any]],
    sealer: Sealer,
    actor: str = "patient",
    patient_id: int | None = None,
) -> Referral:
    """Open the intake's review item, or update it with `flags` (priority only rises)."""
    levels = {str(f["id"]): str(f["level"]) for f in flags}
    wanted = priority(levels)
    item = queue.find_review_item(tx, session_id=session_id, for_update=True)
    if item is None:
        sealed = sealer.seal_json(flags)
        item = queue.queue_review(tx, session_id=session_id, priority=wanted, red_flags=sealed)
        queue.enqueue(tx, topic="review_item", ref_id=_id(item))
        return Referral(_id(item), opened=True, raised=False, urgent=wanted in URGENT)
    raised = queue.PRIORITY_RANK[wanted] < item.priority_rank
    if raised:
        item.priority_rank = queue.PRIORITY_RANK[wanted]
    item.red_flags = sealer.seal_json(merge_flags(sealer.unseal_json(item.red_flags), flags))
    if item.status == "reviewed":
        item.status, item.reviewed_at = "pending", None
        item.claimed_by = item.claimed_name = item.claimed_at = None
        queue.audit(
            tx,
            actor=actor,
            action="review.reopened",
            review_item_id=item.id,
            patient_id=patient_id,
        )
    item.updated_at = utcnow()
    tx.add(item)
    urgent = raised and wanted in URGENT
    queue.enqueue(tx, topic="review_raised" if urgent else "review_update", ref_id=_id(item))
    return Referral(_id(item), opened=False, raised=raised, urgent=urgent)


def merge_flags(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flags of both lists by id: the newer record of each, at the most urgent level either
    had, with the evidence of both (each entry once)."""
    merged: dict[str, dict[str, Any]] = {str(f["id"]): dict(f) for f in old}
    rank = queue.PRIORITY_RANK
    for flag in new:
        key = str(flag["id"])
        before = merged.get(key)
        entry = dict(flag)
        if before is not None:
            if rank[str(before["level"])] < rank[str(flag["level"])]:
                entry["level"] = before["level"]
            evidence = [*before.get("evidence", []), *flag.get("evidence", [])]
            unique = {json.dumps(e, sort_keys=True): e for e in evidence}
            if unique:
                entry["evidence"] = list(unique.values())
        merged[key] = entry
    return sorted(merged.values(), key=lambda f: rank[str(f["level"])])


def _id(item: ReviewItem) -> int:
    assert item.id is not None
    return item.id
