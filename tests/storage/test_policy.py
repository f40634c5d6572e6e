"""The checked data-protection policy: every column of every table is classified, and a
database filled by real intakes holds what the classification says (sealed values sealed,
keyed hashes in place of ids, nothing of the patient in clear metadata)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, text
from sqlmodel import SQLModel
from telegram import Update

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.composition import Services, build_services
from bot.telegram.inbox import InboxStore, Received
from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile
from flows.engine.loading.loader import LoadedFlow
from storage.policy import POLICY, columns_of
from storage.sealing import SEALED, new_key
from tests.conftest import make_settings
from tests.flows.bundled_scenarios import typed_lines_of

CANARY = "Quokkacanary5512"
USER = 4_321_987_650
PHONE = "+447700905512"
ROUTINE = typed_lines_of("routine")


def test_every_column_of_the_metadata_is_classified() -> None:
    """A new column without a rule (sealed, keyed hash, or clear with a reason) fails here."""
    found = {(t.name, c.name) for t in SQLModel.metadata.tables.values() for c in t.columns}
    listed = {(t, c) for t, rules in POLICY.items() for c in rules if t != "alembic_version"}
    assert found - listed == set(), "columns with no data-protection rule"
    assert listed - found == set(), "rules for columns that do not exist"
    assert all(rule.reason for rules in POLICY.values() for rule in rules.values())


def test_the_check_catches_an_unclassified_column() -> None:
    """The walk above does fail for a column added without a rule."""
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    from sqlalchemy import Column, String

    changed.tables["patients"].append_column(Column("nickname", String(40)))
    found = {(t.name, c.name) for t in changed.tables.values() for c in t.columns}
    listed = {(t, c) for t, rules in POLICY.items() for c in rules}
    assert found - listed == {("patients", "nickname")}


@pytest.fixture
def filled(database_url: str, bundled_flow: LoadedFlow) -> Iterator[Services]:
    """A keyed database after a flagged intake, a call-back number, a review with a note, a
    denial, a summary."""
    services = build_services(
        make_settings(database_url, encryption_key=new_key()), active=bundled_flow
    )
    intake, profile = services.intake, Profile(display_name=f"{CANARY} Name", username=CANARY)
    lines = [*ROUTINE[:7], "Yellow skin or eyes", ROUTINE[8], f"{CANARY} in my own words"]
    for update_id, line in enumerate(lines, start=1):
        action = Action(ActionKind.TEXT, text=line)
        intake.handle_sync(
            Inbound(USER, action, update_id=update_id, profile=profile, source=CANARY)
        )
    opened = filled_state(services)
    assert (opened["raised"], opened["answers"]["concern"]) == (
        {"jaundice": "same_day"},
        f"{CANARY} in my own words",
    )
    intake.handle_sync(Inbound(USER, Action(ActionKind.RESTART), update_id=99, profile=profile))
    play_to_end(services)
    assert services.intake.save_contact_sync(user_id=USER, phone=PHONE) == "completed"
    keep_pending(services)
    review = services.review
    [record] = [r for r in review.queue("cli:test") if r.intake_status == "completed"]
    review.claim("cli:test", record.item_id, name="Dr Test")
    review.done("cli:test", record.item_id, name="Dr Test", note=f"{CANARY} note")
    review.deny_user(USER, "/queue")
    review.sent_privately(record.item_id, 900, [5], "summary")
    yield services
    services.close()


def keep_pending(services: Services) -> None:
    """A message received and not yet applied (its instance died): an inbox row at rest."""
    message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": USER, "type": "private", "first_name": f"{CANARY} Name"},
        "from": {"id": USER, "is_bot": False, "first_name": f"{CANARY} Name"},
        "text": f"{CANARY} sent while the bot was down",
    }
    update = Update.de_json({"update_id": 9999, "message": message}, None)
    assert InboxStore(services.database, "gone:1").keep(update) is Received.NEW


def filled_state(services: Services) -> dict[str, Any]:
    """The (only) session's state, opened."""
    with services.database.transaction() as tx:
        (state,) = tx.exec(text("SELECT state FROM intake_sessions")).one()
    opened: dict[str, Any] = services.database.sealer.unseal_json(state)
    return opened


def play_to_end(services: Services) -> None:
    """A second, completed intake of the same patient with a flag (so an item is queued)."""
    lines = [*ROUTINE[:8], "Food sticking", *ROUTINE[9:]]
    turn = None
    for update_id, line in enumerate(lines, start=200):
        action = Action(ActionKind.TEXT, text=line)
        if line == "/skip" and turn is not None:
            index = turn.prompts[-1].step_index
            action = Action(ActionKind.SKIP, session_id=turn.session_id, step_index=index)
        turn = services.intake.handle_sync(Inbound(USER, action, update_id))
    assert turn is not None
    assert turn.ended


def all_rows(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, straight from SQL."""
    engine = services.database.engine
    with engine.connect() as connection:
        return {
            table: [
                dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {table}"))
            ]
            for table in inspect(engine).get_table_names()
        }


def test_a_filled_database_holds_what_the_policy_says(filled: Services) -> None:
    """Sealed columns hold only sealed values; keyed-hash columns the patient's keyed hash;
    no clear column holds the canary, a name, the Telegram id or a red-flag id."""
    rows = all_rows(filled)
    assert set(rows) == set(POLICY)
    flags = [rule.id for rule in filled.registry.active.red_flags]
    hashes = set(filled.database.sealer.lookup_hashes(USER))
    for table, columns in columns_of("sealed").items():
        values = [row[c] for row in rows[table] for c in columns if row[c] is not None]
        assert values, f"{table} holds no sealed value to check"
        assert all(str(v).startswith(SEALED) for v in values), table
    [phone] = [r["callback_phone"] for r in rows["intake_sessions"] if r["callback_phone"]]
    assert filled.database.sealer.unseal(phone) == PHONE
    steps = filled.registry.active.steps
    step_keys = {filled.database.sealer.step_key(step) for step in steps}
    for table, columns in columns_of("keyed_hash").items():
        allowed = step_keys if table == "intake_sessions" else hashes
        for row in rows[table]:
            assert all(row[c] is None or row[c] in allowed for c in columns), table
    for table, columns in columns_of("clear").items():
        for row in rows[table]:
            for column in columns:
                value = str(row[column])
                if (table, column) == ("intake_counts", "step_id"):
                    assert value in steps or value == ""  # aggregate rows are keyed by step
                    continue
                for secret in (CANARY, PHONE, str(USER), *flags):
                    assert secret not in value, (table, column, secret)
