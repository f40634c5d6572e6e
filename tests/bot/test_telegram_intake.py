"""Whole intakes on Telegram: the real Application, the real service, the fake Bot API."""

from __future__ import annotations

from sqlmodel import select

from flows.engine.conversation.buttons import decode
from storage.tables import ReviewItem
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import BOT_USERNAME, Sent

PATIENT = 1001


async def test_full_intake_by_buttons_reaches_the_booking_link(telegram_bot: RunningBot) -> None:
    """A patient finishes the bundled intake with buttons (typing only age and free text)."""
    moves = await telegram_bot.run_intake(PATIENT)

    texts = telegram_bot.texts(PATIENT)
    assert any("clinic.test/book?ref=" in t for t in texts)
    assert moves > 20
    typed = {"age", "concern", "concern_duration", "other_medicines", "hopes"}
    seen = set(telegram_bot.patient(PATIENT).steps_seen)
    assert typed <= seen
    assert {"digestive", "bloating_severity", "review"} <= seen
    with telegram_bot.services.database.transaction() as tx:
        items = tx.exec(select(ReviewItem)).all()
    assert len(items) == 1


async def test_answered_question_shows_the_answer_and_loses_its_buttons(
    telegram_bot: RunningBot,
) -> None:
    """After a tap, the question message reads the answer under it and has no buttons."""
    await telegram_bot.say(PATIENT, "/start")
    consent = telegram_bot.last(PATIENT)
    await telegram_bot.tap(PATIENT, "I agree")

    answered = telegram_bot.fake.sent[consent.message_id]
    assert answered.buttons == []
    assert answered.text.endswith("» I agree")
    assert telegram_bot.last(PATIENT).message_id != consent.message_id


async def test_every_button_payload_is_compact_and_bound_to_the_step(
    telegram_bot: RunningBot,
) -> None:
    """Callback data stays within 64 bytes and decodes to the session and step it was sent for."""
    await telegram_bot.run_intake(PATIENT)

    payloads = [
        data
        for call in telegram_bot.fake.calls_of("sendMessage", PATIENT)
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for data in (b["callback_data"] for b in row)
    ]
    assert payloads
    assert all(len(p.encode()) <= 64 for p in payloads)
    assert all(decode(p) is not None for p in payloads)


async def at_first_multi_select(bot: RunningBot) -> Sent:
    """Answer up to the first multi-select question; its message."""
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "40")
    await bot.tap(PATIENT, "Male")
    return bot.last(PATIENT)


async def test_multi_select_marks_toggle_in_place(telegram_bot: RunningBot) -> None:
    """Tapping a multi-select option edits the same message to show a check mark."""
    bot = telegram_bot
    question = await at_first_multi_select(bot)
    before = len(bot.fake.messages_to(PATIENT))
    first_label = question.buttons[0][0]
    await bot.tap(PATIENT, first_label)

    assert len(bot.fake.messages_to(PATIENT)) == before
    assert bot.fake.sent[question.message_id].buttons[0][0] == f"✅ {first_label}"


async def test_a_second_press_of_an_option_as_first_shown_keeps_it_ticked(
    telegram_bot: RunningBot,
) -> None:
    """A double tap, or a tap on an older copy of the question, sends the option as it was
    shown (unticked) twice: it stays ticked; the ticked button then unticks it."""
    bot = telegram_bot
    question = await at_first_multi_select(bot)
    label, as_shown = question.buttons[0]
    for _ in range(2):
        bot.fake.press(PATIENT, question.message_id, as_shown)
        await bot.settle()

    ticked = bot.fake.sent[question.message_id].buttons[0]
    assert ticked[0] == f"✅ {label}"
    bot.fake.press(PATIENT, question.message_id, ticked[1])  # the ticked button unticks
    await bot.settle()
    assert bot.fake.sent[question.message_id].buttons[0][0] == label


async def test_scale_questions_show_a_two_row_grid(telegram_bot: RunningBot) -> None:
    """A 0-10 question has its eleven numbers on two rows, then Back."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.advance_to(PATIENT, "bloating_severity")
    rows = bot.last(PATIENT).reply_markup["inline_keyboard"]  # type: ignore[index]

    assert [b["text"] for b in rows[0]] == ["0", "1", "2", "3", "4", "5"]
    assert [b["text"] for b in rows[1]] == ["6", "7", "8", "9", "10"]


async def test_command_menu_is_set_for_private_chats(telegram_bot: RunningBot) -> None:
    """The bot sets its command menu when it starts: the default one, and one in Spanish."""
    default, spanish = telegram_bot.fake.calls_of("setMyCommands")

    names = [c["command"] for c in default.params["commands"]]
    assert names == [
        *("start", "back", "status", "help", "restart", "cancel", "language", "mydata", "delete")
    ]
    assert default.params["scope"] == {"type": "all_private_chats"}
    assert "language_code" not in default.params
    assert spanish.params["language_code"] == "es"
    assert [c["command"] for c in spanish.params["commands"]] == names
    descriptions = {c["command"]: c["description"] for c in spanish.params["commands"]}
    assert descriptions["language"] == "Cambiar de idioma"
    assert BOT_USERNAME
