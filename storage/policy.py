"""What each column may hold: sealed, a keyed hash, or clear metadata (with the reason it is clear).

This is the checked data-protection policy: `intake-bot keys rotate` re-seals exactly the
`SEALED` columns and renews the `KEYED_HASH` ones, and a test walks every table and column of
the metadata and fails for any column not listed here, so a new column cannot slip through
unclassified. Clear columns are ids, timestamps, statuses, counters and operational values;
none says what a patient answered or who they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["sealed", "keyed_hash", "clear"]


@dataclass(frozen=True, slots=True)
class Rule:
    """How one column is stored, and why."""

    kind: Kind
    reason: str


def sealed(reason: str) -> Rule:
    """A column stored as `storage.sealing` forms only."""
    return Rule("sealed", reason)


def keyed_hash(reason: str) -> Rule:
    """A column holding an HMAC of an identifier under a key derived from the encryption key."""
    return Rule("keyed_hash", reason)


def clear(reason: str) -> Rule:
    """A column stored as it is: metadata that says nothing about health or identity."""
    return Rule("clear", reason)


ROW_ID = clear("row id, assigned by the database")
CREATED = clear("when the row was written")
ITEM_LINK = clear("the review item it belongs to (an id)")

POLICY: dict[str, dict[str, Rule]] = {
    "patients": {
        "id": ROW_ID,
        "telegram_id_hash": keyed_hash("finds a patient's rows by Telegram id without storing it"),
        "telegram_id": sealed("the Telegram user id, for clinicians and exports"),
        "language": clear("a language code, needed to pick texts before anything is unsealed"),
        "display_name": sealed("the patient's Telegram name"),
        "username": sealed("the patient's Telegram username"),
        "consented_at": clear("when consent was given (a timestamp)"),
        "unreachable": clear("whether Telegram refused delivery (a flag)"),
        "created_at": CREATED,
    },
    "intake_sessions": {
        "id": ROW_ID,
        "patient_id": clear("the patient row (an id)"),
        "flow_id": clear("which operator flow runs (the same for every patient)"),
        "flow_version": clear("which version of that flow"),
        "status": clear("active, completed, escalated, cancelled ...: drives queries and purges"),
        "state": sealed("answers, free text, current step, history, flags, source: one blob"),
        "step_key": keyed_hash("the current step, so stats counts intakes per step unopened"),
        "callback_phone": sealed("a phone number the patient shared for a call-back"),
        "started_at": CREATED,
        "updated_at": clear("last change (a timestamp, for retention)"),
        "ended_at": clear("when the intake ended (a timestamp, for retention)"),
    },
    "inbox": {
        "update_id": clear("Telegram's update id, for at-most-once handling in order"),
        "chat_hash": keyed_hash("the chat (a patient's Telegram id): orders its updates, /delete"),
        "chat": sealed("the chat id, to send a reply lost with a killed instance again"),
        "payload": sealed("the update as received (the patient's words, name) until applied"),
        "status": clear("pending, applied, done, failed: the inbox's state"),
        "owner": clear("the bot instance holding it (host and listening address)"),
        "received_at": clear("arrival (a timestamp, orders and finds stuck updates)"),
        "processed_at": clear("when it was applied (a timestamp, for retention)"),
    },
    "bot_instances": {
        "id": clear("a running bot process: host and listening address"),
        "seen_at": clear("its last heartbeat (a timestamp)"),
    },
    "review_items": {
        "id": ROW_ID,
        "session_id": clear("the intake it reviews (an id)"),
        "priority_rank": clear("urgency 0-3 only, so the queue orders in SQL; reasons are sealed"),
        "red_flags": sealed("the red flags raised: ids, levels, evidence"),
        "status": clear("pending, claimed, reviewed ...: the queue's state"),
        "claimed_by": clear("the clinician's actor id (staff, not patient data)"),
        "claimed_name": clear("the clinician's name shown to colleagues (staff)"),
        "claimed_at": clear("a timestamp"),
        "reviewed_at": clear("a timestamp, for retention"),
        "note": sealed("the clinician's note about the patient"),
        "created_at": CREATED,
        "updated_at": clear("a timestamp"),
    },
    "review_messages": {
        "id": ROW_ID,
        "review_item_id": ITEM_LINK,
        "chat_id": clear("the review chat or a clinician's private chat (staff)"),
        "message_id": clear("Telegram's message id, to edit or delete the message"),
        "kind": clear("notice, summary or full"),
        "sent_at": CREATED,
    },
    "outbox": {
        "id": ROW_ID,
        "topic": clear("what is owed: review_item, review_update, retract"),
        "ref_id": clear("the review item or message row it is about (an id)"),
        "attempts": clear("a counter"),
        "next_try_at": clear("a timestamp"),
        "sent_at": clear("a timestamp"),
        "last_error": clear("an error class or Telegram's description, never contents"),
        "created_at": CREATED,
    },
    "audit_events": {
        "id": ROW_ID,
        "at": CREATED,
        "actor": clear("staff or system ids; patients as 'patient'; others as a keyed hash"),
        "action": clear("an event name"),
        "session_id": clear("an id (erased with the patient)"),
        "review_item_id": clear("an id (erased with the patient)"),
        "patient_id": clear("an id (erased with the patient)"),
        "detail": clear("an id, a status or counts, never contents"),
    },
    "flow_versions": {
        "flow_id": clear("the operator flow's id"),
        "version": clear("its version"),
        "digest": clear("a hash of the operator's file"),
        "source": sealed("the flow file: no patient data, sealed so the file holds no flag ids"),
        "created_at": CREATED,
    },
    "seal_canary": {
        "id": ROW_ID,
        "value": sealed("a known text: detects a wrong key at start-up"),
        "created_at": CREATED,
    },
    "intake_counts": {
        **{
            name: clear("the key of an aggregate row: period, day, flow, version, step id")
            for name in ("period", "day", "flow_id", "flow_version", "step_id")
        },
        **{
            name: clear("a count of intakes or turns, summed over every patient")
            for name in (
                "started",
                "consented",
                "declined",
                "completed",
                "cancelled",
                "escalated_emergency",
                "escalated_same_day",
                "escalated_soon",
                "reached",
                "answered",
                "skipped",
                "back",
                "dropped",
                "escalated",
                *(f"seconds_{i}" for i in range(16)),
            )
        },
    },
    "alembic_version": {
        "version_num": clear("the schema revision"),
    },
}


def columns_of(kind: Kind) -> dict[str, list[str]]:
    """The columns of one kind, per table."""
    found: dict[str, list[str]] = {}
    for table, rules in POLICY.items():
        names = [name for name, rule in rules.items() if rule.kind == kind]
        if names:
            found[table] = names
    return found
