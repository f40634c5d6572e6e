"""Queries for the intake counts behind `intake-bot stats`: add a turn's counts, sum them.

Counts are numbers per day, flow version and step (see `storage.tables.IntakeCount`); no
patient, session or answer is named in them, and they stay when a patient deletes their data.
`add_counts` is one upsert statement whatever the number of rows, so a turn pays one statement.
Intakes left open are not counted as they happen (nobody acts when a patient goes quiet):
`open_sessions` counts them from the sessions table, through its (status, flow) index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage.tables import IntakeCount, IntakeSession

COUNTS: Table = IntakeCount.__table__  # type: ignore[attr-defined]  # sqlmodel leaves it untyped
KEY = ("day", "flow_id", "flow_version", "step_id")
BUCKETS = 16
SECONDS = tuple(f"seconds_{i}" for i in range(BUCKETS))
COUNTERS = tuple(c.name for c in COUNTS.columns if c.name not in KEY and c.name not in SECONDS)
COLUMNS = (*COUNTERS, *SECONDS)
OPEN_STATUSES = ("active", "abandoned", "withdrawn")


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """Intakes of one version left at one step: in progress, idle, abandoned or withdrawn."""

    flow_version: int
    status: str
    step_id: str
    idle: bool  # last touched before the idle cut-off
    count: int


def add_counts(session: Session, *, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add counts: each row names its key columns and the counters to add (one statement)."""
    if not rows:
        return
    values = [{**dict.fromkeys(COLUMNS, 0), **row} for row in rows]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(COUNTS).values(values)
    added = {name: COUNTS.c[name] + statement.excluded[name] for name in COLUMNS}
    session.execute(statement.on_conflict_do_update(index_elements=KEY, set_=added))


def sum_counts(
    session: Session, *, flow_id: str, since: date | None = None
) -> list[dict[str, Any]]:
    """Every counter summed per flow version and step (the "" step: whole intakes)."""
    sums = [func.sum(COUNTS.c[name]).label(name) for name in COLUMNS]
    query = (
        select(COUNTS.c.flow_version, COUNTS.c.step_id, *sums)
        .where(COUNTS.c.flow_id == flow_id)
        .group_by(COUNTS.c.flow_version, COUNTS.c.step_id)
    )
    if since is not None:
        query = query.where(COUNTS.c.day >= since)
    return [dict(row._mapping) for row in session.execute(query)]


def open_sessions(
    session: Session, *, flow_id: str, idle_before: datetime, since: datetime | None = None
) -> list[OpenGroup]:
    """Intakes not finished, per version, status and step, split by idle or not."""
    idle = case((col(IntakeSession.updated_at) < idle_before, 1), else_=0).label("idle")
    query = (
        select(
            col(IntakeSession.flow_version),
            col(IntakeSession.status),
            col(IntakeSession.current_step),
            idle,
            func.count().label("n"),
        )
        .where(col(IntakeSession.status).in_(OPEN_STATUSES), col(IntakeSession.flow_id) == flow_id)
        .group_by(
            col(IntakeSession.flow_version),
            col(IntakeSession.status),
            col(IntakeSession.current_step),
            idle,
        )
    )
    if since is not None:
        query = query.where(col(IntakeSession.updated_at) >= since)
    rows = session.execute(query)
    return [OpenGroup(v, status, step, bool(i), n) for v, status, step, i, n in rows]
