"""Clinician commands, review-chat notices and their buttons on Telegram, and the allow-list
around them: health data only ever reaches a clinician's private chat, protected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.composition import Services
from storage import queue
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import BOT_USERNAME, Failure, FakeBotApi, Sent, group_chat
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
    stranger = f"user:{bot.services.database.sealer.lookup_hash(STRANGER)}"
    assert [(e.actor, e.detail) for e in denied] == [
        (stranger, "/" + template.split()[0].strip("/"))
    ]
    assert item is not None
    assert item.status == "pending"


async def test_stranger_pressing_card_buttons_gets_nothing(bot: RunningBot) -> None:
    """A non-clinician pressing a notice's buttons (or forging them) changes and sees nothing;
    a burst of presses writes one audit row, not one each."""
    item_id = seed(bot.services, user=42)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    for data in (f"r:claim:{item_id}", f"r:full:{item_id}", f"r:done:{item_id}"):
        bot.fake.press(STRANGER, card.message_id, data)
        await bot.settle()
    assert len(bot.fake.messages_to(REVIEW_CHAT)) == 1
    assert bot.fake.messages_to(STRANGER) == []
    answers = bot.fake.calls_of("answerCallbackQuery")
    assert [c.params.get("text") for c in answers] == [not_available(bot)] * 3
    with bot.services.database.transaction() as tx:
        denied = [e.detail for e in queue.audit_events(tx, action="access.denied")]
        item = queue.get_review_item(tx, item_id=item_id)
    assert denied == ["button:claim"]
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
    """A clinician shows, claims and closes an item by command; each step is audited. The
    summary comes protected (no forwarding or saving) and without link previews."""
    item_id = seed(bot.services, user=3)
    replies = await command(bot, CLINICIAN, f"/show {item_id}")
    assert replies[0].text.startswith("ROUTINE")
    assert any("Patient: Secret Patientname" in r.text for r in replies)
    assert all(r.protected and not r.previews for r in replies)
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


async def test_notice_buttons_claim_then_review_and_the_notice_follows(bot: RunningBot) -> None:
    """Pressing Claim then Reviewed edits the notice to show who claimed it and when reviewed;
    Open stays (a link that opens the item in the presser's private chat)."""
    item_id = seed(bot.services, user=4)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    opener = ("Open", f"https://t.me/{BOT_USERNAME}?start=review_{item_id}")
    assert card.buttons == [opener, ("Claim", f"r:claim:{item_id}")]
    bot.fake.press(CLINICIAN, card.message_id, f"r:claim:{item_id}")
    await bot.settle()
    await wait_until(lambda: "Claimed by" in bot.fake.sent[card.message_id].text)
    claimed = bot.fake.sent[card.message_id]
    assert f"Claimed by User{CLINICIAN} at " in claimed.text
    assert claimed.buttons == [opener, ("Reviewed", f"r:done:{item_id}")]
    bot.fake.press(CLINICIAN, card.message_id, f"r:done:{item_id}")
    await bot.settle()
    await wait_until(lambda: "Reviewed by" in bot.fake.sent[card.message_id].text)
    assert bot.fake.sent[card.message_id].buttons == [opener]
    assert len(bot.fake.messages_to(REVIEW_CHAT)) == 1
    assert "Secret Patientname" not in bot.fake.sent[card.message_id].text


async def test_full_answers_go_to_the_pressers_private_chat(bot: RunningBot) -> None:
    """Full answers (a button forged on the notice, or on a private summary) go to the
    pressing clinician's private chat, protected, split under Telegram's limit; audited."""
    item_id = seed(bot.services, user=5)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    (card,) = bot.fake.messages_to(REVIEW_CHAT)
    bot.fake.press(OTHER_CLINICIAN, card.message_id, f"r:full:{item_id}")
    await bot.settle()
    assert len(bot.fake.messages_to(REVIEW_CHAT)) == 1
    pages = bot.fake.messages_to(OTHER_CLINICIAN)
    assert pages
    assert pages[0].text.startswith(f"Full answers · review #{item_id}")
    assert all(len(p.text) <= 4096 and p.protected and not p.previews for p in pages)
    with bot.services.database.transaction() as tx:
        viewers = [e.actor for e in queue.audit_events(tx, action="review.viewed")]
    assert viewers == [f"clinician:{OTHER_CLINICIAN}"]


async def test_show_in_the_review_chat_answers_privately(bot: RunningBot) -> None:
    """/show in the group puts the summary in the clinician's private chat and only a
    content-free line in the group; a clinician who never opened a chat with the bot is
    given the Open link instead."""
    item_id = seed(bot.services, user=6)
    await wait_until(lambda: bot.fake.messages_to(REVIEW_CHAT))
    replies = await command(bot, CLINICIAN, f"/show {item_id}", REVIEW)
    assert [r.text for r in replies] == [f"Review #{item_id}: sent to your private chat with me."]
    private = bot.fake.messages_to(CLINICIAN)
    assert private[0].text.startswith("ROUTINE")
    assert private[0].protected
    bot.fake.fail(Failure("sendMessage", 403, "Forbidden: bot can't initiate", OTHER_CLINICIAN))
    (reply,) = await command(bot, OTHER_CLINICIAN, f"/show {item_id}", REVIEW)
    assert reply.text.startswith(f"I can't message you privately yet. Open review #{item_id}")
    assert f"start=review_{item_id}" in reply.text
    group = " ".join(c.params["text"] for c in bot.fake.calls_of("sendMessage", REVIEW_CHAT))
    assert "Secret Patientname" not in group


async def test_the_open_link_shows_the_summary_to_clinicians_only(bot: RunningBot) -> None:
    """`/start review_N` (the Open link) gives a clinician the summary; anyone else gets
    `not_available`, and no intake starts for them."""
    item_id = seed(bot.services, user=7)
    (summary,) = (await command(bot, CLINICIAN, f"/start review_{item_id}"))[:1]
    assert summary.text.startswith("ROUTINE")
    assert summary.protected
    replies = await command(bot, STRANGER, f"/start review_{item_id}")
    assert [r.text for r in replies] == [not_available(bot)]


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


async def test_done_on_another_clinicians_claim_needs_force(bot: RunningBot) -> None:
    """/done on an item someone else claimed is refused; with --force it is done and audited."""
    item_id = seed(bot.services, user=9)
    await command(bot, CLINICIAN, f"/claim {item_id}")
    (refused,) = await command(bot, OTHER_CLINICIAN, f"/done {item_id} seen")
    assert refused.text.startswith(f"cannot review review item #{item_id}: it is claimed by")
    assert "--force" in refused.text
    (done,) = await command(bot, OTHER_CLINICIAN, f"/done {item_id} --force seen it")
    assert done.text == f"Review #{item_id} marked reviewed by User{OTHER_CLINICIAN}."
    with bot.services.database.transaction() as tx:
        (event,) = queue.audit_events(tx, review_item_id=item_id, action="review.reviewed")
        item = queue.get_review_item(tx, item_id=item_id)
    assert (event.actor, event.detail) == (
        f"clinician:{OTHER_CLINICIAN}",
        f"forced over clinician:{CLINICIAN}",
    )
    assert item is not None
    assert bot.services.database.sealer.unseal_optional(item.note) == "seen it"


async def test_full_cards_mode_puts_protected_summaries_in_the_group(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """INTAKE_REVIEW_CHAT_MODE=full_cards: the group gets the summary itself, protected and
    without link previews; Full answers still goes to the presser's private chat."""
    services = review_services(fake_api, db_path, review_chat_mode="full_cards")
    running = await start_review_bot(fake_api, services)
    try:
        item_id = seed(services, user=11)
        await wait_until(lambda: fake_api.messages_to(REVIEW_CHAT))
        (card,) = fake_api.messages_to(REVIEW_CHAT)
        fake_api.press(CLINICIAN, card.message_id, f"r:full:{item_id}")
        await running.settle()
    finally:
        await stop_review_bot(running)
        services.close()
    assert "Patient: Secret Patientname" in card.text
    assert (card.protected, card.previews) == (True, False)
    assert card.buttons == [("Claim", f"r:claim:{item_id}"), ("Full answers", f"r:full:{item_id}")]
    assert len(fake_api.messages_to(REVIEW_CHAT)) == 1
    assert fake_api.messages_to(CLINICIAN)[0].text.startswith(f"Full answers · review #{item_id}")
