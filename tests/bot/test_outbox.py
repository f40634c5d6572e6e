"""The review outbox worker against the fake Bot API: failures, 429s, restarts, emergencies."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.composition import Services
from storage import messages, queue
from storage.tables import OutboxMessage
from tests.bot.fake_bot_api import BOT_USERNAME, Failure, FakeBotApi
from tests.bot.review_bot import (
    REVIEW_CHAT,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)
from tests.flows.review_seed import complete_answers, seed_intake


def outbox_rows(services: Services) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with services.database.transaction() as tx:
        return list(tx.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def seed(services: Services, user: int, priority: str = "routine") -> int:
    """A finished intake of the active flow, queued for review: the item id."""
    flow = services.registry.active
    return seed_intake(
        services.database, user=user, priority=priority, flow=flow, answers=complete_answers(flow)
    )


async def test_delivery_survives_500_then_429_with_a_restart_between(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """A notice refused with 500, the bot restarted, then refused with 429, arrives after all."""
    first = review_services(fake_api, db_path, base=1.0)
    item_id = seed(first, user=1)
    fake_api.fail(Failure("sendMessage", 500, "Internal Server Error", chat_id=REVIEW_CHAT))
    bot = await start_review_bot(fake_api, first, rates=None)
    await wait_until(lambda: outbox_rows(first)[0].attempts == 1)
    await stop_review_bot(bot)
    first.close()
    (row,) = outbox_rows(first)
    assert (row.sent_at, row.last_error) == (None, "NetworkError")
    assert fake_api.messages_to(REVIEW_CHAT) == []

    fake_api.fail(
        Failure("sendMessage", 429, "Too Many Requests", chat_id=REVIEW_CHAT, retry_after=1)
    )
    second = review_services(fake_api, db_path, base=0.2)
    bot = await start_review_bot(fake_api, second, rates=None)
    try:
        await wait_until(lambda: fake_api.messages_to(REVIEW_CHAT))
    finally:
        await stop_review_bot(bot)
        second.close()
    calls = fake_api.calls_of("sendMessage", REVIEW_CHAT)
    assert len(calls) == 3
    assert calls[2].at - calls[1].at >= 1.0  # retry_after honoured
    (card,) = fake_api.messages_to(REVIEW_CHAT)
    assert card.text.startswith("ROUTINE")
    assert (card.protected, card.previews) == (True, False)
    open_link = f"https://t.me/{BOT_USERNAME}?start=review_{item_id}"
    assert card.buttons == [("Open", open_link), ("Claim", f"r:claim:{item_id}")]
    (row,) = outbox_rows(second)
    assert row.sent_at is not None
    assert row.attempts == 3
    with second.database.transaction() as tx:
        (shown,) = messages.item_messages(tx, item_id=item_id)
        assert (shown.chat_id, shown.message_id) == (REVIEW_CHAT, card.message_id)
        delivered = queue.audit_events(tx, action="review.review_item.delivered")
    assert [e.review_item_id for e in delivered] == [item_id]


async def test_pacer_and_worker_together_honour_429(fake_api: FakeBotApi, db_path: Path) -> None:
    """With the pacer in place, repeated 429s are waited out and the card still arrives once."""
    services = review_services(fake_api, db_path)
    seed(services, user=1)
    fake_api.fail(
        Failure("sendMessage", 429, "Too Many Requests", chat_id=REVIEW_CHAT, retry_after=1)
    )
    bot = await start_review_bot(fake_api, services)
    try:
        await wait_until(lambda: fake_api.messages_to(REVIEW_CHAT))
    finally:
        await stop_review_bot(bot)
        services.close()
    assert len(fake_api.messages_to(REVIEW_CHAT)) == 1
    calls = fake_api.calls_of("sendMessage", REVIEW_CHAT)
    assert calls[-1].at - calls[0].at >= 1.0


async def test_emergency_goes_out_at_once_while_routine_waits_for_the_poll(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """An escalated intake wakes the worker: its notice arrives without waiting for the poll,
    and says nothing of what the patient wrote."""
    services = review_services(fake_api, db_path)
    bot = await start_review_bot(fake_api, services, poll=30.0)
    try:
        await bot.say(55, "/start")
        await bot.tap(55, "I agree")
        await bot.say(55, "45")
        await bot.say(55, "I vomit blood since this morning")
        took = await wait_until(lambda: fake_api.messages_to(REVIEW_CHAT), timeout=5)
    finally:
        await stop_review_bot(bot)
        services.close()
    assert took < 2  # the poll is 30 s: only the wake-up explains this
    (card,) = fake_api.messages_to(REVIEW_CHAT)
    assert card.text.startswith("EMERGENCY · review #")
    for private in ("vomit", "Red flags", "Telegram id", "55", "User55"):
        assert private not in card.text


async def test_no_review_chat_means_queue_only(fake_api: FakeBotApi, db_path: Path) -> None:
    """Without INTAKE_REVIEW_CHAT_ID no notice is sent anywhere; the item waits in the queue."""
    services = review_services(fake_api, db_path, review_chat_id=None)
    item_id = seed(services, user=1)
    bot = await start_review_bot(fake_api, services)
    try:
        await wait_until(lambda: outbox_rows(services)[0].sent_at is not None)
        await bot.say(2, "/start")
    finally:
        await stop_review_bot(bot)
        services.close()
    assert [c.chat_id for c in fake_api.calls_of("sendMessage")] == [2]
    with services.database.transaction() as tx:
        item = queue.get_review_item(tx, item_id=item_id)
        assert item is not None
        assert item.status == "pending"
        assert messages.item_messages(tx, item_id=item_id) == []
