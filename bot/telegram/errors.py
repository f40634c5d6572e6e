"""The bot's one error handler and the log redaction that keeps the token out of every line.

The handler logs the update id and the traceback, never message text, answers or
`update.to_dict()`. It counts the failure, and when a patient's private update failed for a
reason other than Telegram refusing a reply (a command whose database work failed, a bug), it
still answers: the flow's `turn_failed`, with the emergency number. Turns themselves never get
here (the intake service answers a failed turn itself).

`TokenRedactor` is a logging filter put on the root handlers: anything that would print the bot
token (an exception carrying a request URL, a library's debug line) prints `<token>` instead.
httpx logs every request URL, which contains the token, at INFO: its logger is kept at WARNING.
PTB logs whole updates (patients' words) at DEBUG: its logger is kept at INFO. Because a
logger's level can be turned down later (an operator debugging), the root handlers also carry
`PayloadGuard`, which drops the DEBUG records of the libraries that dump payloads there (PTB's
updates and request parameters, SQLAlchemy's result rows, HTTP bodies).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram.tracking import MARK

_LOG = logging.getLogger("bot.telegram")
REDACTED = "<token>"
ErrorCallback = Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "alembic": logging.WARNING,  # two boilerplate lines per start; storage.migrate logs upgrades
}


async def handle_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log which update failed and the traceback; nothing the patient wrote."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if error is None:
        _LOG.error("update failed: update_id=%s", update_id)
        return
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    _LOG.error("update failed: update_id=%s\n%s", update_id, trace)


def error_handler(reply: Callable[[str | None], str], count: Callable[[], None]) -> ErrorCallback:
    """The error handler: log, count, and answer a patient's failed private update.

    `reply(language)` is the failed-turn text (the flow's `turn_failed`, number filled in).
    """

    async def handle_failure(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log and count the failure; tell the patient unless Telegram refused the reply."""
        await handle_error(update, context)
        count()
        mark = MARK.get()
        if mark is not None:
            mark.broken = True  # the reply may not have gone out: keep it owed
        chat = update.effective_chat if isinstance(update, Update) else None
        if (
            chat is None
            or chat.type != ChatType.PRIVATE
            or isinstance(context.error, TelegramError)
        ):
            return
        user = update.effective_user if isinstance(update, Update) else None
        try:
            await context.bot.send_message(chat.id, reply(user.language_code if user else None))
        except TelegramError as exc:
            update_id = update.update_id if isinstance(update, Update) else None
            _LOG.warning(
                "failure reply not sent: update_id=%s reason=%s", update_id, type(exc).__name__
            )

    return handle_failure


PAYLOAD_LOGGERS = ("telegram", "httpx", "httpcore", "aiohttp", "tornado", "sqlalchemy")


class PayloadGuard(logging.Filter):
    """Drops DEBUG records of libraries that log message payloads or result rows there."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep a record unless it is a library's DEBUG line."""
        if record.levelno >= logging.INFO:
            return True
        return not record.name.startswith(PAYLOAD_LOGGERS)


class TokenRedactor(logging.Filter):
    """Replaces the bot token in formatted log records."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without the token; never drops a record."""
        if not self.token:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if self.token in message or (record.exc_text and self.token in record.exc_text):
            record.msg = message.replace(self.token, REDACTED)
            record.args = None
            if record.exc_text:
                record.exc_text = record.exc_text.replace(self.token, REDACTED)
        return True


def protect_logs(token: str) -> None:
    """Quieten the libraries that log URLs, updates or rows; guard and redact the root handlers."""
    for name, level in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(level, logger.getEffectiveLevel()))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TokenRedactor) and f.token == token for f in handler.filters):
            handler.addFilter(TokenRedactor(token))
        if not any(isinstance(f, PayloadGuard) for f in handler.filters):
            handler.addFilter(PayloadGuard())
