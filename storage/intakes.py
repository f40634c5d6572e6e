"""Queries for patients, intake sessions and flow versions.

Every function takes the open `Session` first and the rest keyword-only; none commits (the
caller owns the transaction). `for_update` asks PostgreSQL for a row lock; SQLite already
serialises writers with `BEGIN IMMEDIATE`. Patients are found by the keyed hashes of their
Telegram id (every accepted key's, see `storage.sealing`), never by the id itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, inspect, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlmodel import Session, SQLModel, col, select

from storage import plain_sql
from storage.sealing import Sealer
from storage.tables import (
    AuditEvent,
    FlowVersion,
    IntakeSession,
    Patient,
    utcnow,
)

ACTIVE = "active"
_Row = TypeVar("_Row", bound=SQLModel)
PATIENTS: Table = Patient.__table__  # type: ignore[attr-defined]  # sqlmodel leaves it untyped
SESSIONS: Table = IntakeSession.__table__  # type: ignore[attr-defined]


def find_current(
    session: plain_sql.Runner, *, hashes: Sequence[int], for_update: bool = False
) -> tuple[Patient | None, IntakeSession | None]:
    """The patient and their newest session in one query (the session locked when asked).

    Plain SQL (`storage.plain_sql`): the rows come back as detached objects, as if loaded;
    `session.add` one to have a change written.
    """
    params = {f"hash_{i}": h for i, h in enumerate(hashes)}
    current = ("current", len(hashes), for_update)
    query = plain_sql.prepared(session, current, lambda _: _current(len(hashes), for_update))
    rows = plain_sql.run(session, query, params)
    if rows:
        row = rows[0]
        split = len(PATIENTS.columns)
        return _detached(Patient, row[:split]), _detached(IntakeSession, row[split:])
    patient = ("patient", len(hashes))
    query = plain_sql.prepared(session, patient, lambda _: _patient(len(hashes)))
    rows = plain_sql.run(session, query, params)
    return (_detached(Patient, rows[0]) if rows else None), None


def _hashed(count: int) -> Any:
    """`telegram_id_hash IN` `count` parameters (a key rotation makes it two)."""
    return PATIENTS.c.telegram_id_hash.in_([bindparam(f"hash_{i}") for i in range(count)])


def _current(count: int, for_update: bool) -> Any:
    """The query of `find_current`: every column of the patient and of their newest session."""
    query = (
        select_columns(*PATIENTS.columns, *SESSIONS.columns)
        .join_from(PATIENTS, SESSIONS, SESSIONS.c.patient_id == PATIENTS.c.id)
        .where(_hashed(count))
        .order_by(SESSIONS.c.id.desc())
        .limit(1)
    )
    return query.with_for_update(of=SESSIONS) if for_update else query


def _patient(count: int) -> Any:
    return select_columns(*PATIENTS.columns).where(_hashed(count)).limit(1)


def _detached(model: type[_Row], values: Sequence[Any]) -> _Row:
    """A row as the ORM would have loaded it, in no session (no history, identity known)."""
    names = _attribute_names(model)
    instance: _Row = inspect(model).class_manager.new_instance()
    instance_dict(instance).update(zip(names, values, strict=True))
    make_transient_to_detached(instance)
    return instance


@cache
def _attribute_names(model: type[SQLModel]) -> tuple[str, ...]:
    configure_mappers()  # before the first instance is made outside a query
    mapper = inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in mapper.local_table.columns)


def save_session(
    session: plain_sql.Runner, *, record: IntakeSession, values: dict[str, Any]
) -> None:
    """Write columns of a stored session in one `UPDATE` (no unit-of-work flush); the loaded
    object then holds them as stored."""
    names = tuple(sorted(values))
    params = {f"new_{name}": value for name, value in values.items()}
    build, keys = (lambda _: _session_update(names)), ("row_id", *params)
    statement = plain_sql.prepared(session, ("update", names), build, keys)
    plain_sql.run(session, statement, {"row_id": record.id, **params})
    state = instance_state(record)
    if state.detached and not state.modified:
        state.dict.update(values)  # a clean row in no session: its values are the stored ones
        return
    for name, value in values.items():
        set_committed_value(record, name, value)


@cache
def _session_update(names: tuple[str, ...]) -> Any:
    changes: dict[str, Any] = {name: bindparam(f"new_{name}") for name in names}
    return update(SESSIONS).where(SESSIONS.c.id == bindparam("row_id")).values(changes)


def find_patient(session: Session, *, hashes: Sequence[int]) -> Patient | None:
    """The patient whose Telegram id has one of these keyed hashes, if any."""
    query = select(Patient).where(col(Patient.telegram_id_hash).in_(hashes))
    return session.exec(query).first()


def create_patient(
    session: Session,
    *,
    telegram_id: int,
    language: str | None,
    display_name: str | None,
    username: str | None,
    sealer: Sealer,
) -> Patient:
    """A new consenting patient row (identity sealed, found by its keyed hash)."""
    patient = Patient(
        telegram_id_hash=sealer.lookup_hash(telegram_id),
        telegram_id=sealer.seal(str(telegram_id)),
        language=language,
        display_name=sealer.seal_optional(display_name),
        username=sealer.seal_optional(username),
        consented_at=utcnow(),
    )
    session.add(patient)
    session.flush()
    return patient


def current_session(
    session: Session, *, patient_id: int, for_update: bool = False
) -> IntakeSession | None:
    """The patient's newest intake session, locked when `for_update`."""
    query = (
        select(IntakeSession)
        .where(IntakeSession.patient_id == patient_id)
        .order_by(col(IntakeSession.id).desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def patient_sessions(session: Session, *, patient_id: int) -> list[IntakeSession]:
    """Every intake session of a patient, oldest first."""
    query = select(IntakeSession).where(IntakeSession.patient_id == patient_id)
    return list(session.exec(query.order_by(col(IntakeSession.id))))


def in_progress_by_step(
    session: Session, *, flow_id: str, version: int, sealer: Sealer
) -> dict[str, int]:
    """How many intakes in progress on a flow version sit at each step (steps are sealed)."""
    states = session.exec(
        select(IntakeSession.state).where(
            IntakeSession.flow_id == flow_id,
            IntakeSession.flow_version == version,
            IntakeSession.status == ACTIVE,
        )
    )
    counts: dict[str, int] = {}
    for state in states:
        step = str(sealer.unseal_json(state)["step"])
        counts[step] = counts.get(step, 0) + 1
    return counts


def erase_session(session: Session, *, session_id: int, patient_id: int) -> None:
    """Delete a session with its audit trail, and its patient if it has no other."""
    session.execute(delete(AuditEvent).where(col(AuditEvent.session_id) == session_id))
    session.execute(delete(IntakeSession).where(col(IntakeSession.id) == session_id))
    others = session.exec(select(IntakeSession.id).where(IntakeSession.patient_id == patient_id))
    if others.first() is None:
        session.execute(delete(AuditEvent).where(col(AuditEvent.patient_id) == patient_id))
        session.execute(delete(Patient).where(col(Patient.id) == patient_id))


def stored_flow(session: Session, *, flow_id: str, version: int) -> FlowVersion | None:
    """The stored (sealed) source of a flow version."""
    return session.get(FlowVersion, (flow_id, version))


def store_flow(
    session: Session, *, flow_id: str, version: int, digest: str, source: str, sealer: Sealer
) -> FlowVersion:
    """Keep the source of a flow version, sealed (first writer wins)."""
    row = FlowVersion(flow_id=flow_id, version=version, digest=digest, source=sealer.seal(source))
    session.add(row)
    session.flush()
    return row


def idle_sessions(session: Session, *, updated_before: datetime, limit: int = 100) -> list[int]:
    """Ids of active sessions with no turn since `updated_before`, oldest first."""
    query = (
        select(IntakeSession.id)
        .where(IntakeSession.status == ACTIVE, col(IntakeSession.updated_at) < updated_before)
        .order_by(col(IntakeSession.updated_at))
        .limit(limit)
    )
    return [i for i in session.exec(query) if i is not None]


def lock_idle(
    session: Session, *, session_id: int, updated_before: datetime
) -> IntakeSession | None:
    """The session, locked, if it is still active and idle since `updated_before`."""
    query = (
        select(IntakeSession)
        .where(
            IntakeSession.id == session_id,
            IntakeSession.status == ACTIVE,
            col(IntakeSession.updated_at) < updated_before,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(query).first()
