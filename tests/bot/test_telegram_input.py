"""Input that is not a plain answer: media, edits, groups, commands, /mydata and /delete."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.tables import IntakeSession, Patient
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import BOT_USERNAME, MEDIA, group_chat

PATIENT = 3003
UNSUPPORTED = "Sorry, I can only read text messages and button taps."
PRIVATE_ONLY = "Please message me in a one-to-one chat, not in a group."


def stored_answers(bot: RunningBot) -> int:
    """How many answers the database holds (across every intake)."""
    database = bot.services.database
    with database.transaction() as tx:
        states = [s.state for s in tx.exec(select(IntakeSession))]
    return sum(len(database.sealer.unseal_json(state)["answers"]) for state in states)


async def start_intake(bot: RunningBot) -> None:
    """Consent and answer the age, so answers are being stored."""
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "44")


@pytest.mark.parametrize("kind", sorted(set(MEDIA) - {"contact"}))
async def test_non_text_input_is_refused_and_not_stored(
    telegram_bot: RunningBot, kind: str
) -> None:
    """Photos, voice, stickers, documents, locations, video and audio get the notice.

    (Contacts are call-back numbers: see `test_telegram_contact`.)
    """
    bot = telegram_bot
    await start_intake(bot)
    question = bot.last(PATIENT)
    answers = stored_answers(bot)
    bot.fake.send_media(PATIENT, kind)
    await bot.settle()

    assert bot.texts(PATIENT)[-1].startswith(UNSUPPORTED)
    assert stored_answers(bot) == answers
    assert bot.fake.sent[question.message_id].buttons == question.buttons


async def test_edit_newer_than_the_question_answers_it(telegram_bot: RunningBot) -> None:
    """Editing a reply sent after the current question counts as the answer to it."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    typo = await bot.say(PATIENT, "fourty")  # not a number: the age is asked again
    asked = bot.last(PATIENT)
    bot.fake.edit_text(PATIENT, typo, "40")
    await bot.settle()

    assert bot.last(PATIENT).message_id > asked.message_id
    assert "Male" in [label for label, _ in bot.last(PATIENT).buttons]


async def test_edit_of_an_older_message_is_ignored_quietly(telegram_bot: RunningBot) -> None:
    """Editing an answer to an earlier question neither answers nor replies."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    age = await bot.say(PATIENT, "40")
    before, answers = bot.texts(PATIENT), stored_answers(bot)
    bot.fake.edit_text(PATIENT, age, "41")
    await bot.settle()

    assert bot.texts(PATIENT) == before
    assert stored_answers(bot) == answers


async def test_group_chats_get_asked_to_write_privately(telegram_bot: RunningBot) -> None:
    """A command or mention in a group gets `private_only`; idle group talk gets nothing."""
    bot = telegram_bot
    group = group_chat(-500)
    bot.fake.send_text(PATIENT, "/start", chat=group)
    bot.fake.send_text(PATIENT, f"hello @{BOT_USERNAME}", chat=group)
    bot.fake.send_text(PATIENT, "just chatting", chat=group)
    await bot.settle()

    assert bot.texts(-500) == [PRIVATE_ONLY, PRIVATE_ONLY]
    with bot.services.database.transaction() as tx:
        assert tx.exec(select(Patient)).all() == []


async def test_unknown_command_gets_the_help(telegram_bot: RunningBot) -> None:
    """An unknown command is answered with the flow's help text."""
    await telegram_bot.say(PATIENT, "/frobnicate")

    assert "automated intake assistant" in telegram_bot.texts(PATIENT)[-1]


async def test_status_and_help_commands(telegram_bot: RunningBot) -> None:
    """/status tells the progress; /help explains the chat."""
    bot = telegram_bot
    await start_intake(bot)
    await bot.say(PATIENT, "/status")
    assert "You're on question 3" in bot.texts(PATIENT)[-2]
    await bot.say(PATIENT, "/help")
    assert "/delete" in bot.texts(PATIENT)[-2]


async def test_mydata_sends_the_patient_their_answers(telegram_bot: RunningBot) -> None:
    """/mydata lists what is stored, including the typed age."""
    bot = telegram_bot
    await bot.say(PATIENT, "/mydata")
    assert bot.texts(PATIENT)[-1] == "We haven't stored any data about you."
    await start_intake(bot)
    await bot.say(PATIENT, "/mydata")

    copy = bot.texts(PATIENT)[-1]
    assert copy.startswith("Here is the data we've stored about you:")
    assert "44" in copy


async def test_delete_asks_first_then_erases(telegram_bot: RunningBot) -> None:
    """/delete asks; "keep" keeps everything; "delete" erases the answers."""
    bot = telegram_bot
    await start_intake(bot)
    await bot.say(PATIENT, "/delete")
    await bot.tap(PATIENT, "No, keep it")
    assert bot.texts(PATIENT)[-1] == "OK, nothing has been deleted."
    assert stored_answers(bot) > 0

    await bot.say(PATIENT, "/delete")
    confirm = bot.last(PATIENT)
    await bot.tap(PATIENT, "Yes, delete it")

    assert bot.fake.sent[confirm.message_id].text == bot.services.intake.message("deleted")
    assert bot.fake.sent[confirm.message_id].buttons == []
    assert stored_answers(bot) == 0
    await bot.say(PATIENT, "/mydata")
    assert bot.texts(PATIENT)[-1] == "We haven't stored any data about you."
