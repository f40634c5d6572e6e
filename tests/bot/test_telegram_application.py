"""The Application's hook for other features: extra handlers first, the review chat left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.composition import build_services
from bot.telegram.application import build_application, file_url
from flows.engine.conversation.buttons import Button, ButtonAction, encode
from tests.bot.conftest import make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi, group_chat

REVIEW_CHAT = -900
CLINICIAN = 7007


async def test_review_chat_updates_go_to_the_extra_handlers_only(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """Messages and button presses in the review chat reach the extra handlers, not intake."""
    seen: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append("press" if update.callback_query else "message")

    review = filters.Chat(chat_id=REVIEW_CHAT)
    extra: list[Any] = [MessageHandler(review, record), CallbackQueryHandler(record)]
    services = build_services(make_settings(fake_api, db_path, review_chat_id=REVIEW_CHAT))
    bot = await start_bot(fake_api, services, extra_handlers=extra)
    try:
        chat = group_chat(REVIEW_CHAT, "Clinicians")
        fake_api.send_text(CLINICIAN, "/start", chat=chat)
        fake_api.send_text(CLINICIAN, "/queue", chat=chat)
        sent = fake_api.answer("sendMessage", {"chat_id": REVIEW_CHAT, "text": "A summary"})
        assert sent is not None
        message_id = sent[1]["result"]["message_id"]
        fake_api.press(CLINICIAN, message_id, encode(Button(ButtonAction.CHOOSE, 1, 1, 0)))
        await bot.settle()
    finally:
        await stop_bot(bot)
        services.close()

    assert seen == ["message", "message", "press"]
    assert fake_api.texts_to(REVIEW_CHAT) == ["A summary"]
    assert fake_api.calls_of("answerCallbackQuery") == []


async def test_post_init_hooks_run_after_the_menu_is_set(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """A post-init hook runs once the bot is initialised, after the menu of each language."""
    order: list[str] = []

    async def hook(app: Any) -> None:
        order.append(f"hook after {len(fake_api.calls_of('setMyCommands'))} menu call(s)")

    services = build_services(make_settings(fake_api, db_path))
    app = build_application(services, post_init_hooks=[hook])
    try:
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.shutdown()
    finally:
        services.close()

    assert order == ["hook after 2 menu call(s)"]  # English (the default) and Spanish


def test_file_url_follows_the_api_url() -> None:
    """A self-hosted Bot API's file URL sits beside its bot URL."""
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
