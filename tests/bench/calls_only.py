"""The benchmark's third bot: the intake bot's Bot API calls, with no intake behind them.

The echo bot makes one call per update. The intake bot makes more, because of what a patient
sees: a pressed button is answered (`answerCallbackQuery`, or the client shows a spinner), the
question is edited to show the chosen answer without its buttons (a press leaves no message
of its own in the chat), and the next question is sent. This bot makes the same number of
calls per update as the intake bot did in the same run, over the intake bot's own transport
and update concurrency, and does nothing else: no inbox, no database, no flow. Its CPU per
update is the floor that the intake bot's calls alone set, so the benchmark can say how much
of the intake bot's cost is its calls and how much its work.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.telegram.transport import AiohttpRequest
from tests.bot.fake_bot_api import TOKEN

RUNNING_TURNS = 16  # as the intake bot runs (`build_application`'s default)
KEYBOARD = InlineKeyboardMarkup.from_column(
    [InlineKeyboardButton(label, callback_data=f"b:{n}") for n, label in enumerate("ABC")]
)


class CallsOnly:
    """Spreads `calls_per_update` calls over the updates (e.g. 2.6: three, three, two, ...)."""

    def __init__(self, calls_per_update: float) -> None:
        self.calls_per_update = calls_per_update
        self._owed = 0.0
        self._last: dict[int, int] = {}  # chat -> the message id of the bot's last message

    async def handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer (extra calls first), then send a message with buttons, as a question."""
        chat = update.effective_chat
        if chat is None:
            return
        self._owed += self.calls_per_update
        calls = int(self._owed)
        self._owed -= calls
        bot = context.bot
        previous = self._last.get(chat.id)
        if calls >= 3:  # a press is answered first
            await bot.answer_callback_query("0")
        if calls >= 2 and previous is not None:  # the question shows its answer
            edit = {"chat_id": chat.id, "message_id": previous, "text": "Question? - answer"}
            await bot.do_api_request("editMessageText", api_kwargs=edit)
        sent = {"chat_id": chat.id, "text": "The next question?", "reply_markup": KEYBOARD}
        shown = await bot.do_api_request("sendMessage", api_kwargs=sent)
        self._last[chat.id] = int(shown["message_id"])


def calls_only_app(calls_per_update: float) -> Any:
    """A factory of the calls-only bot for a fake API base URL."""

    def make(base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(base_url)
            .concurrent_updates(RUNNING_TURNS)
            .request(AiohttpRequest(connection_pool_size=RUNNING_TURNS + 4, pool_timeout=30.0))
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
            .build()
        )
        bot = CallsOnly(calls_per_update)
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, bot.handle))
        return app

    return make
