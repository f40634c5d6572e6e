"""The database on real SQLite files: unusable paths give clear messages (and exit code 2 from
`intake-bot chat`), a locked database fails a turn cleanly and loses nothing, and concurrent
writers in threads lose no update."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from flows.engine.conversation.values import Action, ActionKind, Inbound
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from flows.registry import FlowRegistry
from storage import intakes
from storage.database import Database, StorageError
from storage.migrate import upgrade
from storage.tables import IntakeSession, OutboxMessage, ReviewItem
from tests.conftest import BOOKING_URL, say
from tests.flows.bundled_scenarios import typed_lines_of

ROUTINE = typed_lines_of("routine")


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No INTAKE_* variables and no `.env` in the working folder (tmp_path)."""
    for name in [n for n in os.environ if n.startswith("INTAKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/folder/intake.db", "does not exist"),  # a path in a missing folder
        (".", "cannot open the database"),  # a directory as the database file
    ],
)
def test_an_unusable_database_gives_a_clear_message_and_exit_code_2(
    clean_env: Path, where: str, message: str
) -> None:
    """`intake-bot chat` on an unusable database says why, exits 2, shows no traceback."""
    url = f"sqlite:///{(clean_env / where).resolve()}"
    result = CliRunner().invoke(app, ["chat", "--db", url], input="I agree\n")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_an_unusable_database_raises_storage_error(tmp_path: Path) -> None:
    """The store itself reports an unusable path as StorageError, naming the path only."""
    with pytest.raises(StorageError, match="does not exist"):
        Database(f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    with pytest.raises(StorageError, match="cannot open"):
        upgrade(Database(f"sqlite:///{tmp_path}"))


@pytest.fixture
def quick_service(database_url: str, bundled_flow: LoadedFlow) -> Iterator[IntakeService]:
    """An intake service whose database waits only 200 ms for a lock."""
    database = Database(database_url, busy_timeout_ms=200)
    upgrade(database)
    registry = FlowRegistry(bundled_flow, database)
    yield IntakeService(
        database=database, registry=registry, booking_url=BOOKING_URL, emergency_number="999"
    )
    database.dispose()


@pytest.fixture
def plain_database(database_url: str) -> Iterator[Database]:
    """A migrated database with nothing else wired."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def hold_write_lock(database_url: str) -> sqlite3.Connection:
    """Another connection holding the write lock (BEGIN IMMEDIATE), as another process would."""
    other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def stored_answers(service: IntakeService) -> dict[str, Any]:
    """Every stored answer by step (of every session)."""
    with service.database.transaction() as tx:
        states = [session.state for session in tx.exec(select(IntakeSession))]
    found: dict[str, Any] = {}
    for state in states:
        found.update(service.database.sealer.unseal_json(state)["answers"])
    return found


def test_a_locked_database_fails_the_turn_cleanly_and_loses_nothing(
    quick_service: IntakeService, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """While another writer holds the lock a turn fails: the patient is told the clinic did not
    receive it (with the emergency number), the failure is counted and logged without their
    words; earlier answers stay, and the same update, delivered again once the lock is gone, is
    applied."""
    service = quick_service
    say(service, 7, "I agree", update_id=1)
    say(service, 7, "34", update_id=2)
    before = stored_answers(service)
    other = hold_write_lock(database_url)
    try:
        failed = say(service, 7, "Female", update_id=3)
    finally:
        other.rollback()
        other.close()
    assert failed.failed
    assert "has not received" in failed.prompts[-1].text
    assert "999" in failed.prompts[-1].text
    assert service.failsafe.failures == 1
    assert "update_id=3 error=StorageError" in caplog.text
    assert "Female" not in caplog.text
    assert stored_answers(service) == before
    retried = say(service, 7, "Female", update_id=3)
    assert not retried.duplicate
    assert retried.answered_step == "sex_at_birth"
    assert set(stored_answers(service)) == {*before, "sex_at_birth"}


def test_reading_inside_an_open_transaction_does_not_wait(database_url: str) -> None:
    """A read while this thread holds the write lock sees committed rows at once (no deadlock)."""
    database = Database(database_url, busy_timeout_ms=200)
    upgrade(database)
    try:
        with database.transaction() as tx:
            tx.add(OutboxMessage(topic="first", ref_id=1))
        with database.transaction() as tx:
            tx.add(OutboxMessage(topic="second", ref_id=2))
            tx.flush()  # this transaction now holds the write lock
            with database.reading() as read:
                topics = [row.topic for row in read.exec(select(OutboxMessage))]
        assert topics == ["first"]
    finally:
        database.dispose()


def test_concurrent_read_modify_writes_lose_no_update(plain_database: Database) -> None:
    """Eight threads incrementing one row 25 times each: all 200 increments are kept."""
    database = plain_database
    with database.transaction() as tx:
        row = OutboxMessage(topic="counter", ref_id=1)
        tx.add(row)
        tx.flush()
        row_id = row.id

    def increment() -> None:
        for _ in range(25):
            with database.transaction() as tx:
                counter = tx.get(OutboxMessage, row_id)
                assert counter is not None
                counter.attempts += 1
                tx.add(counter)

    threads = [threading.Thread(target=increment) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.transaction() as tx:
        counter = tx.get(OutboxMessage, row_id)
        assert counter is not None
        assert counter.attempts == 200


def test_concurrent_patients_all_complete(service: IntakeService, database: Database) -> None:
    """Six patients answering at the same time, in threads: every intake completes whole."""
    errors: list[BaseException] = []

    def patient(user: int) -> None:
        try:
            for line in ROUTINE:
                if line != "/skip":
                    say(service, user, line)
                else:
                    skip_optional(service, user)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=patient, args=(user,)) for user in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.transaction() as tx:
        statuses = [s.status for s in tx.exec(select(IntakeSession))]
        items = list(tx.exec(select(ReviewItem)))
        states = [s.state for s in tx.exec(select(IntakeSession))]
    answers = [len(database.sealer.unseal_json(state)["answers"]) for state in states]
    assert statuses == ["completed"] * 6
    assert len(items) == 6
    assert len(set(answers)) == 1
    assert answers[0] > 20


def skip_optional(service: IntakeService, user: int) -> None:
    """Press Skip on the patient's current question."""
    with service.database.transaction() as tx:
        patient = intakes.find_patient(tx, hashes=service.database.sealer.lookup_hashes(user))
        assert patient is not None
        assert patient.id is not None
        session = intakes.current_session(tx, patient_id=patient.id)
        assert session is not None
    index = service.registry.get(session.flow_id, session.flow_version).fm.index
    step = service.database.sealer.unseal_json(session.state)["step"]
    action = Action(ActionKind.SKIP, session_id=session.id, step_index=index[step])
    service.handle_sync(Inbound(user_id=user, action=action))


def test_every_engine_hides_sql_parameters(tmp_path: Path) -> None:
    """SQLite and PostgreSQL engines alike keep bound values out of errors and logs, and a
    new SQLite file is readable by its owner only (its WAL takes the same mode)."""
    urls = (f"sqlite:///{tmp_path / 'new.db'}", "postgresql://nobody@127.0.0.1:9/none")
    for url in urls:
        database = Database(url)
        assert database.engine.hide_parameters
        database.dispose()
    assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600


def test_an_existing_wider_file_is_narrowed_to_0600(tmp_path: Path) -> None:
    """A database file (and WAL) created before, world-readable, is made private on open."""
    path = tmp_path / "old.db"
    for file in (path, Path(f"{path}-wal")):
        file.write_bytes(b"")
        file.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert {f.stat().st_mode & 0o777 for f in (path, Path(f"{path}-wal"))} == {0o600}
