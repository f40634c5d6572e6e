"""Clinician commands and review-card buttons on Telegram, and the allow-list around them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.composition import Services
from storage import queue
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import FakeBotApi, Sent, group_chat
from tests.bot.review_bot import (
    CLINICIAN,
    OTHER_CLINICIAN,
    REVIEW_CHAT,
    STRANGER,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)
from tests.flows.review_seed import complete_answers, seed_intake

REVIEW = group_chat(REVIEW_CHAT, "Clinic review")
COMMANDS = ["/queue", "/show {id}", "/claim {id}", "/done {id} looks fine", "/stats"]


@pytest.fixture
async def bot(fake_api: FakeBotApi, db_path: Path) -> AsyncIterator[RunningBot]:
    """The bot with the clinician side and its delivery worker."""
    services = review_services(fake_api, db_path)
    running = await start_review_bot(fake_api, services)
    yield running
    await stop_review_bot(running)
    services.close()


def seed(services: Services, user: int, priority: str = "routine") -> int:
    """A finished intake of the active flow in the queue: the item id."""
    flow = services.registry.active
    answers = complete_answers(flow)
    return seed_intake(
        services.database,
        user=user,
        priority=priority,
        flow=flow,
        answers=answers,
        name="Secret Patientname",
    )


async def command(
    bot: RunningBot, user: int, text: str, chat: dict[str, Any] | None = None
) -> list[Sent]:
    """`user` sends a command (in a private chat, or `chat`); the bot's new messages there."""
    where = REVIEW_CHAT if chat is not None else user
    before = len(bot.fake.messages_to(where))
    bot.fake.send_text(user, text, chat=chat)
    await bot.settle()
    return bot.fake.messages_to(where)[before:]


def not_available(bot: RunningBot) -> str:
    """The flow's `not_available` message."""
    return bot.services.intake.message("not_available")


@pytest.mark.parametrize("template", COMMANDS)
@pytest.mark.parametrize("in_review_chat", [False, True])
async def test_strangers_get_not_available_and_no_data(
    bot: RunningBot, template: str, in_review_chat: bool
) -> None:
    """Every clinician command from a non-clinician gets only `not_available`, and is audited."""
    item_id = seed(bot.services, user=42)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    chat = REVIEW if in_review_chat else None
    replies = await command(bot, STRANGER, template.format(id=item_id), chat)
    assert [r.text for r in replies] == [not_available(bot)]
    for reply in replies:
        assert "Secret Patientname" not in reply.text
        assert str(item_id) not in reply.text
    with bot.services.database.transaction() as tx:
        denied = queue.audit_events(tx, action="access.denied")
        item = queue.get_review_item(tx, item_id=item_id)
    assert [(e.actor, e.detail) for e in denied] == [
        (f"telegram:{STRANGER}", "/" + template.split()[0].strip("/"))
    ]
    assert item is not None
    assert item.status == "pending"


async def test_stranger_pressing_card_buttons_gets_nothing(bot: RunningBot) -> None:
    """A non-clinician pressing a card's buttons in the review chat changes and sees nothing."""
    item_id = seed(bot.services, user=42)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    for data in (f"r:claim:{item_id}", f"r:full:{item_id}", f"r:done:{item_id}"):
        bot.fake.press(STRANGER, card.message_id, data)
        await bot.settle()
    assert len(bot.fake.messages_to(REVIEW_CHAT)) == 1
    answers = bot.fake.calls_of("answerCallbackQuery")
    assert [c.params.get("text") for c in answers] == [not_available(bot)] * 3
    with bot.services.database.transaction() as tx:
        denied = [e.detail for e in queue.audit_events(tx, action="access.denied")]
        item = queue.get_review_item(tx, item_id=item_id)
    assert denied == ["button:claim", "button:full", "button:done"]
    assert item is not None
    assert item.status == "pending"


async def test_queue_lists_pending_items_most_urgent_first(bot: RunningBot) -> None:
    """/queue shows pending items with the most urgent first."""
    routine = seed(bot.services, user=1)
    urgent = seed(bot.services, user=2, priority="same_day")
    (reply,) = await command(bot, CLINICIAN, "/queue")
    lines = reply.text.splitlines()
    assert lines[0] == "Pending: 2"
    assert lines[1].startswith(f"#{urgent} SAME DAY")
    assert lines[2].startswith(f"#{routine} ROUTINE")


async def test_show_claim_done_and_stats_in_a_private_chat(bot: RunningBot) -> None:
    """A clinician shows, claims and closes an item by command; each step is audited."""
    item_id = seed(bot.services, user=3)
    replies = await command(bot, CLINICIAN, f"/show {item_id}")
    assert replies[0].text.startswith("ROUTINE")
    assert any("Patient: Secret Patientname" in r.text for r in replies)
    assert replies[-1].buttons[0] == ("Claim", f"r:claim:{item_id}")
    (reply,) = await command(bot, CLINICIAN, f"/claim {item_id}")
    assert reply.text == f"Review #{item_id} claimed by User{CLINICIAN}."
    (reply,) = await command(bot, OTHER_CLINICIAN, f"/claim {item_id}")
    assert reply.text == (f"cannot claim review item #{item_id}: it is claimed by User{CLINICIAN}")
    (reply,) = await command(bot, CLINICIAN, f"/done {item_id} booked a call")
    assert reply.text == f"Review #{item_id} marked reviewed by User{CLINICIAN}."
    (reply,) = await command(bot, CLINICIAN, "/stats")
    assert "reviewed: 1" in reply.text
    with bot.services.database.transaction() as tx:
        trail = [(e.actor, e.action) for e in queue.audit_events(tx, review_item_id=item_id)]
    assert (f"clinician:{CLINICIAN}", "review.viewed") in trail
    assert (f"clinician:{OTHER_CLINICIAN}", "review.claim_refused") in trail
    assert (f"clinician:{CLINICIAN}", "review.reviewed") in trail


async def test_usage_and_unknown_ids(bot: RunningBot) -> None:
    """A command without an id gets its usage; an unknown id is named in the reply."""
    (reply,) = await command(bot, CLINICIAN, "/show")
    assert reply.text == "Usage: /show ID"
    (reply,) = await command(bot, CLINICIAN, "/claim 999")
    assert reply.text == "there is no review item #999"


async def test_card_buttons_claim_then_review_and_the_card_follows(bot: RunningBot) -> None:
    """Pressing Claim then Reviewed edits the card to show who claimed it and when reviewed."""
    item_id = seed(bot.services, user=4)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    bot.fake.press(CLINICIAN, card.message_id, f"r:claim:{item_id}")
    await bot.settle()
    await wait_until(lambda: "Claimed by" in bot.fake.sent[card.message_id].text)
    claimed = bot.fake.sent[card.message_id]
    assert f"Claimed by User{CLINICIAN} at " in claimed.text
    assert claimed.buttons == [
        ("Reviewed", f"r:done:{item_id}"),
        ("Full answers", f"r:full:{item_id}"),
    ]
    bot.fake.press(CLINICIAN, card.message_id, f"r:done:{item_id}")
    await bot.settle()
    await wait_until(lambda: "Reviewed by" in bot.fake.sent[card.message_id].text)
    assert bot.fake.sent[card.message_id].buttons == [("Full answers", f"r:full:{item_id}")]
    assert len(bot.fake.messages_to(REVIEW_CHAT)) == 1


async def test_full_answers_button_sends_every_answer_to_the_review_chat(bot: RunningBot) -> None:
    """Full answers posts the complete answers, split under Telegram's limit, and is audited."""
    item_id = seed(bot.services, user=5)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    bot.fake.press(OTHER_CLINICIAN, card.message_id, f"r:full:{item_id}")
    await bot.settle()
    pages = bot.fake.messages_to(REVIEW_CHAT)[1:]
    assert pages
    assert pages[0].text.startswith(f"Full answers · review #{item_id}")
    assert all(len(p.text) <= 4096 for p in pages)
    with bot.services.database.transaction() as tx:
        viewers = [e.actor for e in queue.audit_events(tx, action="review.viewed")]
    assert viewers == [f"clinician:{OTHER_CLINICIAN}"]


async def test_patient_commands_still_work_beside_clinician_ones(bot: RunningBot) -> None:
    """A patient's /start is untouched by the clinician handlers."""
    await bot.say(60, "/start")
    assert bot.fake.messages_to(60)
    assert bot.fake.messages_to(60)[-1].buttons


async def test_clinicians_and_the_review_chat_get_the_clinician_menu(bot: RunningBot) -> None:
    """At start-up the clinician commands are added to clinicians' menus and the review chat's."""
    menus = {
        call.params["scope"].get("chat_id"): [c["command"] for c in call.params["commands"]]
        for call in bot.fake.calls_of("setMyCommands")
        if call.params["scope"]["type"] == "chat"
    }
    clinician_commands = ["queue", "show", "claim", "done", "stats"]
    assert menus[REVIEW_CHAT] == clinician_commands
    for clinician in (CLINICIAN, OTHER_CLINICIAN):
        assert menus[clinician][-5:] == clinician_commands
        assert "start" in menus[clinician]
    assert STRANGER not in menus


async def test_claim_without_an_id_takes_the_most_urgent_item(bot: RunningBot) -> None:
    """/claim alone claims the most urgent pending item and shows its summary."""
    seed(bot.services, user=7)
    urgent = seed(bot.services, user=8, priority="soon")
    replies = await command(bot, CLINICIAN, "/claim")
    assert replies[0].text.startswith(f"SEE A DOCTOR SOON · review #{urgent}")
    assert f"Claimed by User{CLINICIAN}" in replies[-1].text
    assert replies[-1].buttons[0] == ("Reviewed", f"r:done:{urgent}")
