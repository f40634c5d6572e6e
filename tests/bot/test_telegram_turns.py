"""Going back, changing answers, stale buttons, repeated updates and restarts, on Telegram."""

from __future__ import annotations

from pathlib import Path

from bot.composition import build_services
from flows.engine.conversation.buttons import Button, ButtonAction, encode
from tests.bot.conftest import RunningBot, make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi

PATIENT = 2002
STALE = "That button belongs to an earlier question"


def answers_to_callbacks(bot: RunningBot) -> list[str]:
    """The texts of every answerCallbackQuery the bot made (empty for silent ones)."""
    return [c.params.get("text", "") for c in bot.fake.calls_of("answerCallbackQuery")]


async def test_back_asks_the_previous_question_again(telegram_bot: RunningBot) -> None:
    """Back re-asks the previous question and the abandoned question loses its buttons."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    age_text = bot.last(PATIENT).text
    await bot.say(PATIENT, "41")
    sex_question = bot.last(PATIENT)
    await bot.tap(PATIENT, "Back")

    assert bot.fake.sent[sex_question.message_id].buttons == []
    asked_again = bot.last(PATIENT)
    assert asked_again.message_id > sex_question.message_id
    assert asked_again.text == age_text
    await bot.say(PATIENT, "42")
    assert "Male" in [label for label, _ in bot.last(PATIENT).buttons]


async def test_back_command_works_like_the_button(telegram_bot: RunningBot) -> None:
    """/back re-asks the previous question."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    age_text = bot.last(PATIENT).text
    await bot.say(PATIENT, "41")
    await bot.say(PATIENT, "/back")

    assert bot.last(PATIENT).text == age_text


async def test_changing_an_answer_on_the_review_screen(telegram_bot: RunningBot) -> None:
    """From the review screen a patient picks an answer, changes it, and sees the new value."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.advance_to(PATIENT, "review")
    assert "34" in bot.last(PATIENT).text
    await bot.tap(PATIENT, "Change an answer")
    labels = [label for label, _ in bot.last(PATIENT).buttons]
    age_label = next(label for label in labels if "age" in label.lower())
    await bot.tap(PATIENT, age_label)
    await bot.say(PATIENT, "36")

    review = bot.last(PATIENT)
    assert "36" in review.text
    assert "Send my answers" in [label for label, _ in review.buttons]


async def test_stale_button_gets_a_notice_and_changes_nothing(telegram_bot: RunningBot) -> None:
    """A press on an answered question's button is answered with a notice; nothing is sent."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    consent = bot.last(PATIENT)
    agree = consent.buttons[0][1]
    await bot.tap(PATIENT, "I agree")
    before = bot.texts(PATIENT)
    bot.fake.press(PATIENT, consent.message_id, agree)
    await bot.settle()

    assert bot.texts(PATIENT) == before
    assert answers_to_callbacks(bot)[-1].startswith(STALE)


async def test_foreign_and_garbage_buttons_change_nothing(telegram_bot: RunningBot) -> None:
    """Buttons of another session, or unreadable callback data, only get the notice."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    question = bot.last(PATIENT)
    before = bot.texts(PATIENT)
    foreign = encode(Button(ButtonAction.CHOOSE, 999_999, 2, 0))
    bot.fake.press(PATIENT, question.message_id, foreign)
    bot.fake.press(PATIENT, question.message_id, "not a payload")
    await bot.settle()

    assert bot.texts(PATIENT) == before
    assert all(text.startswith(STALE) for text in answers_to_callbacks(bot)[-2:])


async def test_a_repeated_update_changes_nothing(telegram_bot: RunningBot) -> None:
    """Telegram delivering the same update twice produces no second reply."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "45")
    sends = len(bot.fake.calls_of("sendMessage", PATIENT))
    bot.fake.inject_again(bot.fake.last_update_id)
    await bot.settle()

    assert len(bot.fake.calls_of("sendMessage", PATIENT)) == sends


async def test_a_new_application_on_the_same_database_continues(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """A restart mid-intake loses nothing: the new bot takes the old buttons and finishes."""
    first_services = build_services(make_settings(fake_api, db_path))
    first = await start_bot(fake_api, first_services)
    await first.say(PATIENT, "/start")
    await first.advance_to(PATIENT, "digestive")
    patient = first.patient(PATIENT)
    await stop_bot(first)
    first_services.close()

    services = build_services(make_settings(fake_api, db_path))
    second = await start_bot(fake_api, services)
    second.patients[PATIENT] = patient
    try:
        while await second.step(PATIENT):
            pass
        assert any("clinic.test/book?ref=" in t for t in second.texts(PATIENT))
        assert "review" in patient.steps_seen
    finally:
        await stop_bot(second)
        services.close()
