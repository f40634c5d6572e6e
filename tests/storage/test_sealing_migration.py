"""The sealing migration on a database written by the earlier schemas (0001 to 0003).

What was stored converts: answers move into the session's sealed blob with its step, state
and source; flags with their evidence are sealed; a plain call-back number is sealed; names
that were plain are sealed; the Telegram id becomes a keyed hash plus a sealed copy; audit
actors lose the Telegram id; a half-done earlier /delete is completed; the key canary is
written; and the converted intake goes on. A key that does not open what is stored stops the
upgrade before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from bot.composition import build_services
from bot.settings import BUNDLED_FLOWS
from flows.engine.conversation.values import Action, ActionKind, Inbound
from flows.registry import load_active
from storage.database import Database
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.rotation import check_key
from storage.sealing import Sealer, SealError, new_key
from tests.conftest import make_settings
from tests.storage.postgres import URL, fresh_schema

KEY = new_key()
PATIENT, STRANGER = 5_010_203_040, 5_090_807_060
PHONE = "+447700900404"
EVIDENCE = {"source": "free_text", "step": "concern", "at": "2026-11-01T10:00:00+00:00",
            "words": "my eyes have gone yellow"}  # fmt: skip
FLAG = {"id": "jaundice", "level": "same_day", "evidence": [EVIDENCE]}
NOW = "2026-11-01 10:00:00.000000"
BUNDLED = load_active(flows_dir=BUNDLED_FLOWS, flow_id="gut_health")


def at_revision_0001(url: str, revision: str = "0001") -> None:
    """A database migrated to an earlier schema only (by default the first)."""
    database = Database(url)
    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
    database.dispose()


def call_back_number(url: str) -> None:
    """At the revision that added call-back numbers, one stored plain (before a key was set)."""
    at_revision_0001(url, "0003_callback_phone")
    database = Database(url)
    with database.engine.connect() as connection:
        connection.execute(
            text("UPDATE intake_sessions SET callback_phone = :p WHERE id = 2"), {"p": PHONE}
        )
        connection.commit()
    database.dispose()


def old_rows(url: str) -> None:
    """Rows as the earlier code wrote them (answers per row, JSON state and flags, ids)."""
    sealer = Sealer(KEY)
    answers = [
        ("consent", sealer.seal(json.dumps("agree"))),
        ("age", json.dumps(52)),  # written before a key was set: plain
    ]
    statements = [
        ("INSERT INTO patients VALUES (1, :p, 'en', :name, 'pat_old', :now, false, :now)", {}),
        ("INSERT INTO patients VALUES (2, -2, NULL, NULL, NULL, NULL, false, :now)", {}),
        (
            "INSERT INTO intake_sessions VALUES (1, 1, 'gut_health', 1, 'completed', 'submitted',"
            " '{}', NULL, :now, :now, :now)",
            {},
        ),
        (
            "INSERT INTO intake_sessions VALUES (2, 1, 'gut_health', 1, 'active', 'sex_at_birth',"
            " :state, 'campaign7', :now, :now, NULL)",
            {},
        ),
        (
            "INSERT INTO intake_sessions VALUES (3, 2, 'gut_health', 1, 'cancelled', 'age',"
            " '{}', NULL, :now, :now, :now)",
            {},
        ),
        ("INSERT INTO answers VALUES (9, 3, 'age', '61', :now)", {}),
        (
            "INSERT INTO review_items VALUES (1, 1, 'same_day', 1, :flags, 'claimed', 'Dr X',"
            " :now, NULL, 'call back', 55, :now, :now)",
            {},
        ),
        ("INSERT INTO audit_events VALUES (1, :now, :actor, 'intake.started', 2, NULL, NULL)", {}),
        (
            "INSERT INTO audit_events VALUES (2, :now, :denied, 'access.denied', NULL, NULL, '/q')",
            {},
        ),
        ("INSERT INTO flow_versions VALUES ('gut_health', 1, :digest, :source, :now)", {}),
    ]
    params = {
        "p": PATIENT,
        "name": sealer.seal("Ana Old"),
        "now": NOW,
        "state": json.dumps(
            {
                "history": ["consent", "age"],
                "raised": {"jaundice": "same_day"},
                "flags": {"jaundice": FLAG},
            }
        ),
        "flags": json.dumps([FLAG]),
        "actor": f"patient:{PATIENT}",
        "denied": f"telegram:{STRANGER}",
        "digest": BUNDLED.digest,
        "source": BUNDLED.source,
    }
    database = Database(url)
    with database.engine.connect() as connection:
        for sql, extra in statements:
            connection.execute(text(sql), {**params, **extra})
        for step, value in answers:
            connection.execute(
                text(
                    "INSERT INTO answers (session_id, step_id, value, answered_at) "
                    "VALUES (2, :s, :v, :n)"
                ),
                {"s": step, "v": value, "n": NOW},
            )
        connection.commit()
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database before sealing holding rows of the earlier code (SQLite and PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        at_revision_0001(url)
        old_rows(url)
        call_back_number(url)
        yield url
        return
    if not URL:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set")
    with fresh_schema("sealing") as url:
        at_revision_0001(url)
        old_rows(url)
        call_back_number(url)
        yield url


def rows(database: Database, sql: str) -> list[Any]:
    """The rows of a query."""
    with database.engine.connect() as connection:
        return list(connection.execute(text(sql)))


def test_stored_data_converts_and_the_intake_goes_on(old_database: str) -> None:
    """Everything the earlier code stored is sealed the new way, and still reads."""
    database = Database(old_database, sealer=Sealer(KEY))
    upgrade(database)
    check_key(database)
    sealer = database.sealer
    [(hashed, sealed_id, name, username)] = rows(
        database, "SELECT telegram_id_hash, telegram_id, display_name, username FROM patients"
    )
    assert (hashed, sealer.unseal(sealed_id)) == (sealer.lookup_hash(PATIENT), str(PATIENT))
    assert (sealer.unseal(name), sealer.unseal(username)) == ("Ana Old", "pat_old")
    states = dict(rows(database, "SELECT id, state FROM intake_sessions"))
    assert set(states) == {1, 2}  # the tombstoned patient's intake is gone
    blob = sealer.unseal_json(states[2])
    assert blob["step"] == "sex_at_birth"
    assert blob["answers"] == {"consent": "agree", "age": 52}
    assert (blob["source"], blob["raised"]) == ("campaign7", {"jaundice": "same_day"})
    assert blob["flags"] == {"jaundice": FLAG}  # the evidence, inside the sealed blob
    phones = [p for (p,) in rows(database, "SELECT callback_phone FROM intake_sessions") if p]
    assert [sealer.unseal(p) for p in phones] == [PHONE]
    assert not any(PHONE in p for p in phones)
    [(flags, note, claimed_by, claimed_name)] = rows(
        database, "SELECT red_flags, note, claimed_by, claimed_name FROM review_items"
    )
    assert sealer.unseal_json(flags) == [FLAG]
    assert (sealer.unseal(note), claimed_by, claimed_name) == ("call back", "Dr X", "Dr X")
    actors = [a for (a,) in rows(database, "SELECT actor FROM audit_events ORDER BY id")]
    assert actors == ["patient", f"user:{sealer.lookup_hash(STRANGER)}"]
    [(source,)] = rows(database, "SELECT source FROM flow_versions")
    assert sealer.unseal(source) == BUNDLED.source
    assert current_revision(database) == head_revision()
    database.dispose()

    services = build_services(make_settings(old_database, encryption_key=KEY))
    try:
        action = Action(ActionKind.TEXT, text="Female")
        turn = services.intake.handle_sync(Inbound(PATIENT, action))
        assert turn.answered_step == "sex_at_birth"
    finally:
        services.close()


def test_a_key_that_does_not_open_the_stored_values_changes_nothing(old_database: str) -> None:
    """The upgrade checks the key first: with another one it stops, and the database is left
    at the earlier revision, as it was."""
    database = Database(old_database, sealer=Sealer(new_key()))
    with pytest.raises(SealError, match="cannot be opened with INTAKE_ENCRYPTION_KEY"):
        upgrade(database)
    assert current_revision(database) == "0003_callback_phone"
    assert len(rows(database, "SELECT * FROM answers")) == 3
    database.dispose()
