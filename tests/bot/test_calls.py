"""Bot API calls made from their fields: the same requests python-telegram-bot's methods make."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import KeyboardButton, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseRateLimiter, ExtBot

from bot.telegram.calls import call
from bot.telegram.transport import AiohttpRequest
from tests.bot.loopback import serving

TOKEN = "123456:SECRET-token"
ME = {"id": 123456, "is_bot": True, "first_name": "Intake", "username": "intake_bot"}
MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "Hi ✅"}
Seen = list[tuple[str, bytes]]
pytestmark = pytest.mark.filterwarnings("ignore:Please use 'Bot:telegram.warnings.PTBUserWarning")


@pytest.fixture
async def api() -> AsyncIterator[tuple[str, Seen]]:
    """A loopback Bot API that records each request's path and body; chat 403 has blocked it."""
    seen: Seen = []

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.path, body))
        if b"chat_id=403" in body:
            error = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
            return web.json_response(error, status=403)
        if b"chat_id=400" in body:
            error = {"ok": False, "error_code": 400, "description": "Bad Request: not modified"}
            return web.json_response(error, status=400)
        method = request.path.rpartition("/")[2]
        result = {"sendMessage": MESSAGE, "getMe": ME}.get(method, True)
        return web.json_response({"ok": True, "result": result})

    async with serving(record) as root:
        yield f"{root}/bot", seen


class Recorder(BaseRateLimiter[int]):
    """A rate limiter that records what it is given and lets every request through."""

    def __init__(self) -> None:
        self.given: list[tuple[str, dict[str, Any], int | None]] = []

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        self.given.append((endpoint, dict(data), rate_limit_args))
        return await callback(*args, **kwargs)


def make_bot(base_url: str, limiter: Recorder | None = None) -> ExtBot[Any]:
    return ExtBot(TOKEN, base_url=base_url, request=AiohttpRequest(), rate_limiter=limiter)


async def test_a_send_is_the_request_ptb_makes(api: tuple[str, Seen]) -> None:
    """Same path, same body byte for byte, same JSON result as `do_api_request`."""
    url, seen = api
    keyboard = '{"inline_keyboard":[[{"text":"Yes ✅","callback_data":"c:8:r:0"}]]}'
    fields = {"chat_id": 42, "text": 'Line\n\n"Quoted" & more 🙂', "reply_markup": keyboard}
    async with make_bot(url) as bot:
        ours = await call(bot, "sendMessage", **fields, message_thread_id=None)
        theirs = await bot.do_api_request("sendMessage", api_kwargs=fields)
    assert ours == theirs == MESSAGE
    assert seen[-2] == seen[-1]
    assert seen[-1][0] == f"/bot{TOKEN}/sendMessage"


async def test_objects_and_answers_are_encoded_as_ptb_encodes_them(api: tuple[str, Seen]) -> None:
    """A reply keyboard object and a callback answer: the bodies of PTB's own methods."""
    url, seen = api
    button = KeyboardButton("Share my number", request_contact=True)
    markup = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    async with make_bot(url) as bot:
        await call(bot, "sendMessage", chat_id=42, text="Call back?", reply_markup=markup)
        await bot.send_message(42, "Call back?", reply_markup=markup)
        await call(bot, "answerCallbackQuery", callback_query_id="q1", text="Too old")
        await bot.answer_callback_query("q1", "Too old")
        await call(bot, "answerCallbackQuery", callback_query_id="q2", text=None)
        await bot.answer_callback_query("q2")
    sent = seen[1:]  # after getMe
    assert sent[0] == sent[1]
    assert sent[2] == sent[3]
    assert sent[4] == sent[5]


async def test_the_rate_limiter_is_given_what_ptb_gives_it(api: tuple[str, Seen]) -> None:
    """The endpoint and the fields (values as given, `None` left out), no limiter arguments."""
    url, _ = api
    limiter = Recorder()
    async with make_bot(url, limiter) as bot:
        await call(bot, "editMessageText", chat_id=42, message_id=7, text="Done", reply_markup=None)
        await bot.do_api_request(
            "editMessageText", api_kwargs={"chat_id": 42, "message_id": 7, "text": "Done"}
        )
    ours, theirs = limiter.given[-2:]
    assert ours == theirs
    assert ours == (
        "editMessageText",
        {"chat_id": 42, "message_id": 7, "text": "Done"},
        None,
    )


async def test_refusals_are_ptbs_errors(api: tuple[str, Seen]) -> None:
    """A blocked bot is `Forbidden`, a refused edit `BadRequest`, as through PTB's methods."""
    url, _ = api
    async with make_bot(url) as bot:
        with pytest.raises(Forbidden):
            await call(bot, "sendMessage", chat_id=403, text="Hello")
        with pytest.raises(BadRequest, match="Not modified"):
            await call(bot, "editMessageText", chat_id=400, message_id=1, text="Same")
