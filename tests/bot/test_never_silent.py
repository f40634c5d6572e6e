"""Never silent, never lost, through the real Application over the fake Bot API: a database that
stops taking writes still gets an emergency answered with the number; a completed patient's
emergency reaches the review queue and the review chat at once; the inbox resumes, keeps a
patient's order behind another instance's update; idle intakes are swept; an old
Back button changes nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.composition import build_services
from storage import inbox
from storage.database import Database
from storage.queue import priority_of
from storage.tables import InboxUpdate, IntakeSession, ReviewItem
from tests.bot.conftest import TEST_KEY, RunningBot, make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.fake_telegram_objects import entities, message_base
from tests.bot.review_bot import (
    REVIEW_CHAT,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)
from tests.storage.postgres import fresh_schema, requires_postgres

PATIENT = 8101
NUMBER = "0118 999"  # a number no other text of the flow contains
EMERGENCY = "I threw up blood this morning"
LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""


def hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process holds the database's write lock until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


async def test_an_emergency_into_a_locked_database_is_still_answered(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """The database is locked by another process mid-intake (writes fail after the busy
    timeout): the patient's emergency still gets the emergency message with the number, then
    the fallback; once the lock is gone the bot answers as before."""
    services = build_services(make_settings(fake_api, db_path, emergency_number=NUMBER))
    bot = await start_bot(fake_api, services)
    try:
        await bot.say(PATIENT, "/start")
        await bot.tap(PATIENT, "I agree")
        holder = await asyncio.to_thread(hold_write_lock, db_path)
        try:
            before = len(bot.texts(PATIENT))
            await bot.say(PATIENT, EMERGENCY)
        finally:
            holder.communicate("")
        replies = bot.texts(PATIENT)[before:]
        assert NUMBER in replies[0]
        assert "emergency department" in replies[0]
        assert "has not received" in replies[-1]
        assert NUMBER in replies[-1]
        await bot.say(PATIENT, "34")  # the database takes writes again
        assert "has not received" not in bot.texts(PATIENT)[-1]
        assert bot.last(PATIENT).buttons  # the next question
    finally:
        await stop_bot(bot)
        services.close()


async def test_a_completed_patient_typing_an_emergency_reaches_the_queue_and_chat_at_once(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """After a completed intake, an emergency phrase: the patient gets the emergency message;
    `review list --json` shows their item at emergency; the review chat gets a new card at once
    (the worker's poll is 30 s: only the wake-up can explain it)."""
    services = review_services(fake_api, db_path)
    bot = await start_review_bot(fake_api, services, poll=30.0)
    try:
        await bot.run_intake(PATIENT)
        await wait_until(lambda: len(fake_api.messages_to(REVIEW_CHAT)) == 1, timeout=5)
        await bot.say(PATIENT, EMERGENCY)
        took = await wait_until(lambda: len(fake_api.messages_to(REVIEW_CHAT)) == 2, timeout=5)
    finally:
        await stop_review_bot(bot)
        services.close()
    assert "emergency department" in bot.texts(PATIENT)[-2]
    assert "clinician" in bot.texts(PATIENT)[-1]
    assert took < 2.0
    card = fake_api.messages_to(REVIEW_CHAT)[-1]
    assert card.text.startswith("EMERGENCY")
    env = {"INTAKE_DATABASE_URL": f"sqlite:///{db_path}", "INTAKE_ENCRYPTION_KEY": TEST_KEY}
    listed = CliRunner().invoke(cli_app, ["review", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.stderr
    [item] = [i for i in json.loads(listed.stdout) if i["telegram_user_id"] == PATIENT]
    assert item["priority"] == "emergency"


def old_update(fake: FakeBotApi, user: int, text: str) -> dict[str, Any]:
    """An update with the fake's next update id, which the fake itself will never deliver (as
    if another instance had received it)."""
    update_id = next(fake._update_ids)
    message = {**message_base(user, None, next(fake._ids)), "text": text, **entities(text)}
    return {"update_id": update_id, "message": message}


def store_pending(services: Any, update: dict[str, Any], chat: int) -> None:
    """Put an update in the inbox as received and not yet applied."""
    sealer = services.database.sealer
    with services.database.transaction() as tx:
        inbox.receive(
            tx,
            update_id=update["update_id"],
            chat_hash=sealer.lookup_hash(chat),
            chat=sealer.seal(str(chat)),
            payload=sealer.seal(json.dumps(update)),
        )


async def test_a_pending_update_is_resumed_at_start(fake_api: FakeBotApi, db_path: Path) -> None:
    """An update committed before a crash (never applied) is applied when the bot starts."""
    services = build_services(make_settings(fake_api, db_path))
    store_pending(services, old_update(fake_api, PATIENT, "/start"), PATIENT)
    bot = await start_bot(fake_api, services)
    try:
        await wait_until(lambda: bool(fake_api.messages_to(PATIENT)))
        assert "automated intake assistant" in bot.texts(PATIENT)[0]
    finally:
        await stop_bot(bot)
        services.close()


async def test_an_update_waits_for_an_older_one_another_instance_received(
    telegram_bot: RunningBot,
) -> None:
    """Another instance committed the patient's older update and died: this bot's newer update
    is deferred, the older one applied first, then the newer; the replies come in that order."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    store_pending(bot.services, old_update(bot.fake, PATIENT, "I agree"), PATIENT)
    await bot.say(PATIENT, "34")
    texts = bot.texts(PATIENT)
    age_question = next(i for i, t in enumerate(texts) if "How old are you" in t)
    assert any("sex" in t.lower() for t in texts[age_question + 1 :])  # 34 answered the age
    with bot.services.database.reading() as tx:
        [session] = tx.exec(select(IntakeSession)).all()
        assert inbox.count_pending(tx) == 0
    assert bot.services.database.sealer.unseal_json(session.state)["step"] == "sex_at_birth"


async def test_the_running_bot_queues_an_idle_flagged_intake(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """With a short idle time, an intake left after a soon flag is closed as abandoned and its
    review card reaches the review chat as an incomplete intake."""
    services = review_services(fake_api, db_path, abandon_after_hours=1.5 / 3600)
    bot = await start_review_bot(fake_api, services, poll=30.0)
    try:
        await bot.say(PATIENT, "/start")
        await bot.advance_to(PATIENT, "warning_signs")
        await bot.tap(PATIENT, "Food sticking or hard to swallow")
        await bot.tap(PATIENT, "Done")
        await wait_until(lambda: bool(fake_api.messages_to(REVIEW_CHAT)), timeout=10)
    finally:
        await stop_review_bot(bot)
        services.close()
    card = fake_api.messages_to(REVIEW_CHAT)[0].text
    assert card.startswith("SEE A DOCTOR SOON")
    assert "intake incomplete" in card
    with services.database.reading() as tx:
        [session] = tx.exec(select(IntakeSession)).all()
        [item] = tx.exec(select(ReviewItem)).all()
    assert (session.status, priority_of(item)) == ("abandoned", "soon")


async def test_a_back_button_of_an_earlier_intake_changes_nothing(
    telegram_bot: RunningBot,
) -> None:
    """After /restart, pressing Back on a question of the old intake gets the stale notice and
    the current question stays."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "34")
    old = bot.last(PATIENT)
    old_back = next(data for label, data in old.buttons if label == "Back")
    await bot.say(PATIENT, "/restart")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "40")
    current = bot.last(PATIENT).text
    bot.fake.press(PATIENT, old.message_id, old_back)
    await bot.settle()
    assert bot.last(PATIENT).text == current
    notice = bot.fake.calls_of("answerCallbackQuery")[-1].params.get("text", "")
    assert "earlier question" in notice
    with bot.services.database.reading() as tx:
        active = tx.exec(select(IntakeSession).where(IntakeSession.status == "active")).all()
    steps = [bot.services.database.sealer.unseal_json(s.state)["step"] for s in active]
    assert steps == ["sex_at_birth"]


@contextmanager
def app_role(url: str) -> Iterator[tuple[str, Callable[[str], None]]]:
    """A login role with full rights on the schema of `url`: (its URL, run SQL as superuser)."""
    role = f"app_{uuid.uuid4().hex[:10]}"
    admin = Database(url)

    def sql(statement: str) -> None:
        with admin.engine.begin() as conn:
            conn.execute(text(statement.format(role=role)))

    schema = url.rsplit("%3D", 1)[1]
    sql("CREATE ROLE {role} LOGIN")
    sql(f'GRANT USAGE ON SCHEMA "{schema}" TO {{role}}')
    sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {{role}}')
    sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {{role}}')
    try:
        yield url.replace("postgres@", f"{role}@", 1), sql
    finally:
        sql("DROP OWNED BY {role}")
        sql("DROP ROLE {role}")
        admin.dispose()


@requires_postgres
async def test_a_role_losing_its_write_rights_still_answers_an_emergency(
    fake_api: FakeBotApi,
) -> None:
    """On PostgreSQL, the bot's role loses INSERT/UPDATE/DELETE mid-intake: the emergency is
    still answered with the number (then the fallback); with the rights back, turns work."""
    with fresh_schema("revoked") as url:
        build_services(make_settings(fake_api, Path("unused"), database_url=url)).close()
        with app_role(url) as (role_url, sql):
            settings = make_settings(
                fake_api, Path("unused"), database_url=role_url, emergency_number=NUMBER
            )
            services = build_services(settings)
            bot = await start_bot(fake_api, services)
            schema = url.rsplit("%3D", 1)[1]
            try:
                await bot.say(PATIENT, "/start")
                await bot.tap(PATIENT, "I agree")
                rights = f'INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}"'
                sql(f"REVOKE {rights} FROM {{role}}")
                before = len(bot.texts(PATIENT))
                await bot.say(PATIENT, EMERGENCY)
                replies = bot.texts(PATIENT)[before:]
                assert NUMBER in replies[0]
                assert "emergency department" in replies[0]
                assert "has not received" in replies[-1]
                sql(f"GRANT {rights} TO {{role}}")
                await bot.say(PATIENT, "34")
                assert bot.last(PATIENT).buttons
                assert "has not received" not in bot.texts(PATIENT)[-1]
            finally:
                await stop_bot(bot)
                services.close()


def owe_reply(services: Any, update_id: int, owner: str) -> None:
    """Make an applied update's reply look lost: applied by `owner`, never recorded delivered."""
    with services.database.transaction() as tx:
        row = tx.get(InboxUpdate, update_id)
        assert row is not None
        row.status, row.owner = "applied", owner
        tx.add(row)


async def test_replies_lost_with_a_killed_process_are_sent_again(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """The process died after committing two patients' turns and before replying (one was an
    emergency): when it starts again, the one gets the emergency message with the number, the
    other 'welcome back' and their question; the replies are recorded as delivered."""
    services = build_services(make_settings(fake_api, db_path, emergency_number=NUMBER))
    bot = await start_bot(fake_api, services)
    try:
        await bot.say(PATIENT, "/start")
        await bot.tap(PATIENT, "I agree")
        await bot.say(PATIENT, "34")
        age_update = fake_api.last_update_id
        await bot.say(PATIENT + 1, "/start")
        await bot.tap(PATIENT + 1, "I agree")
        await bot.say(PATIENT + 1, EMERGENCY)
        emergency_update = fake_api.last_update_id
    finally:
        await stop_bot(bot)
    name = services.settings.instance_name
    owe_reply(services, age_update, name)
    owe_reply(services, emergency_update, "another-host:8080")  # an instance that never returns
    seen = {p: len(fake_api.texts_to(p)) for p in (PATIENT, PATIENT + 1)}
    bot = await start_bot(fake_api, services)
    try:
        await wait_until(lambda: len(fake_api.texts_to(PATIENT + 1)) > seen[PATIENT + 1])
        await wait_until(lambda: len(fake_api.texts_to(PATIENT)) >= seen[PATIENT] + 2)

        def statuses() -> set[str]:
            with services.database.reading() as tx:
                rows = tx.exec(select(InboxUpdate.status).where(
                    InboxUpdate.update_id.in_([age_update, emergency_update]))).all()  # type: ignore[attr-defined]  # fmt: skip
            return set(rows)

        await wait_until(lambda: statuses() == {"done"})
    finally:
        await stop_bot(bot)
        services.close()
    resent = fake_api.texts_to(PATIENT + 1)[seen[PATIENT + 1]]
    assert NUMBER in resent
    welcome, question = fake_api.texts_to(PATIENT)[seen[PATIENT] :][:2]
    assert "Welcome back" in welcome
    assert "sex" in question.lower()
