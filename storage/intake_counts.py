"""Queries for the intake counts behind `intake-bot stats`: add a turn's counts, sum them.

Counts are numbers per day, flow version and step (see `storage.tables.IntakeCount`); no
patient, session or answer is named in them, and they stay when a patient deletes their data.
`add_counts` is one upsert statement (executed for each row, in one driver call), compiled once
and run as plain SQL (`storage.plain_sql`), so a turn pays one statement.
Intakes left open are not counted as they happen (nobody acts when a patient goes quiet):
`open_sessions` counts them from the sessions table's (status, flow, version, step key, updated)
index alone, without reading a session row. The step is sealed in the session; the index holds
its keyed hash (`storage.sealing.Sealer.step_key`), which the caller maps back to step ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, case, func, or_, select
from sqlmodel import Session, col

from storage import plain_sql
from storage.tables import IntakeCount, IntakeSession

COUNTS: Table = IntakeCount.__table__  # type: ignore[attr-defined]  # sqlmodel leaves it untyped
KEY = ("period", "day", "flow_id", "flow_version", "step_id")
BUCKETS = 16
SECONDS = tuple(f"seconds_{i}" for i in range(BUCKETS))
COUNTERS = tuple(c.name for c in COUNTS.columns if c.name not in KEY and c.name not in SECONDS)
COLUMNS = (*COUNTERS, *SECONDS)
ZEROS = dict.fromkeys(COLUMNS, 0)
ACTIVE = "active"
LEFT = ("abandoned", "withdrawn")  # statuses of intakes left before their end
ALL_DAYS = date.min  # the `day` of the running totals (period "all")
IN_KEY_ORDER = itemgetter(*KEY)  # a row's key as a tuple, to sort rows by


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """Intakes of one version left at one step: in progress, idle, abandoned or withdrawn."""

    flow_version: int
    status: str
    step_key: int | None  # the keyed hash of the step (see the module docstring)
    idle: bool  # last touched before the idle cut-off
    count: int
    step_id: str = ""  # filled in by the caller from the flow's steps


def add_counts(session: plain_sql.Runner, *, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add counts (rows without `period`) to their day, month and the totals, in one statement."""
    if not rows:
        return
    values = []
    for row in rows:
        day: date = row["day"]
        value = {**ZEROS, **row}
        values += [
            {**value, "period": "day"},
            {**value, "period": "month", "day": day.replace(day=1)},
            {**value, "period": "all", "day": ALL_DAYS},
        ]
    # Rows in key order: concurrent turns (several instances on PostgreSQL) then lock the
    # shared counter rows in the same order and cannot deadlock on them.
    values.sort(key=IN_KEY_ORDER)
    statement = plain_sql.prepared(session, "counts", _upsert, KEY + COLUMNS)
    plain_sql.run_many(session, statement, values)


def _upsert(dialect: str) -> Any:
    """The upsert adding a row's counts to the stored ones (compiled once: it is long)."""
    statement = plain_sql.insert_for(dialect)(COUNTS)
    added = {name: COUNTS.c[name] + statement.excluded[name] for name in COLUMNS}
    return statement.on_conflict_do_update(index_elements=KEY, set_=added)


def sum_counts(
    session: Session, *, flow_id: str, since: date | None = None
) -> list[dict[str, Any]]:
    """Every counter summed per flow version and step (the "" step: whole intakes).

    Without `since` only the running totals are read (a row per step and version, however
    long the bot has run); with it, the days up to the next 1st of a month, then whole months.
    """
    sums = [func.sum(COUNTS.c[name]).label(name) for name in COLUMNS]
    period, day = COUNTS.c.period, COUNTS.c.day
    if since is None:
        days = and_(period == "all", day == ALL_DAYS)
    else:
        months = since if since.day == 1 else _next_month(since)
        by_day = and_(period == "day", day >= since, day < months)
        days = or_(by_day, and_(period == "month", day >= months))
    query = (
        select(COUNTS.c.flow_version, COUNTS.c.step_id, *sums)
        .where(days, COUNTS.c.flow_id == flow_id)
        .group_by(COUNTS.c.flow_version, COUNTS.c.step_id)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def _next_month(day: date) -> date:
    """The 1st of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def open_sessions(
    session: Session, *, flow_id: str, idle_before: datetime, since: datetime | None = None
) -> list[OpenGroup]:
    """Intakes not finished, per version, status and step; active ones split by idle or not.

    Both reads are ranges of the `ix_sessions_status_step` index, which holds every column
    they need.
    """
    return [*_left(session, flow_id, since), *_active(session, flow_id, idle_before, since)]


def _left(session: Session, flow_id: str, since: datetime | None) -> list[OpenGroup]:
    columns = (
        col(IntakeSession.flow_version),
        col(IntakeSession.status),
        col(IntakeSession.step_key),
    )
    query = (
        select(*columns, func.count())
        .where(col(IntakeSession.status).in_(LEFT), col(IntakeSession.flow_id) == flow_id)
        .group_by(*columns)
    )
    if since is not None:
        query = query.where(col(IntakeSession.updated_at) >= since)
    return [OpenGroup(v, status, step, True, n) for v, status, step, n in session.execute(query)]


def _active(
    session: Session, flow_id: str, idle_before: datetime, since: datetime | None
) -> list[OpenGroup]:
    idle = case((col(IntakeSession.updated_at) < idle_before, 1), else_=0).label("idle")
    columns = (col(IntakeSession.flow_version), col(IntakeSession.step_key), idle)
    query = (
        select(*columns, func.count())
        .where(col(IntakeSession.status) == ACTIVE, col(IntakeSession.flow_id) == flow_id)
        .group_by(*columns)
    )
    if since is not None:
        query = query.where(col(IntakeSession.updated_at) >= since)
    rows = session.execute(query)
    return [OpenGroup(v, ACTIVE, step, bool(i), n) for v, step, i, n in rows]
