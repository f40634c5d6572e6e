"""Intake counts: one upsert adds a turn's counts to its day, its month and the totals, and any
`since` reads the same sums as adding up the days would."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from storage.database import Database
from storage.intake_counts import add_counts, sum_counts
from storage.migrate import upgrade

FIRST = date(2026, 1, 20)


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A migrated SQLite file."""
    db = Database(f"sqlite:///{tmp_path / 'counts.db'}")
    upgrade(db)
    return db


def test_any_since_sums_like_the_days(database: Database) -> None:
    """Counts spread over 100 days: every `since` gives the sum of the days from it on."""
    rng = random.Random(3)
    days = [FIRST + timedelta(days=rng.randrange(100)) for _ in range(300)]
    for day in days:
        with database.transaction() as tx:
            row = {"day": day, "flow_id": "f", "flow_version": 1, "step_id": "age"}
            add_counts(tx, rows=[{**row, "reached": 1, "seconds_3": 1}])
    for since in [
        None,
        FIRST,
        date(2026, 2, 1),
        date(2026, 2, 14),
        date(2026, 3, 31),
        date(2027, 1, 1),
    ]:
        expected = sum(1 for day in days if since is None or day >= since)
        with database.reading() as session:
            rows = sum_counts(session, flow_id="f", since=since)
        reached = sum(r["reached"] for r in rows)
        assert (since, reached) == (since, expected)
        assert sum(r["seconds_3"] for r in rows) == expected


def test_one_turn_is_one_statement_of_three_rows_each(database: Database) -> None:
    """Two steps counted in a turn add to day, month and total rows; a repeat adds again."""
    rows = [
        {"day": FIRST, "flow_id": "f", "flow_version": 2, "step_id": "age", "answered": 1},
        {"day": FIRST, "flow_id": "f", "flow_version": 2, "step_id": "sex", "reached": 1},
    ]
    for _ in range(2):
        with database.transaction() as tx:
            add_counts(tx, rows=rows)
    with database.reading() as session:
        sums = {r["step_id"]: r for r in sum_counts(session, flow_id="f")}
    assert (sums["age"]["answered"], sums["sex"]["reached"]) == (2, 2)
