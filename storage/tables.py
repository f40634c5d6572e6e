"""The database tables (sqlmodel): patients, intake sessions, answers, the inbox, review items,
outbox, audit.

Timestamps are timezone-aware UTC. Answer values, free text and names are stored sealed (see
`storage.sealing`) when an encryption key is configured. Audit events never hold answer contents.
Intake counts are numbers only (per day, flow version and step), never about one patient.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, text
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
    """A person chatting with the bot; personal fields are sealed and erased on /delete."""

    __tablename__ = "patients"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    language: str | None = None
    display_name: str | None = None  # sealed
    username: str | None = None  # sealed
    consented_at: datetime | None = _optional_ts()
    unreachable: bool = False
    created_at: datetime = _created_ts()


class IntakeSession(SQLModel, table=True):
    """One run of a flow for one patient, pinned to the flow version it started on."""

    __tablename__ = "intake_sessions"
    __table_args__ = (
        Index("ix_sessions_patient_status", "patient_id", "status"),
        # intakes by status and step, read by `stats` from the index alone
        Index(
            "ix_sessions_status_step",
            *("status", "flow_id", "flow_version", "current_step", "updated_at"),
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
    status: str = "active"  # active, completed, escalated, cancelled, withdrawn, abandoned, ...
    current_step: str
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source: str | None = None  # deep-link payload
    callback_phone: str | None = None  # sealed; shared by the patient for a call-back
    started_at: datetime = _created_ts()
    updated_at: datetime = _created_ts()
    ended_at: datetime | None = _optional_ts()


class Answer(SQLModel, table=True):
    """The patient's answer to one step of one session (value sealed, JSON inside)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "step_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="intake_sessions.id", index=True)
    step_id: str
    value: str  # sealed JSON
    answered_at: datetime = _created_ts()


class InboxUpdate(SQLModel, table=True):
    """An update from Telegram, committed before Telegram is told it arrived.

    Rows are processed in `update_id` order per chat; the turn that applies an update marks its
    row `applied` in its own transaction and drops the payload (`done` once the reply went out,
    `failed` when given up), so a repeat of the same update id changes nothing. Finished rows
    are purged after a week.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index(
            "ix_inbox_pending_chat",
            "chat_id",
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
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
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
    priority: str  # emergency, same_day, soon, routine
    priority_rank: int  # 0 emergency ... 3 routine, for ordering
    red_flags: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = "pending"
    claimed_by: str | None = None
    claimed_at: datetime | None = _optional_ts()
    reviewed_at: datetime | None = _optional_ts()
    note: str | None = None  # sealed
    review_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = _created_ts()
    updated_at: datetime = _created_ts()


class OutboxMessage(SQLModel, table=True):
    """A message owed to a chat (clinician notifications), retried until delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str  # e.g. review_item, review_withdrawn, review_update
    ref_id: int  # what the topic refers to (a review item id)
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
    actor: str  # "patient:<telegram id>", "clinician:<telegram id>", "cli:<name>", "system"
    action: str  # e.g. intake.completed, review.claimed, review.viewed, access.denied
    session_id: int | None = Field(default=None, index=True)
    review_item_id: int | None = Field(default=None, index=True)
    detail: str | None = None  # an id or a status, never answer contents


class FlowVersion(SQLModel, table=True):
    """The exact source of each flow version sessions were started on, so they can finish on it."""

    __tablename__ = "flow_versions"

    flow_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    digest: str
    source: str
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
