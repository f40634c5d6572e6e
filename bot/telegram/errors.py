"""The bot's one error handler and the log redaction that keeps the token out of every line.

The handler logs the update id and the traceback, never message text, answers or
`update.to_dict()`. `TokenRedactor` is a logging filter put on the root handlers: anything that
would print the bot token (an exception carrying a request URL, a library's debug line) prints
`<token>` instead. httpx logs every request URL, which contains the token, at INFO: its logger
is kept at WARNING. PTB logs whole updates (patients' words) at DEBUG: its logger is kept at
INFO.
"""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.ext import ContextTypes

_LOG = logging.getLogger("bot.telegram")
REDACTED = "<token>"
QUIET_LOGGERS = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO}


async def handle_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log which update failed and the traceback; nothing the patient wrote."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if error is None:
        _LOG.error("update failed: update_id=%s", update_id)
        return
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    _LOG.error("update failed: update_id=%s\n%s", update_id, trace)


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
    """Quieten the libraries that log URLs or updates; redact the token on the root handlers."""
    for name, level in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(level, logger.getEffectiveLevel()))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TokenRedactor) and f.token == token for f in handler.filters):
            handler.addFilter(TokenRedactor(token))
