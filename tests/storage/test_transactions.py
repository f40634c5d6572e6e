"""The turn's transaction on a driver connection, on SQLite and PostgreSQL: plain statements and
the ORM session's changes commit together or not at all, after-commit calls run only after a
commit, SQLite's write lock is taken at the start, and the connection goes back to the pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage import inbox
from storage.database import Database, StorageError
from storage.tables import InboxUpdate, Patient
from tests.storage.driver_trace import traced
from tests.storage.postgres import migrated


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: a SQLite file, or a fresh schema on the test PostgreSQL."""
    with migrated(request.param, tmp_path, "txn") as db:
        yield db


def counted(database: Database, table: type[Patient] | type[InboxUpdate]) -> int:
    """How many rows a table holds."""
    with database.reading() as tx:
        return int(tx.execute(select(func.count()).select_from(table)).scalar_one())


def test_plain_and_orm_work_commit_together(database: Database) -> None:
    """A claim (plain SQL) and a patient added through the session are both kept."""
    woken: list[str] = []
    with database.driver_transaction() as tx:
        assert inbox.claim(tx, update_id=1, chat_hash=5) is inbox.Claim.CLAIMED
        tx.session.add(Patient(telegram_id_hash=5, telegram_id="p1:x"))
        tx.after_commit(lambda: woken.append("now"))
        assert woken == []
    assert woken == ["now"]
    assert (counted(database, InboxUpdate), counted(database, Patient)) == (1, 1)


def test_an_error_rolls_back_both(database: Database) -> None:
    """A failed flush at commit (a duplicate hash) keeps neither the claim nor the patient,
    runs no after-commit call, and is raised as SQLAlchemy's IntegrityError."""
    with database.driver_transaction() as tx:
        tx.session.add(Patient(telegram_id_hash=7, telegram_id="p1:x"))
    woken: list[str] = []

    def duplicate() -> None:
        with database.driver_transaction() as tx:
            inbox.claim(tx, update_id=2, chat_hash=7)
            tx.session.add(Patient(telegram_id_hash=7, telegram_id="p1:y"))
            tx.after_commit(lambda: woken.append("now"))

    with pytest.raises(IntegrityError):
        duplicate()
    assert woken == []
    assert (counted(database, InboxUpdate), counted(database, Patient)) == (0, 1)
    with database.driver_transaction() as tx:  # the connection came back usable
        assert inbox.claim(tx, update_id=2, chat_hash=7) is inbox.Claim.CLAIMED


def test_without_a_session_it_is_begin_immediate_and_commit(tmp_path: Path) -> None:
    """On SQLite the write lock is taken first, and only the driver's statements run."""
    with migrated("sqlite", tmp_path, "txn") as database, traced(database.engine) as statements:
        with database.driver_transaction() as tx:
            inbox.claim(tx, update_id=3, chat_hash=9)
        with database.driver_transaction() as tx:
            inbox.claim(tx, update_id=4, chat_hash=9)
            tx.session.add(Patient(telegram_id_hash=9, telegram_id="p1:x"))
    kinds = [" ".join(s.split()[:3]) for s in statements]
    claim, commit = "INSERT INTO inbox", "COMMIT"
    patient = "INSERT INTO patients"
    assert kinds == ["BEGIN IMMEDIATE", claim, commit, "BEGIN IMMEDIATE", claim, patient, commit]


def test_a_locked_database_is_a_storage_error(tmp_path: Path) -> None:
    """Another writer holding SQLite's lock past the busy timeout gives a clear StorageError."""
    with migrated("sqlite", tmp_path, "txn") as database:
        waiting = Database(database.url, busy_timeout_ms=50)
        try:
            with database.driver_transaction(), pytest.raises(StorageError, match="locked"):
                waiting.driver_transaction().__enter__()
        finally:
            waiting.dispose()
