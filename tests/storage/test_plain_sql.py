"""The turn's statements as plain SQL, on SQLite and PostgreSQL: the same rows as SQLAlchemy's
execution of the same statements, rows read back as the ORM reads them, errors raised as
SQLAlchemy's; and an answer turn runs four statements between BEGIN and COMMIT."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from bot.composition import Services
from flows.engine.conversation.values import Action, ActionKind, Inbound
from storage import inbox, intake_counts, intakes, plain_sql
from storage.database import Database
from storage.tables import InboxUpdate, IntakeCount, IntakeSession, Patient
from tests.storage.driver_trace import traced
from tests.storage.postgres import migrated

WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: a SQLite file, or a fresh schema on the test PostgreSQL."""
    with migrated(request.param, tmp_path, "plain") as db:
        yield db


def stored(database: Database, table: Any, *where: Any) -> list[dict[str, Any]]:
    """Rows of a table as SQLAlchemy reads them, in primary-key order."""
    query = select(table).where(*where).order_by(*table.primary_key.columns)
    with database.reading() as tx:
        return [dict(row._mapping) for row in tx.execute(query)]


def seed_session(database: Database, telegram_hash: int = 11) -> tuple[int, int]:
    """A patient with an active session (through the ORM); their ids."""
    with database.transaction() as tx:
        patient = Patient(telegram_id_hash=telegram_hash, telegram_id="p1:x", language="es")
        tx.add(patient)
        tx.flush()
        assert patient.id is not None
        record = IntakeSession(patient_id=patient.id, flow_id="f", flow_version=2, state="p1:s")
        tx.add(record)
        tx.flush()
        assert record.id is not None
        return patient.id, record.id


def test_claims_store_what_sqlalchemy_stored(database: Database) -> None:
    """The claim's upsert, run plain and run by SQLAlchemy on a twin row, leaves equal rows."""
    with database.transaction() as tx:
        for update_id in (1, 2):
            inbox.receive(tx, update_id=update_id, chat_hash=update_id, chat="c", payload="p")
    values = {"chat_hash": 0, "status": "done", "received_at": WHEN, "processed_at": WHEN}
    with database.transaction() as tx:
        statement = plain_sql.prepared(tx, "claim", inbox._claim, inbox.CLAIM_KEYS)
        assert plain_sql.run(tx, statement, {**values, "update_id": 1, "claimant": "me"}) == [(1,)]
        twin = inbox._claim(tx.get_bind().dialect.name)
        tx.execute(twin, {**values, "update_id": 2, "claimant": "me"})
        for update_id in (3, 4):  # never received: inserted as done
            assert plain_sql.run(
                tx, statement, {**values, "update_id": update_id, "claimant": None}
            )
    rows = stored(database, InboxUpdate.__table__)  # type: ignore[attr-defined]
    by_id = {row.pop("update_id"): row for row in rows}
    assert by_id[1] == {**by_id[2], "chat_hash": 1, "received_at": by_id[1]["received_at"]}
    assert by_id[1]["status"] == "applied"
    assert by_id[1]["processed_at"] == WHEN
    assert by_id[3] == {**by_id[1], "chat_hash": 0, "status": "done", "received_at": WHEN,
                        "owner": None, "chat": None}  # fmt: skip


def test_the_claim_still_refuses_an_update_out_of_order(database: Database) -> None:
    """Update 6 of a chat waits while 5 is pending; once 5 is claimed, 6 is, and 5 never twice."""
    with database.transaction() as tx:
        for update_id in (5, 6):
            inbox.receive(tx, update_id=update_id, chat_hash=9, chat=None, payload="p")
    for update_id, expected in [(6, "deferred"), (5, "claimed"), (5, "duplicate"), (6, "claimed")]:
        with database.transaction() as tx:
            assert inbox.claim(tx, update_id=update_id, chat_hash=9) == expected


def test_counts_add_up_as_before(database: Database) -> None:
    """The counts upsert run plain adds to stored rows exactly as SQLAlchemy's run adds."""
    row = {"day": date(2026, 3, 4), "flow_version": 1, "step_id": "age", "reached": 1}
    for flow_id in ("plain", "orm", "plain", "orm"):
        with database.transaction() as tx:
            if flow_id == "plain":
                intake_counts.add_counts(tx, rows=[{**row, "flow_id": flow_id, "seconds_3": 2}])
            else:
                values = {**intake_counts.ZEROS, **row, "flow_id": flow_id, "seconds_3": 2}
                upsert = intake_counts._upsert(tx.get_bind().dialect.name)
                tx.execute(upsert, [{**values, "period": p, "day": d} for p, d in PERIODS])
    counts = IntakeCount.__table__  # type: ignore[attr-defined]
    plain = stored(database, counts, counts.c.flow_id == "plain")
    orm = stored(database, counts, counts.c.flow_id == "orm")
    assert [{**r, "flow_id": "orm"} for r in plain] == orm
    assert {(r["period"], r["day"], r["reached"], r["seconds_3"]) for r in plain} == {
        (p, d, 2, 4) for p, d in PERIODS
    }


PERIODS = [("day", date(2026, 3, 4)), ("month", date(2026, 3, 1)), ("all", date.min)]


def test_the_current_session_reads_as_the_orm_reads_it(database: Database) -> None:
    """`find_current` gives the values the ORM loads, as detached objects: a change to one
    added to a session is written; the session's `UPDATE` stores what SQLAlchemy stores."""
    patient_id, session_id = seed_session(database)
    with database.transaction() as tx:
        patient, record = intakes.find_current(tx, hashes=[99, 11], for_update=True)
        assert patient is not None
        assert record is not None
        assert object_session(record) is None
        assert inspect(record).detached
        intakes.save_session(tx, record=record, values={"step_key": 7, "updated_at": WHEN})
        patient.language = "en"
        tx.add(patient)
    with database.transaction() as tx:
        loaded = tx.get(IntakeSession, session_id)
        owner = tx.get(Patient, patient_id)
        assert loaded is not None
        assert owner is not None
        assert loaded.model_dump() == record.model_dump()
        assert (loaded.step_key, loaded.updated_at, owner.language) == (7, WHEN, "en")
        assert owner.model_dump() == {**patient.model_dump(), "language": "en"}
        assert loaded.started_at.tzinfo is UTC


def test_a_saved_session_then_changed_in_a_session_keeps_both(database: Database) -> None:
    """Columns written by `save_session` on a loaded row count as stored: a later change through
    the ORM writes only what it changed, over them."""
    _, session_id = seed_session(database, telegram_hash=12)
    with database.driver_transaction() as tx:
        _, record = intakes.find_current(tx, hashes=[12], for_update=True)
        assert record is not None
        intakes.save_session(tx, record=record, values={"step_key": 8, "state": "p1:t"})
        assert not inspect(record).modified
        record.status = "cancelled"
        tx.session.add(record)
    with database.transaction() as tx:
        loaded = tx.get(IntakeSession, session_id)
        assert loaded is not None
        assert (loaded.step_key, loaded.state, loaded.status) == (8, "p1:t", "cancelled")


def test_a_patient_without_a_session_is_found(database: Database) -> None:
    """No session yet: the patient alone (under an older key's hash too), else nobody."""
    with database.transaction() as tx:
        tx.add(Patient(telegram_id_hash=21, telegram_id="p1:x", unreachable=True))
    with database.transaction() as tx:
        patient, record = intakes.find_current(tx, hashes=[20, 21])
        assert patient is not None
        assert record is None
        assert (patient.telegram_id_hash, patient.unreachable) == (21, True)
        assert intakes.find_current(tx, hashes=[22]) == (None, None)


def test_driver_errors_are_raised_as_sqlalchemy_errors(database: Database) -> None:
    """A constraint broken by a plain statement is SQLAlchemy's IntegrityError (the intake
    service runs a turn again on it), and the transaction rolls back."""
    seed_session(database, telegram_hash=31)
    patients = Patient.__table__  # type: ignore[attr-defined]
    keys = ("telegram_id_hash", "telegram_id", "unreachable", "created_at")
    statement = plain_sql.compile_plain(insert(patients), database.engine.dialect, keys)
    values = {"telegram_id_hash": 31, "telegram_id": "x", "unreachable": False, "created_at": WHEN}
    with pytest.raises(IntegrityError), database.transaction() as tx:
        plain_sql.run(tx, statement, values)
    assert len(stored(database, patients)) == 1


def test_an_answer_turn_runs_four_statements(services: Services) -> None:
    """Between BEGIN and COMMIT an answer runs the claim, one read of patient and session,
    the session's UPDATE and the counts upsert (SQLite's own trace)."""
    service = services.intake
    for update_id, text in enumerate(["/start", "I agree"], start=1):
        action = Action(ActionKind.START) if text == "/start" else Action(ActionKind.TEXT, text)
        service.handle_sync(Inbound(5, action, update_id=update_id))
    with traced(services.database.engine) as statements:
        turn = service.handle_sync(Inbound(5, Action(ActionKind.TEXT, text="40"), update_id=3))
    assert turn.answered_step
    assert not turn.failed
    kinds = [" ".join(s.split()[:3]) for s in statements]
    counting = kinds.count("INSERT INTO intake_counts")
    assert counting >= 1
    assert kinds == [
        "BEGIN IMMEDIATE",
        "INSERT INTO inbox",
        "SELECT patients.id, patients.telegram_id_hash,",
        "UPDATE intake_sessions SET",
        *["INSERT INTO intake_counts"] * counting,
        "COMMIT",
    ]


def test_remembered_date_and_timestamp_binds_match_sqlalchemy(database: Database) -> None:
    """Bind processors of date and timestamp columns are remembered per value: past the memo's
    size, and with one instant in two time zones, they give what SQLAlchemy's give."""
    counts = IntakeCount.__table__  # type: ignore[attr-defined]
    dialect = database.engine.dialect
    keys = intake_counts.KEY + intake_counts.COLUMNS
    statement = plain_sql.compile_plain(intake_counts._upsert(dialect.name), dialect, keys)
    unchanged = lambda value: value  # noqa: E731  # a driver that takes dates as they are
    plain_day = counts.c.day.type.dialect_impl(dialect).bind_processor(dialect) or unchanged
    remembered = statement.processors.get("day", unchanged)
    days = [date(2026, 1, 1) + timedelta(days=i % 300) for i in range(2 * plain_sql.MEMO_SIZE)]
    assert [remembered(d) for d in days] == [plain_day(d) for d in days]
    claim = plain_sql.compile_plain(inbox._claim(dialect.name), dialect, inbox.CLAIM_KEYS)
    at = claim.processors["received_at"]
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert at(WHEN) == at(elsewhere) == at(WHEN.replace(tzinfo=UTC))
