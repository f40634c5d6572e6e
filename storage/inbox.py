"""Queries for the inbox: received updates, claimed one at a time in update order per chat.

An update is `receive`d (one `INSERT ... ON CONFLICT DO NOTHING`) and committed before Telegram
is told it arrived; the row names the bot instance that queued it in memory. Instances record a
heartbeat; the pending updates of one that stopped beating are `adopt`ed by another. On
PostgreSQL a running instance also holds a session-level advisory lock on its name
(`hold_name`), which the server drops the moment the process dies (its connection closes): an
instance whose name is free (`names_released`) is dead at once, whatever its heartbeat says,
and while another instance has found it so, the name stays taken until that instance's
transaction ends, so the dead one cannot come back halfway through the takeover.

The turn that applies an update calls `claim` first, inside the turn's own transaction: one
upsert that marks the row done only if it is still pending *and* no older update of the same
chat is pending. So a repeated update changes nothing, and one chat's updates are applied
strictly in order even when several processes handle them: a newer update is `DEFERRED` until
the older ones are done, and two claims of one row are serialised by its row lock
(PostgreSQL) or by `BEGIN IMMEDIATE` (SQLite). A caller without an inbox row (the terminal
chat, tests) gets one inserted as done, which keeps the same idempotency. Same conventions as
`storage.intakes`: the session first, keyword-only arguments, no commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlmodel import Session

from storage import plain_sql
from storage.tables import BotInstance, InboxUpdate, utcnow

INBOX: Table = InboxUpdate.__table__  # type: ignore[attr-defined]  # sqlmodel leaves it untyped
INSTANCES: Table = BotInstance.__table__  # type: ignore[attr-defined]
PENDING, APPLIED, DONE, FAILED = "pending", "applied", "done", "failed"


# In an upsert's WHERE, `inbox` is the existing row: no older update of its chat may wait.
# (Written as SQL: SQLAlchemy does not correlate a subquery with the target of ON CONFLICT.)
NO_OLDER_PENDING = text(
    "NOT EXISTS (SELECT 1 FROM inbox AS older WHERE older.chat_hash = inbox.chat_hash "
    "AND older.status = 'pending' AND older.update_id < inbox.update_id)"
)


class Claim(StrEnum):
    """What claiming an update for a turn found."""

    CLAIMED = "claimed"  # this turn applies the update
    DUPLICATE = "duplicate"  # applied (or given up) before: change nothing
    DEFERRED = "deferred"  # an older update of the same chat is still pending: apply it first


def _insert(session: Session) -> Any:
    return plain_sql.insert_for(session.get_bind().dialect.name)


def receive(
    session: Session,
    *,
    update_id: int,
    chat_hash: int,
    chat: str | None,
    payload: str,
    owner: str | None = None,
) -> bool:
    """Keep a received update (chat id and payload already sealed) held by the bot instance
    `owner`; False when it was received before."""
    values = {
        "update_id": update_id,
        "chat_hash": chat_hash,
        "chat": chat,
        "payload": payload,
        "status": PENDING,
        "owner": owner,
        "received_at": utcnow(),
    }
    statement = plain_sql.prepared(session, "receive", _receive, tuple(values))
    return bool(plain_sql.run(session, statement, values))


def _receive(dialect: str) -> Any:
    """The insert of a received update (compiled once, run as plain SQL with each update's)."""
    return (
        plain_sql.insert_for(dialect)(INBOX).on_conflict_do_nothing().returning(INBOX.c.update_id)
    )


def heartbeat(session: Session, *, instance: str) -> None:
    """Record that the bot instance `instance` is alive now."""
    now = utcnow()
    statement = (
        _insert(session)(INSTANCES)
        .values(id=instance, seen_at=now)
        .on_conflict_do_update(index_elements=[INSTANCES.c.id], set_={"seen_at": now})
    )
    session.execute(statement)


# The advisory-lock key of an instance's name: advisory locks are per database, so the schema
# is part of it (several deployments, or test runs, may share one database).
NAME_KEY = "hashtextextended(current_schema() || '/' || :name, 0)"


def hold_name(connection: Any, *, instance: str) -> bool:
    """Take `instance`'s name for the life of `connection` if no process holds it (PostgreSQL);
    False while another holds it (a process of the same name, or a takeover in progress)."""
    held = connection.execute(text(f"SELECT pg_try_advisory_lock({NAME_KEY})"), {"name": instance})
    return bool(held.scalar())


def names_released(session: Session, *, instance: str) -> list[str]:
    """The other instances whose name no process holds (PostgreSQL): they are dead. Their names
    stay taken by this transaction until it ends. Empty on SQLite (one process)."""
    if session.get_bind().dialect.name == "sqlite":
        return []
    others = select(INSTANCES.c.id).where(INSTANCES.c.id != instance).order_by(INSTANCES.c.id)
    free = text(f"SELECT pg_try_advisory_xact_lock({NAME_KEY})")
    return [
        name
        for name in session.execute(others).scalars()
        if session.execute(free, {"name": name}).scalar()
    ]


def adopt(
    session: Session,
    *,
    instance: str,
    alive_since: datetime,
    own: bool = False,
    limit: int = 1000,
    dead: Sequence[str] = (),
) -> list[tuple[int, str]]:
    """Take over pending updates that no live instance holds; (update id, payload) oldest first.

    Those are the updates of no instance and of instances not seen since `alive_since` (they
    died with the updates queued), those of the `dead` instances (see `names_released`),
    and with `own` those of `instance` itself (it restarted). Each is taken by one caller: the
    rows become `instance`'s in the same statement (PostgreSQL skips rows a turn has locked:
    they are being applied).
    """
    candidates = select(INBOX.c.update_id).where(
        INBOX.c.status == PENDING, _orphaned(instance, alive_since, own=own, dead=dead)
    )
    if not own:
        candidates = candidates.where(or_(INBOX.c.owner.is_(None), INBOX.c.owner != instance))
    candidates = (
        candidates.order_by(INBOX.c.update_id).limit(limit).with_for_update(skip_locked=True)
    )
    statement = (
        update(INBOX)
        .where(INBOX.c.update_id.in_(candidates.scalar_subquery()), INBOX.c.status == PENDING)
        .values(owner=instance)
        .returning(INBOX.c.update_id, INBOX.c.payload)
    )
    rows = [(u, p) for u, p in session.execute(statement) if p is not None]
    return sorted(rows)


def claim(
    session: plain_sql.Runner, *, update_id: int, chat_hash: int, owner: str | None = None
) -> Claim:
    """Mark an update applied by this turn, if it is pending and the oldest of its chat.

    A received update becomes `applied` by `owner` (the instance that will send the reply): its
    reply is owed until `delivered` marks it done. An update that was never received here (the
    terminal chat) is recorded as done at once.
    """
    now = utcnow()
    values = {
        "update_id": update_id,
        "chat_hash": chat_hash,
        "status": DONE,
        "received_at": now,
        "processed_at": now,
        "claimant": owner,
    }
    statement = plain_sql.prepared(session, "claim", _claim, CLAIM_KEYS)
    if plain_sql.run(session, statement, values):
        return Claim.CLAIMED
    return Claim.DEFERRED if status_of(session, update_id=update_id) == PENDING else Claim.DUPLICATE


CLAIM_KEYS = ("update_id", "chat_hash", "status", "received_at", "processed_at", "claimant")


def _claim(dialect: str) -> Any:
    """The claim's upsert (compiled once, run as plain SQL: see `storage.plain_sql`)."""
    insert = plain_sql.insert_for(dialect)(INBOX)
    applied = {
        "status": APPLIED,
        "processed_at": insert.excluded.processed_at,
        "payload": None,
        "owner": bindparam("claimant"),
    }
    return insert.on_conflict_do_update(
        index_elements=[INBOX.c.update_id],
        set_=applied,
        where=and_(INBOX.c.status == PENDING, NO_OLDER_PENDING),
    ).returning(INBOX.c.update_id)


def status_of(session: plain_sql.Runner, *, update_id: int) -> str | None:
    """The status of a received update (None when it was never received)."""
    query = select(INBOX.c.status).where(INBOX.c.update_id == update_id)
    return plain_sql.orm(session).execute(query).scalar_one_or_none()


def delivered(session: Session, *, update_ids: list[int]) -> None:
    """Record that the replies of these applied updates reached the patient."""
    session.execute(
        update(INBOX)
        .where(INBOX.c.update_id.in_(update_ids), INBOX.c.status == APPLIED)
        .values(status=DONE)
    )


def _orphaned(instance: str, alive_since: datetime, *, own: bool, dead: Sequence[str]) -> Any:
    """Rows of no instance, of instances dead or silent since `alive_since`, with `own` ours."""
    alive = select(INSTANCES.c.id).where(INSTANCES.c.seen_at >= alive_since)
    if own:
        alive = alive.where(INSTANCES.c.id != instance)
    orphaned = or_(INBOX.c.owner.is_(None), INBOX.c.owner.not_in(alive), INBOX.c.owner.in_(dead))
    if not own:
        orphaned = and_(orphaned, or_(INBOX.c.owner.is_(None), INBOX.c.owner != instance))
    return orphaned


def adopt_owed(
    session: Session,
    *,
    instance: str,
    alive_since: datetime,
    own: bool = False,
    dead: Sequence[str] = (),
    applied_before: datetime | None = None,
) -> list[tuple[int, int, str | None]]:
    """Take over applied updates whose reply may not have gone out, because the instance that
    applied them died (silent since `alive_since`, or one of `dead`), or with `own`, it is
    `instance` restarting; (update id, chat hash, sealed chat id). With `applied_before` (when
    `instance` started) our own rows count only when applied before it: a later one is a turn
    of this process whose reply is going out now."""
    orphaned = _orphaned(instance, alive_since, own=own, dead=dead)
    if own and applied_before is not None:
        earlier = INBOX.c.processed_at < applied_before
        others = or_(INBOX.c.owner.is_(None), INBOX.c.owner != instance)
        orphaned = and_(orphaned, or_(others, earlier))
    statement = (
        update(INBOX)
        .where(INBOX.c.status == APPLIED, orphaned)
        .values(owner=instance)
        .returning(INBOX.c.update_id, INBOX.c.chat_hash, INBOX.c.chat)
    )
    return sorted((u, h, c) for u, h, c in session.execute(statement))


def newest(session: Session, *, chat_hashes: list[int]) -> dict[int, int]:
    """The newest update id received from each of these chats (by chat hash)."""
    query = (
        select(INBOX.c.chat_hash, func.max(INBOX.c.update_id))
        .where(INBOX.c.chat_hash.in_(chat_hashes))
        .group_by(INBOX.c.chat_hash)
    )
    return {int(chat): int(newest_id) for chat, newest_id in session.execute(query)}


def finish(session: Session, *, update_id: int, status: str = DONE) -> bool:
    """Close a pending update that no turn claimed (not a patient turn, or a failed one)."""
    statement = (
        update(INBOX)
        .where(INBOX.c.update_id == update_id, INBOX.c.status == PENDING)
        .values(status=status, processed_at=utcnow(), payload=None)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def pending_before(session: Session, *, chat_hash: int, update_id: int) -> list[tuple[int, str]]:
    """(update id, sealed payload) of the chat's pending updates older than `update_id`."""
    query = (
        select(INBOX.c.update_id, INBOX.c.payload)
        .where(
            INBOX.c.chat_hash == chat_hash,
            INBOX.c.status == PENDING,
            INBOX.c.update_id < update_id,
        )
        .order_by(INBOX.c.update_id)
    )
    return [(u, p) for u, p in session.execute(query) if p is not None]


def count_pending(session: Session) -> int:
    """How many received updates wait to be applied."""
    query = select(func.count()).select_from(INBOX).where(INBOX.c.status == PENDING)
    return int(session.execute(query).scalar_one())


def forget(session: Session, *, chat_hashes: Sequence[int]) -> int:
    """Cut a chat's finished rows loose from it (they still stop a repeat); how many."""
    statement = (
        update(INBOX)
        .where(INBOX.c.chat_hash.in_(chat_hashes), INBOX.c.status != PENDING)
        .values(chat_hash=0, chat=None, payload=None, status=DONE)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def erase(session: Session, *, chat_hashes: Sequence[int]) -> int:
    """Delete every row of a chat, pending ones included; how many."""
    statement = delete(INBOX).where(INBOX.c.chat_hash.in_(chat_hashes))
    return cast(CursorResult[Any], session.execute(statement)).rowcount
