"""Key rotation and the key check, through `intake-bot keys` on a real SQLite file.

Rows sealed with key A, `keys rotate` with "B,A", then A removed: everything reads (the
clinician's list and summary, a patient's intake in progress, their /mydata and /delete), no
stored value opens with A any more, and a rotation stopped half-way finishes when run again.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from telegram import Bot, Update
from typer.testing import CliRunner

from bot.cli import app
from bot.composition import Services, build_services
from bot.telegram.inbox import InboxStore, Received
from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile
from storage import rotation
from storage.database import Database
from storage.policy import columns_of
from storage.sealing import Sealer, SealError, new_key
from tests.bot.fake_bot_api import TOKEN
from tests.conftest import make_settings
from tests.flows.review_seed import complete_answers, seed_intake

MIDWAY = 5_111_222_333
DONE = 5_444_555_666
KEY_A, KEY_B = new_key(), new_key()
PENDING_ID = 4


def cli(url: str, key: str | None, *args: str) -> tuple[int, str, str]:
    """Run `intake-bot <args>` with a database and key(s): exit code, stdout, stderr."""
    env = {"INTAKE_DATABASE_URL": url, "INTAKE_ENCRYPTION_KEY": key or ""}
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def open_services(url: str, key: str | None) -> Services:
    """The services over the file with these key(s)."""
    return build_services(make_settings(url, encryption_key=key))


def say(services: Services, user: int, said: str, update_id: int) -> Any:
    """One typed turn."""
    profile = Profile(display_name="Mira Okonkwo", username="mira_o")
    action = Action(ActionKind.TEXT, text=said)
    return services.intake.handle_sync(Inbound(user, action, update_id=update_id, profile=profile))


@pytest.fixture
def sealed_with_a(database_url: str) -> str:
    """A database written under key A: an intake in progress, a reviewed one with a note."""
    services = open_services(database_url, KEY_A)
    for update_id, said in enumerate(["I agree", "41", "Female"], start=1):
        say(services, MIDWAY, said, update_id)
    flow = services.registry.active
    flags = [{"id": "jaundice", "level": "same_day"}]
    item = seed_intake(
        services.database,
        user=DONE,
        priority="same_day",
        flags=flags,
        flow=flow,
        answers=complete_answers(flow),
    )
    services.review.done("cli:a", item, name="Dr A", note="called back")
    services.review.deny_user(MIDWAY, "/queue")
    store = InboxStore(services.database, "gone:1")  # received, then its instance died
    assert store.keep(pending_update(MIDWAY, PENDING_ID, "No")) is Received.NEW
    services.close()
    return database_url


def pending_update(user: int, update_id: int, said: str) -> Update:
    """A patient's text message as Telegram sends it."""
    person = {"id": user, "is_bot": False, "first_name": "Mira"}
    chat = {"id": user, "type": "private", "first_name": "Mira"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": person, "text": said}
    return Update.de_json({"update_id": update_id, "message": message}, None)


def sealed_values(url: str) -> list[str]:
    """Every value of every sealed column."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return [
                value
                for table, columns in columns_of("sealed").items()
                for column in columns
                for (value,) in connection.execute(text(f"SELECT {column} FROM {table}"))
                if value is not None
            ]
    finally:
        database.dispose()


def test_rotate_to_b_then_drop_a_and_everything_reads(sealed_with_a: str) -> None:
    """The must-show of rotation: sealed with A, rotated to B, A removed, all still reads."""
    url = sealed_with_a
    code, out, err = cli(url, f"{KEY_B},{KEY_A}", "keys", "rotate")
    assert (code, err) == (0, "")
    report = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert report["patients"].startswith("2 rows: 6 values re-sealed, 0 already current")
    assert "2 look-up hashes renewed" in report["patients"]
    assert report["intake_sessions"].startswith("2 rows: 2 values re-sealed")
    assert "2 look-up hashes renewed" in report["intake_sessions"]  # the step keys of `stats`
    assert (
        report["inbox"] == "4 rows: 2 values re-sealed, 0 already current; 4 look-up hashes renewed"
    )
    assert report["audit_events"] == "1 look-up hashes renewed"
    values = sealed_values(url)
    assert all(Sealer(KEY_B).unseal(v) is not None for v in values)
    assert all(_fails(Sealer(KEY_A), v) for v in values)

    assert cli(url, KEY_B, "keys", "check")[0] == 0
    code, out, _ = cli(url, KEY_B, "stats", "--json")
    assert code == 0
    assert json.loads(out)["in_progress"] == 1  # found at its step by the renewed step key
    code, out, _ = cli(url, KEY_B, "review", "list", "--json")
    assert code == 0
    assert '"telegram_user_id": 5444555666' in out
    assert "Note: called back" in cli(url, KEY_B, "review", "show", "1")[1]
    services = open_services(url, KEY_B)
    try:
        [resumed] = InboxStore(services.database, "b:1").adopt(Bot(TOKEN), own=False)
        assert resumed.message is not None
        assert resumed.message.text == "No"  # sealed with A, read with B alone
        turn = say(services, MIDWAY, "No", PENDING_ID)  # the intake in progress goes on
        assert turn.answered_step == "pregnant"
        copy = services.intake.patients.copy(user_id=MIDWAY)
        assert any(line.endswith(": 41 years") for line in copy)
        services.intake.patients.delete(user_id=MIDWAY)
        with services.database.engine.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM inbox")).scalar()
            actors = [a for (a,) in connection.execute(text("SELECT actor FROM audit_events"))]
        assert left == 0  # found by their renewed hashes, and erased
        assert not any(a.startswith("user:") and a != "user:erased" for a in actors)
    finally:
        services.close()
    code, out, _ = cli(url, KEY_B, "keys", "rotate")
    assert code == 0
    assert "0 values re-sealed" in out.splitlines()[0]


def _fails(sealer: Sealer, value: str) -> bool:
    try:
        sealer.unseal(value)
    except SealError:
        return True
    return False


def test_an_interrupted_rotation_is_finished_by_running_it_again(
    sealed_with_a: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Committed batch by batch: a rotation stopped half-way keeps what it did, and a second
    run re-seals only the rest."""
    database = Database(sealed_with_a, sealer=Sealer(f"{KEY_B},{KEY_A}"))
    real, calls = rotation._rotate_row, {"n": 0}

    def fail_on_the_fourth(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("power cut")
        real(*args)

    monkeypatch.setattr(rotation, "_rotate_row", fail_on_the_fourth)
    with pytest.raises(RuntimeError):
        rotation.rotate(database, batch=1)
    monkeypatch.setattr(rotation, "_rotate_row", real)
    again = rotation.rotate(database, batch=1)
    assert again["patients"].current == 6  # both patients were done before the cut
    sessions = again["intake_sessions"]  # the first was done, the second was cut
    assert (sessions.current, sessions.resealed) == (1, 1)
    done = rotation.rotate(database, batch=1)
    assert sum(c.resealed for c in done.values()) == 0
    database.dispose()


def test_a_wrong_or_missing_key_is_one_line_at_start_up(sealed_with_a: str) -> None:
    """Another key, or none, on a sealed database: one line, exit code 2, before anything."""
    code, _, err = cli(sealed_with_a, new_key(), "review", "list")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: INTAKE_ENCRYPTION_KEY does not open this database")
    code, _, err = cli(sealed_with_a, None, "review", "list")
    assert (code, err) == (
        2,
        "error: this database is encrypted: set INTAKE_ENCRYPTION_KEY to its key\n",
    )


def test_a_demo_database_is_sealed_by_rotating_to_a_key(database_url: str) -> None:
    """A database written without a key is refused once a key is set, until `keys rotate`
    seals what it holds; `keys rotate` without a key says it needs one."""
    services = open_services(database_url, None)
    for update_id, said in enumerate(["I agree", "41"], start=1):
        say(services, MIDWAY, said, update_id)
    services.close()
    code, _, err = cli(database_url, KEY_A, "review", "list")
    assert code == 2
    assert "written without INTAKE_ENCRYPTION_KEY: run `intake-bot keys rotate`" in err
    code, _, err = cli(database_url, None, "keys", "rotate")
    assert (code, err) == (
        2,
        "error: keys rotate needs INTAKE_ENCRYPTION_KEY (the new key first)\n",
    )
    assert cli(database_url, KEY_A, "keys", "rotate")[0] == 0
    assert all(v.startswith("f1:") for v in sealed_values(database_url))
    services = open_services(database_url, KEY_A)
    try:
        assert say(services, MIDWAY, "Female", 3).answered_step == "sex_at_birth"
    finally:
        services.close()
