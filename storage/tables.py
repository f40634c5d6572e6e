"""The database tables (sqlmodel): patients, intake sessions, the inbox, review items, outbox,
audit.

Timestamps are timezone-aware UTC. Every health field is stored sealed (`storage.sealing`): a
session's answers and state are one sealed JSON blob, a review item's red flags another; names,
notes and the patient's Telegram id are sealed strings. Look-ups by Telegram id go through a
keyed hash, and so does the step an intake is at (for `stats`). `storage.policy` classifies every
column (sealed, keyed hash or clear metadata, with the reason) and a test fails when a column is
missing from it. Audit events hold ids, event names and counts, never contents. Intake counts
are numbers only (per day, flow version and step), never about one patient.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _optional_ts() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def _created_ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Patient(SQLModel, table=True):
    """A consenting person; personal fields are sealed, and the row is erased on /delete."""

    __tablename__ = "patients"

    id: int | None = Field(default=None, primary_key=True)
    # keyed hash of the Telegram user id (storage.sealing); negative for a record kept under
    # the clinic's legal retention duty after /delete, which no look-up finds any more
    telegram_id_hash: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    telegram_id: str  # sealed
    language: str | None = None
    display_name: str | None = None  # sealed
    username: str | None = None  # sealed
    consented_at: datetime | None = _optional_ts()
    unreachable: bool = False
    created_at: datetime = _created_ts()


class IntakeSession(SQLModel, table=True):
    """One run of a flow for one patient, pinned to the flow version it started on.

    `state` is one sealed JSON blob: the current step, the answers, the history, the flags
    raised, selections in progress, the counting progress and the deep-link source
    (`flows.intake.sessions`). `step_key` is a keyed hash of the current step, so `stats` can
    count intakes left at each step without opening a session (which questions a patient was
    asked says which branch they took: the step itself is not stored in clear).
    """

    __tablename__ = "intake_sessions"
    __table_args__ = (
        Index("ix_sessions_patient_status", "patient_id", "status"),
        # intakes by status and step, read by `stats` from the index alone
        Index(
            "ix_sessions_status_step",
            *("status", "flow_id", "flow_version", "step_key", "updated_at"),
        ),
        # One active intake per patient, whatever races between instances (a doubled tap).
        Index(
            "ux_sessions_one_active",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id", index=True)
    flow_id: str
    flow_version: int
    status: str = "active"  # active, completed, escalated, cancelled, declined, abandoned
    state: str  # sealed JSON
    step_key: int | None = Field(default=None, sa_column=Column(BigInteger))  # keyed hash
    callback_phone: str | None = None  # sealed; shared by the patient for a call-back
    started_at: datetime = _created_ts()
    updated_at: datetime = _created_ts()
    ended_at: datetime | None = _optional_ts()


class InboxUpdate(SQLModel, table=True):
    """An update from Telegram, committed before Telegram is told it arrived.

    Rows are processed in `update_id` order per chat; the turn that applies an update marks its
    row `applied` in its own transaction and drops the payload (`done` once the reply went out,
    `failed` when given up), so a repeat of the same update id changes nothing. Finished rows
    are purged after INTAKE_RETAIN_UPDATES_DAYS (a week at most). The chat is known by a keyed
    hash; its id and the payload are sealed (see `storage.policy`).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index(
            "ix_inbox_pending_chat",
            "chat_hash",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_inbox_pending_received",
            "received_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # keyed hash of the chat id (the patient's Telegram id in their private chat): orders a
    # chat's updates and lets /delete find them, without storing the id
    chat_hash: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat: str | None = None  # sealed chat id, to send a reply lost with its instance again
    payload: str | None = None  # sealed JSON of the update until it is processed
    status: str = "pending"  # pending, applied, done, failed
    owner: str | None = None  # the bot instance that holds it queued (see BotInstance)
    received_at: datetime = _created_ts()  # arrival order
    processed_at: datetime | None = _optional_ts()


class BotInstance(SQLModel, table=True):
    """A running bot process, as last seen: an inbox row owned by one not seen for a while
    was left by a process that died, and another takes it over."""

    __tablename__ = "bot_instances"

    id: str = Field(primary_key=True)  # host and listening address: the same after a restart
    seen_at: datetime = _created_ts()


class ReviewItem(SQLModel, table=True):
    """An intake queued for a clinician: pending -> claimed -> reviewed (or withdrawn)."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_queue", "status", "priority_rank", "created_at"),
        Index("ix_review_order", "priority_rank", "created_at", "id"),  # `review list` unfiltered
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="intake_sessions.id", unique=True)
    priority_rank: int  # 0 emergency, 1 same day, 2 soon, 3 routine: the queue's order
    red_flags: str  # sealed JSON: the flags raised (ids, levels, evidence)
    status: str = "pending"
    claimed_by: str | None = None  # the actor id ("clinician:<telegram id>", "cli:<name>")
    claimed_name: str | None = None  # the clinician's name as shown to colleagues
    claimed_at: datetime | None = _optional_ts()
    reviewed_at: datetime | None = _optional_ts()
    note: str | None = None  # sealed
    created_at: datetime = _created_ts()
    updated_at: datetime = _created_ts()


class OutboxMessage(SQLModel, table=True):
    """A message owed to a chat (clinician notifications), retried until delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str  # review_item, review_update (ref: a review item), retract (ref: a message row)
    ref_id: int  # what the topic refers to
    attempts: int = 0
    next_try_at: datetime = _created_ts()
    sent_at: datetime | None = _optional_ts()
    last_error: str | None = None  # an error class or API description, never contents
    created_at: datetime = _created_ts()


class AuditEvent(SQLModel, table=True):
    """Who did what to which intake; ids and event names only."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created_ts()
    # "patient", "clinician:<telegram id>", "cli:<name>", "user:<keyed hash>" (someone not on
    # the clinician list), "system"
    actor: str
    action: str  # e.g. intake.completed, review.claimed, review.viewed, access.denied
    session_id: int | None = Field(default=None, index=True)
    review_item_id: int | None = Field(default=None, index=True)
    patient_id: int | None = Field(default=None, index=True)
    detail: str | None = None  # an id, a status or counts, never contents


class FlowVersion(SQLModel, table=True):
    """The exact source of each flow version sessions were started on, so they can finish on it."""

    __tablename__ = "flow_versions"

    flow_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    digest: str
    source: str  # sealed: see storage.policy
    created_at: datetime = _created_ts()


class ReviewMessage(SQLModel, table=True):
    """A message the bot sent about a review item (a notice, a summary), to edit or delete it.

    Kept until the message is withdrawn: /delete and retention erase the item at once and owe
    Telegram a `retract` of each of these rows through the outbox.
    """

    __tablename__ = "review_messages"

    id: int | None = Field(default=None, primary_key=True)
    review_item_id: int = Field(index=True)  # no foreign key: it outlives the item to retract
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str  # notice (the review chat), summary, full (a clinician's private chat)
    sent_at: datetime = _created_ts()


class SealCanary(SQLModel, table=True):
    """A known text sealed at the first start: a wrong key is reported before anything else."""

    __tablename__ = "seal_canary"

    id: int | None = Field(default=None, primary_key=True)
    value: str  # sealed
    created_at: datetime = _created_ts()


class IntakeCount(SQLModel, table=True):
    """How many intakes did what, per day, flow version and step: counts only, for `stats`.

    `step_id` is "" on the row of whole-intake counts (started, consented, completed, ...).
    Each count is kept three times, by `period`: on its day's row ("day"), on its month's
    ("month", `day` the 1st) and in the running totals ("all", `day` 0001-01-01), so a report
    reads few rows for any `--since`;
    step rows count reached, answered, skipped, back-presses and drops there. `seconds_<i>` is
    a histogram: seconds on the step (step rows) or to complete the intake (the "" row), in
    the buckets of `flows.analytics.tally`. One upsert per turn adds a turn's counts.
    """

    __tablename__ = "intake_counts"

    period: str = Field(primary_key=True)  # day, month or all
    day: date = Field(primary_key=True)
    flow_id: str = Field(primary_key=True)
    flow_version: int = Field(primary_key=True)
    step_id: str = Field(primary_key=True)
    started: int = 0  # consent questions opened (nothing is stored before consent)
    consented: int = 0
    declined: int = 0
    completed: int = 0
    cancelled: int = 0
    escalated_emergency: int = 0  # intakes that raised a flag of this level
    escalated_same_day: int = 0
    escalated_soon: int = 0
    reached: int = 0  # intakes that reached the step (once each)
    answered: int = 0
    skipped: int = 0
    back: int = 0  # presses of Back on the step
    dropped: int = 0  # intakes cancelled on the step
    escalated: int = 0  # intakes an emergency ended on the step
    seconds_0: int = 0
    seconds_1: int = 0
    seconds_2: int = 0
    seconds_3: int = 0
    seconds_4: int = 0
    seconds_5: int = 0
    seconds_6: int = 0
    seconds_7: int = 0
    seconds_8: int = 0
    seconds_9: int = 0
    seconds_10: int = 0
    seconds_11: int = 0
    seconds_12: int = 0
    seconds_13: int = 0
    seconds_14: int = 0
    seconds_15: int = 0
