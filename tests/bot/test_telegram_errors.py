"""The error handler and the logs: update id and traceback only, never text or the token."""

from __future__ import annotations

import logging

import pytest

from bot.telegram.errors import REDACTED, TokenRedactor, protect_logs
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import TOKEN, Failure

PATIENT = 5005
SECRET_WORDS = "my very private symptom words"


async def test_failed_update_logs_its_id_and_traceback_only(
    telegram_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A turn whose reply fails is logged with its update id; the patient's text is not."""
    bot = telegram_bot
    bot.fake.fail(Failure("sendMessage", 400, "Bad Request: chat not found", PATIENT))
    with caplog.at_level(logging.DEBUG):
        bot.fake.send_text(PATIENT, SECRET_WORDS)
        await bot.settle()

    failures = [r for r in caplog.records if r.getMessage().startswith("update failed")]
    assert len(failures) == 1
    assert f"update_id={bot.fake.last_update_id}" in failures[0].getMessage()
    assert "Traceback" in failures[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET_WORDS not in logged


async def test_no_log_line_carries_the_token(
    telegram_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """With the bot running at DEBUG, nothing the project or httpx logs contains the token."""
    protect_logs(TOKEN)
    # transitions logs only warnings by default; at DEBUG it logs every state change
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="transitions"):
        await telegram_bot.say(PATIENT, "/start")
        await telegram_bot.tap(PATIENT, "I agree")

    assert logging.getLogger("httpx").level == logging.WARNING
    assert caplog.records
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        if record.name.startswith(("httpx", "httpcore")):
            assert record.levelno >= logging.WARNING


def test_redactor_rewrites_messages_and_tracebacks() -> None:
    """A record mentioning the token, in its message or its exception, is printed redacted."""
    redactor = TokenRedactor(TOKEN)
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "calling %s", (f"/bot{TOKEN}/x",), sys.exc_info()
        )
    assert redactor.filter(record)
    text = logging.Formatter().format(record)

    assert TOKEN not in text
    assert REDACTED in record.getMessage()
    assert REDACTED in text
