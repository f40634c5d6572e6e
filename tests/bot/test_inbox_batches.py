"""The inbox commits a poll's updates together, and Telegram hears of them only after that.

Polling acknowledges updates with the offset of the next `getUpdates`. The inbox stages the
updates of one poll and commits them in one transaction; `InboxGate` holds the next poll back
until then. Checked here at the moment the fake Bot API receives each poll: every update the
offset acknowledges is already a row in the database, stored as Telegram sent it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select
from telegram import Bot, Update

from bot.composition import Services
from bot.telegram.inbox import InboxGate, InboxQueue, InboxStore
from bot.telegram.transport import AiohttpRequest
from storage.tables import InboxUpdate
from tests.bot.conftest import start_bot, stop_bot
from tests.bot.fake_bot_api import TOKEN, FakeBotApi

PATIENTS = range(31_000, 31_012)


async def test_a_poll_acknowledges_only_committed_updates(
    fake_api: FakeBotApi, services: Services
) -> None:
    """Twelve patients write at once: no offset runs ahead of the inbox's rows."""
    acknowledged_early: list[int] = []
    polls: list[int] = []
    get_updates = fake_api.get_updates

    async def checked_get_updates(params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        stored = _stored_ids(services)
        acknowledged_early.extend(u for u in range(1, offset) if u not in stored)
        polls.append(offset)
        return await get_updates(params)

    fake_api.get_updates = checked_get_updates  # type: ignore[method-assign]
    bot = await start_bot(fake_api, services)
    try:
        for user in PATIENTS:
            fake_api.send_text(user, "/start")
        await bot.settle()
        for user in PATIENTS:
            fake_api.send_text(user, "hello")
        await bot.settle()
    finally:
        await stop_bot(bot)
    assert fake_api.last_update_id == 2 * len(PATIENTS)
    assert max(polls) > fake_api.last_update_id  # every update was acknowledged
    assert acknowledged_early == []


async def test_polled_updates_are_stored_as_telegram_sent_them(services: Services) -> None:
    """A polled update's sealed payload is the JSON Telegram sent; one transaction per poll."""
    queue = InboxQueue(InboxStore(services.database, "poll:1"))
    sent = [_text_update(update_id, 31_100 + update_id) for update_id in (7, 8, 9)]
    queue.remember_poll(json.dumps({"ok": True, "result": sent}).encode())
    for data in sent:
        await queue.put(Update.de_json(data, Bot(TOKEN)))
    assert queue.qsize() == 0  # staged: nothing is handled before it is committed
    await queue.committed()
    assert queue.qsize() == 3
    sealer = services.database.sealer
    with services.database.reading() as tx:
        rows = tx.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id))).all()
    assert [json.loads(sealer.unseal(row.payload or "")) for row in rows] == sent
    assert queue.polled == {}  # taken as they were queued


async def test_a_press_is_stored_whole_and_parsed_without_its_keyboard(
    services: Services,
) -> None:
    """The inbox keeps the keyboard Telegram sent back with a press; PTB is spared building it,
    from the body the inbox already parsed."""
    queue = InboxQueue(InboxStore(services.database, "poll:1"))
    gate = InboxGate(AiohttpRequest(), queue)
    press = _press_update(11, 31_200)
    body = json.dumps({"ok": True, "result": [press]}).encode()
    gate._parsed = (body, queue.remember_poll(body))  # what `do_request` does with a poll
    parsed = gate.parse_json_payload(body)
    assert "reply_markup" not in parsed["result"][0]["callback_query"]["message"]
    update = Update.de_json(parsed["result"][0], Bot(TOKEN))
    assert update.callback_query is not None
    assert update.callback_query.data == "b:1"
    await queue.put(update)
    await queue.committed()
    sealer = services.database.sealer
    with services.database.reading() as tx:
        row = tx.exec(select(InboxUpdate)).one()
    assert json.loads(sealer.unseal(row.payload or "")) == press  # keyboard and all
    other = json.dumps({"ok": False, "description": "Conflict"}).encode()
    assert gate.parse_json_payload(other) == {"ok": False, "description": "Conflict"}


def _press_update(update_id: int, user: int) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "P"}
    question = _text_update(update_id, user)["message"]
    keyboard = [[{"text": "Yes", "callback_data": "b:1"}], [{"text": "No", "callback_data": "b:2"}]]
    question["reply_markup"] = {"inline_keyboard": keyboard}
    query = {"id": "q1", "from": person, "chat_instance": "c", "data": "b:1", "message": question}
    return {"update_id": update_id, "callback_query": query}


def _text_update(update_id: int, user: int) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "P"}
    chat = {"id": user, "type": "private"}
    message = {"message_id": update_id, "date": 1, "chat": chat, "from": person, "text": "hi"}
    return {"update_id": update_id, "message": message}


def _stored_ids(services: Services) -> set[int]:
    with services.database.reading() as tx:
        return set(tx.exec(select(InboxUpdate.update_id)).all())
