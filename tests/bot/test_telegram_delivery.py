"""Delivery: long messages split, 429s honoured, blocked users marked, pacing, ordering."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlmodel import col, select
from telegram import Update
from telegram.error import BadRequest, RetryAfter

from bot.telegram.delivery import MESSAGE_LIMIT, Delivery, split_text
from bot.telegram.pacer import Pacer, Rates
from bot.telegram.processor import ChatSerialProcessor
from bot.telegram.questions import QuestionMemory
from flows.engine.conversation.values import Choice, Prompt, PromptKind, Turn
from storage.tables import Patient
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import Failure

PATIENT = 4004


def test_split_text_breaks_at_paragraphs_under_the_limit() -> None:
    """A long text is cut at blank lines into parts that each fit, losing no words."""
    paragraph = "word " * 300
    text = "\n\n".join(paragraph.strip() for _ in range(10))
    parts = split_text(text)

    assert len(parts) > 1
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_split_text_counts_utf16_units_and_cuts_unbroken_text() -> None:
    """Emoji count double, as Telegram counts them; text without spaces is cut hard."""
    parts = split_text("🙂" * 3000)
    assert [len(p) for p in parts] == [2048, 952]
    assert split_text("x" * 5000) == ["x" * MESSAGE_LIMIT, "x" * 904]
    assert split_text("short") == ["short"]


async def test_long_prompt_is_sent_in_parts_with_the_buttons_last(
    telegram_bot: RunningBot,
) -> None:
    """A prompt over 4096 characters arrives as several messages; only the last has buttons."""
    bot = telegram_bot
    delivery = Delivery(bot.app.bot, bot.services.intake, QuestionMemory())
    long = "\n\n".join(f"Paragraph {n}. " + "text " * 150 for n in range(12))
    prompt = Prompt(
        text=long,
        kind=PromptKind.QUESTION,
        step="consent",
        step_index=0,
        answer_kind="choice",
        choices=(Choice("agree", "I agree"), Choice("decline", "No")),
    )
    await delivery.deliver(PATIENT, Turn(prompts=(prompt,)), language="en")

    sent = bot.fake.messages_to(PATIENT)
    assert len(sent) >= 2
    assert all(len(m.text) <= MESSAGE_LIMIT for m in sent)
    assert [bool(m.buttons) for m in sent] == [False] * (len(sent) - 1) + [True]


async def test_retry_after_is_honoured(telegram_bot: RunningBot) -> None:
    """A 429 with retry_after=1 delays the message by at least a second; it still arrives."""
    bot = telegram_bot
    bot.fake.fail(Failure("sendMessage", 429, "Too Many Requests: retry after 1", PATIENT, 1))
    await bot.say(PATIENT, "/start")

    calls = bot.fake.calls_of("sendMessage", PATIENT)
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 1.0
    assert "automated intake assistant" in bot.texts(PATIENT)[-1]


async def test_blocked_user_is_marked_unreachable(telegram_bot: RunningBot) -> None:
    """A 403 on sending marks the patient unreachable; the bot goes on for others."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    blocked = "Forbidden: bot was blocked by the user"
    bot.fake.fail(Failure("sendMessage", 403, blocked, PATIENT, times=100))
    await bot.say(PATIENT, "50")
    await bot.say(PATIENT + 1, "/start")

    with bot.services.database.transaction() as tx:
        hashes = bot.services.database.sealer.lookup_hashes(PATIENT)
        patient = tx.exec(select(Patient).where(col(Patient.telegram_id_hash).in_(hashes))).one()
        assert patient.unreachable
    assert bot.texts(PATIENT + 1)


async def _timed_calls(pacer: Pacer, chats: list[int]) -> list[float]:
    """Send one paced request per entry of `chats` at once; return when each went out."""
    stamps: list[float] = []

    async def call(*args: Any, **kwargs: Any) -> bool:
        stamps.append(time.monotonic())
        return True

    start = time.monotonic()
    await asyncio.gather(
        *(pacer.process_request(call, (), {}, "sendMessage", {"chat_id": c}, None) for c in chats)
    )
    return [s - start for s in stamps]


async def test_pacer_spaces_one_chat_after_a_short_burst() -> None:
    """Per chat: a burst goes at once, then one message per interval."""
    pacer = Pacer(Rates(chat_per_second=20, chat_burst=2, overall_per_second=1000))
    times = await _timed_calls(pacer, [7] * 5)

    assert times[1] < 0.02
    assert times[2] >= 0.045
    assert times[4] >= 0.14


async def test_pacer_does_not_hold_other_chats_back() -> None:
    """Different chats are not paced against each other, only against the overall cap."""
    pacer = Pacer(Rates(chat_per_second=1, chat_burst=1, overall_per_second=1000))
    times = await _timed_calls(pacer, list(range(1, 11)))
    assert max(times) < 0.05


async def test_pacer_caps_the_overall_rate() -> None:
    """Overall, requests stay under the configured rate."""
    pacer = Pacer(Rates(overall_per_second=50, overall_burst=1, chat_per_second=1000))
    times = await _timed_calls(pacer, list(range(1, 11)))
    assert max(times) >= 0.17


async def test_pacer_retries_after_retry_after() -> None:
    """A RetryAfter pauses requests and the request is tried again."""
    pacer = Pacer(Rates(chat_per_second=1000, overall_per_second=1000))
    attempts: list[float] = []

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RetryAfter(1)
        return True

    assert await pacer.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert attempts[1] - attempts[0] >= 1.0


def _update(update_id: int, chat: int) -> Update:
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": chat, "type": "private"},
        "text": "x",
    }
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def test_processor_keeps_one_chat_in_order_and_runs_chats_together() -> None:
    """Updates of one chat run one after another in order; other chats overlap them."""
    processor = ChatSerialProcessor(running=16)
    log: list[tuple[str, int, int]] = []

    async def work(update: Update, delay: float) -> None:
        chat = update.effective_chat.id  # type: ignore[union-attr]
        log.append(("start", chat, update.update_id))
        await asyncio.sleep(delay)
        log.append(("end", chat, update.update_id))

    updates = [_update(i, 1 if i % 2 else 2) for i in range(1, 9)]
    started = time.monotonic()
    await asyncio.gather(
        *(processor.process_update(u, work(u, 0.03 if u.update_id < 3 else 0.01)) for u in updates)
    )
    elapsed = time.monotonic() - started

    for chat in (1, 2):
        events = [(kind, uid) for kind, c, uid in log if c == chat]
        ids = [uid for _, uid in events]
        assert ids == sorted(ids)
        assert [k for k, _ in events] == ["start", "end"] * 4
    assert elapsed < 0.1
    assert processor.active_chats == 0


async def test_a_press_too_old_to_answer_still_gets_its_reply(telegram_bot: RunningBot) -> None:
    """After downtime Telegram refuses to answer old presses; the committed turn still shows."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    too_old = "Bad Request: query is too old and response timeout expired or query id is invalid"
    bot.fake.fail(Failure("answerCallbackQuery", 400, too_old))
    await bot.tap(PATIENT, "I agree")

    assert "How old are you?" in bot.texts(PATIENT)[-1]


async def test_a_server_error_is_retried(telegram_bot: RunningBot) -> None:
    """A 500 from the Bot API is retried after a short pause; the reply arrives once."""
    bot = telegram_bot
    bot.fake.fail(Failure("sendMessage", 500, "Internal Server Error", PATIENT))
    await bot.say(PATIENT, "/start")

    assert len(bot.fake.calls_of("sendMessage", PATIENT)) == 2
    assert len(bot.texts(PATIENT)) == 1


async def test_a_bad_request_is_not_retried() -> None:
    """A 400 is the bot's mistake: it is raised at once, not repeated."""
    pacer = Pacer(Rates(chat_per_second=1000, overall_per_second=1000))
    attempts: list[int] = []

    async def refused(*args: Any, **kwargs: Any) -> bool:
        attempts.append(1)
        raise BadRequest("Bad Request: message text is empty")

    with pytest.raises(BadRequest):
        await pacer.process_request(refused, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert len(attempts) == 1
