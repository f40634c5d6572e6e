"""The log canary: a patient's words, name and username never reach a log line.

Every logger is set to DEBUG (as an operator chasing a problem would) and every record is
captured, tracebacks included. A patient puts a canary string everywhere they can: name,
username, deep-link source, free-text answers, the words kept as a red flag's evidence, a
shared call-back number; then the paths that fail are walked too: a turn and a shared contact
the database refuses (their SQL parameters would carry the canary), a reply Telegram refuses, a
notice and a clinician summary Telegram refuses, a session sealed with another key (a
SealError), a red flag typed after the intake ended, an update posted to the webhook (kept in
the inbox, then applied) and webhook bodies that are not updates. With a key and without one
(then the SQL parameters are the plain words).
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.telegram.webhook import SECRET_HEADER, WebhookConfig, webhook_server
from storage.sealing import Sealer, new_key
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import Failure, FakeBotApi
from tests.bot.review_bot import (
    CLINICIAN,
    REVIEW_CHAT,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)

CANARY = "Pangolincanary4471"
PATIENT, SECOND, THIRD = 5_333_444_555, 5_666_777_888, 5_999_000_111
PROFILE = {"first_name": f"{CANARY}first", "last_name": f"{CANARY}last", "username": "pangolin"}
PHONE = "+447700904471"  # a call-back number, shared as a contact
SECRETS = (CANARY, "pangolin", PHONE, PHONE.lstrip("+"))
REFUSE_WRITES = (
    "CREATE TRIGGER refuse_turns BEFORE UPDATE ON intake_sessions "
    "BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
)


class Captured(logging.Handler):
    """Every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted record."""
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A handler on the root logger at DEBUG; every logger's level restored afterwards."""
    handler, root = Captured(), logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def everything_at_debug() -> None:
    """Every logger there is, at DEBUG (after start-up quietened some)."""
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)


async def fill_and_fail(bot: RunningBot, db: Path) -> None:
    """The canary in every field, then every failure path a patient's data can take."""
    fake = bot.fake
    patient = bot.patient(PATIENT)
    patient.typed["concern"] = f"{CANARY} and my eyes have gone yellow {CANARY}"
    fake.send_text(PATIENT, f"/start src{CANARY}")
    await bot.settle()
    await bot.advance_to(PATIENT, "concern")
    fake.fail(Failure("sendMessage", 400, "Bad Request: message is too long", PATIENT))
    await bot.say(PATIENT, f"{CANARY} and my eyes have gone yellow {CANARY}")
    with sqlite3.connect(db) as connection:
        connection.execute(REFUSE_WRITES)
    await bot.say(PATIENT, f"{CANARY} six months")
    fake.send_contact(PATIENT, PHONE, owner=PATIENT)
    await bot.settle()
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TRIGGER refuse_turns")
    fake.send_contact(PATIENT, PHONE, owner=PATIENT)
    await bot.settle()
    fake.fail(Failure("sendMessage", 500, "Internal Server Error", REVIEW_CHAT))
    while await bot.step(PATIENT):
        pass
    await bot.say(PATIENT, f"{CANARY} I threw up blood this morning {CANARY}")  # after the end
    assert "emergency" in bot.texts(PATIENT)[-2].lower()
    await wait_until(lambda: fake.messages_to(REVIEW_CHAT))
    fake.fail(Failure("sendMessage", 500, "Internal Server Error", CLINICIAN))
    await bot.say(CLINICIAN, "/show 1")
    await bot.say(PATIENT, "/mydata")


async def seal_error(bot: RunningBot, db: Path) -> None:
    """A second patient whose session was sealed with another key types the canary."""
    await bot.say(SECOND, "/start")
    await bot.tap(SECOND, "I agree")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE intake_sessions SET state = ?", (Sealer(new_key()).seal("{}"),))
    await bot.say(SECOND, f"{CANARY} typed by the second patient")


async def bad_webhook_bodies(bot: RunningBot) -> list[int]:
    """Posts that are not updates, carrying the canary; their status codes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = WebhookConfig(f"http://127.0.0.1:{port}/hook", "s3cret", "127.0.0.1", port)
    server = webhook_server(bot.app, config)
    person = {"id": THIRD, "is_bot": False, "first_name": f"{CANARY}first"}
    chat = {"id": THIRD, "type": "private", "first_name": f"{CANARY}first"}
    update = {
        "update_id": 880_001,
        "message": {"message_id": 1, "date": 0, "chat": chat, "from": person, "text": CANARY},
    }
    bodies = [
        f"not json {CANARY}",
        json.dumps({"update_id": "x", "message": {"text": CANARY}}),
        json.dumps([CANARY]),
        json.dumps(update),
    ]
    try:
        async with httpx.AsyncClient() as client:
            codes = [
                (
                    await client.post(config.url, content=body, headers={SECRET_HEADER: "s3cret"})
                ).status_code
                for body in bodies
            ]
            wrong = await client.post(config.url, content=bodies[0], headers={SECRET_HEADER: "x"})
            codes.append(wrong.status_code)
    finally:
        server.stop()
    return codes


@pytest.mark.parametrize("keyed", [True, False], ids=["key", "no-key"])
async def test_no_log_line_carries_the_patients_words(
    fake_api: FakeBotApi, db_path: Path, captured: Captured, keyed: bool
) -> None:
    """Whatever fails, with every logger at DEBUG, the canary never reaches a log line."""
    fake_api.profiles[PATIENT] = PROFILE
    fake_api.profiles[SECOND] = PROFILE
    key = {} if keyed else {"encryption_key": None}
    services = review_services(fake_api, db_path, **key)
    bot = await start_review_bot(fake_api, services, rates=None)  # failures reach the bot
    everything_at_debug()
    try:
        await fill_and_fail(bot, db_path)
        await seal_error(bot, db_path)
        codes = await bad_webhook_bodies(bot)
        await wait_until(lambda: bool(fake_api.messages_to(THIRD)))  # applied from the inbox
        await bot.say(PATIENT, "/delete")
        await bot.tap(PATIENT, "Yes, delete it")
    finally:
        await stop_review_bot(bot)
        services.close()
    assert codes == [400, 200, 200, 200, 403]  # not JSON; ignored, ignored; an update; no secret
    logged = "\n".join(captured.lines)
    # refused reply, contact, summary (the error handler); a refused write and a SealError (the
    # fail-safe turn, answered with the emergency number)
    assert logged.count("update failed") >= 3
    assert logged.count("turn.failed") >= 2
    assert "IntegrityError" in logged
    assert "SealError" in logged
    assert "webhook body rejected" in logged
    assert "review outbox: NetworkError" in logged
    assert len(captured.lines) > 100  # DEBUG really was on
    leaks = [line for line in captured.lines if any(s in line for s in SECRETS)]
    assert leaks == []
