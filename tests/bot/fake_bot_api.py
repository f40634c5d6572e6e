"""A fake Telegram Bot API on loopback, for driving the real `Application` in tests and benches.

It serves `http://127.0.0.1:PORT/bot<token>/<method>` with tornado: getMe, getUpdates (a queue
of updates the test injects; honours offset, limit and the long-poll timeout), sendMessage,
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setMyCommands,
deleteWebhook, setWebhook and getWebhookInfo. Every call is recorded with its parameters
decoded (`reply_markup` parsed from its JSON form field). Failures can be scripted per method
and chat: 429 with `retry_after`, 403 (the user blocked the bot), 500.

The patient side is a set of helpers that inject updates: `send_text`, `press`, `edit_text`,
`send_media` (photo, voice, sticker, ...). Message ids come from one counter, so they grow in
the order things happen, as Telegram's do within a chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.bot.fake_telegram_objects import (
    BOT_ID,
    BOT_USERNAME,
    MEDIA,
    bot_message,
    entities,
    group_chat,
    message_base,
    now,
    user_object,
)

__all__ = ["BOT_USERNAME", "MEDIA", "TOKEN", "Call", "Failure", "FakeBotApi", "Sent", "group_chat"]

TOKEN = "123456:TEST-token-never-logged"
RAW_FIELDS = frozenset({"text", "callback_query_id", "url", "secret_token"})


@dataclass(frozen=True, slots=True)
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    at: float

    @property
    def chat_id(self) -> int | None:
        """The chat the call addressed, if any."""
        chat = self.params.get("chat_id")
        return int(chat) if chat is not None else None


@dataclass(slots=True)
class Failure:
    """A scripted error answer for the next `times` calls of `method` (to `chat_id`)."""

    method: str
    status: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass(slots=True)
class Sent:
    """A message the bot sent, as it now stands (after edits)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    edits: int = 0
    protected: bool = False  # sent with protect_content
    previews: bool = True  # link previews not switched off
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data or URL) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", b.get("url", ""))) for row in rows for b in row]


@dataclass
class FakeBotApi:
    """The fake server's state, its HTTP face, and the patient-side helpers."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    sent: dict[int, Sent] = field(default_factory=dict)
    on_send: Callable[[Sent], None] | None = None  # benchmarks react to bot messages here
    languages: dict[int, str] = field(default_factory=dict)  # a user's app language (else en)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)  # names per user id
    port: int = 0
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _confirmed: int = 0
    _last_injected: int = 0
    # Waiters woken by every change. One shared Event cleared by each waiter lost wake-ups:
    # a waiter's clear() could undo a set() another waiter had not seen yet.
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)
    _delivered: dict[int, dict[str, Any]] = field(default_factory=dict)
    _again: list[dict[str, Any]] = field(default_factory=list)
    _again_unconfirmed: bool = False
    _closing: bool = False
    _by_chat: dict[int, list[Sent]] = field(default_factory=dict)
    _server: tornado.httpserver.HTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        routes = [(r"/bot([^/]+)/(\w+)", _Endpoint, {"api": self})]
        # no access log: request lines carry the token, and tests want quiet output
        app = tornado.web.Application(routes, log_function=lambda handler: None)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        self._closing = True
        self._notify()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    @property
    def base_url(self) -> str:
        """The `base_url` to give `ApplicationBuilder` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # --- the patient side --------------------------------------------------------------------

    def language_of(self, user: int) -> str:
        """The language code a user's Telegram app sends (`languages`, else English)."""
        return self.languages.get(user, "en")

    def send_text(self, user: int, text: str, *, chat: dict[str, Any] | None = None) -> int:
        """A patient types `text`; returns the message id."""
        return self._message(user, {"text": text, **entities(text)}, chat)

    def send_media(self, user: int, kind: str, *, chat: dict[str, Any] | None = None) -> int:
        """A patient sends a photo, voice note, sticker, document, location, contact, ..."""
        return self._message(user, {kind: MEDIA[kind]}, chat)

    def send_contact(self, user: int, phone: str, *, owner: int | None) -> int:
        """A patient shares a contact card (`owner`: the Telegram user it belongs to, if any)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": f"User{user}"}
        if owner is not None:
            contact["user_id"] = owner
        return self._message(user, {"contact": contact}, None)

    def edit_text(self, user: int, message_id: int, text: str) -> None:
        """A patient edits an earlier message of theirs."""
        message = {**self._base(user, None, message_id), "text": text, "edit_date": now()}
        self.inject({"edited_message": message})

    def press(self, user: int, message_id: int, data: str) -> str:
        """A patient presses an inline button of a bot message; returns the query id."""
        sent = self.sent.get(message_id)
        chat_id = sent.chat_id if sent is not None else user
        message = bot_message(chat_id, message_id, sent.text if sent else "?", _markup(sent))
        query_id = f"q{next(self._ids)}"
        query = {
            "id": query_id,
            "from": {
                **user_object(user, language=self.language_of(user)),
                **self.profiles.get(user, {}),
            },
            "chat_instance": str(chat_id),
            "data": data,
            "message": message,
        }
        self.inject({"callback_query": query})
        return query_id

    def press_label(self, user: int, label: str) -> str:
        """Press the button labelled `label` on the newest bot message to `user` showing it."""
        for message in reversed(self.messages_to(user)):
            for text, data in message.buttons:
                if text == label or text.endswith(f" {label}"):
                    return self.press(user, message.message_id, data)
        raise AssertionError(f"no button '{label}' for user {user}")

    def inject(self, update: dict[str, Any]) -> int:
        """Queue a raw update; returns its update id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._last_injected = update_id
        self._notify()
        return update_id

    @property
    def last_update_id(self) -> int:
        """The id of the newest injected update."""
        return self._last_injected

    def inject_again(self, update_id: int) -> None:
        """Deliver an already confirmed update a second time (Telegram is at-least-once)."""
        self._again.append(self._delivered[update_id])
        self._notify()

    # --- what the bot did ----------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[Sent]:
        """Messages the bot sent to a chat, oldest first, as they now read."""
        return list(self._by_chat.get(chat_id, ()))

    def texts_to(self, chat_id: int) -> list[str]:
        """The texts of the bot's messages to a chat."""
        return [m.text for m in self.messages_to(chat_id)]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of one method (to one chat)."""
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def fail(self, failure: Failure) -> None:
        """Script an error answer."""
        self.failures.append(failure)

    async def delivered(self, timeout: float = 10) -> None:
        """Wait until the bot has fetched and confirmed every injected update."""
        deadline = time.monotonic() + timeout
        while self._confirmed <= self._last_injected or self._again or self._again_unconfirmed:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not fetch every update")
            await self._until_changed(deadline)

    # --- internals ---------------------------------------------------------------------------

    def _message(self, user: int, content: dict[str, Any], chat: dict[str, Any] | None) -> int:
        message_id = next(self._ids)
        self.inject({"message": {**self._base(user, chat, message_id), **content}})
        return message_id

    def _base(self, user: int, chat: dict[str, Any] | None, message_id: int) -> dict[str, Any]:
        base = message_base(user, chat, message_id, self.language_of(user))
        base["from"] = {**base["from"], **self.profiles.get(user, {})}
        return base

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _until_changed(self, deadline: float) -> None:
        """Wait for the next change, or until `deadline`."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await _wait(waiter, deadline)

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The reply to a non-polling call, or None for getUpdates (handled apart)."""
        self.calls.append(Call(method, params, time.monotonic()))
        self._notify()
        failure = self._failure(method, params)
        if failure is not None:
            return failure
        handler = _METHODS.get(method)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": handler(self, params)}

    def _failure(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        chat = params.get("chat_id")
        for failure in self.failures:
            if failure.method == method and failure.chat_id in (None, chat) and failure.times:
                failure.times -= 1
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": failure.status,
                    "description": failure.description,
                }
                if failure.retry_after is not None:
                    body["parameters"] = {"retry_after": failure.retry_after}
                return failure.status, body
        return None

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long-poll: confirm below `offset`, then return pending updates or wait for some."""
        self.calls.append(Call("getUpdates", params, time.monotonic()))
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed = max(self._confirmed, offset)
        self._again_unconfirmed = False
        self._notify()
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not (self._updates or self._again or self._closing) and time.monotonic() < deadline:
            await self._until_changed(deadline)
        if self._again:
            batch, self._again, self._again_unconfirmed = self._again, [], True
            return batch
        batch = self._updates[: int(params.get("limit") or 100)]
        for update in batch:
            self._delivered[update["update_id"]] = update
        return batch

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        sent = Sent(chat_id, next(self._ids), params["text"], params.get("reply_markup"))
        sent.protected = params.get("protect_content") is True
        sent.previews = not (params.get("link_preview_options") or {}).get("is_disabled")
        self.sent[sent.message_id] = sent
        self._by_chat.setdefault(chat_id, []).append(sent)
        if self.on_send is not None:
            self.on_send(sent)
        return bot_message(chat_id, sent.message_id, sent.text, sent.reply_markup)

    def _edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self.sent[int(params["message_id"])]
        sent.text = params["text"]
        sent.reply_markup = params.get("reply_markup")
        sent.edits += 1
        if self.on_send is not None:
            self.on_send(sent)
        return bot_message(sent.chat_id, sent.message_id, sent.text, sent.reply_markup)

    def _delete(self, params: dict[str, Any]) -> bool:
        sent = self.sent[int(params["message_id"])]
        sent.deleted = True
        self._by_chat[sent.chat_id].remove(sent)
        return True

    def _edit_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self.sent[int(params["message_id"])]
        sent.reply_markup = params.get("reply_markup")
        sent.edits += 1
        return bot_message(sent.chat_id, sent.message_id, sent.text, sent.reply_markup)


def _get_me(api: FakeBotApi, params: dict[str, Any]) -> dict[str, Any]:
    return {**user_object(BOT_ID, is_bot=True), "username": BOT_USERNAME, "can_join_groups": True}


def _webhook_info(api: FakeBotApi, params: dict[str, Any]) -> dict[str, Any]:
    return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


_METHODS: dict[str, Callable[[FakeBotApi, dict[str, Any]], Any]] = {
    "getMe": _get_me,
    "sendMessage": FakeBotApi._send_message,
    "editMessageText": FakeBotApi._edit_text,
    "editMessageReplyMarkup": FakeBotApi._edit_markup,
    "deleteMessage": FakeBotApi._delete,
    "answerCallbackQuery": lambda api, params: True,
    "setMyCommands": lambda api, params: True,
    "deleteWebhook": lambda api, params: True,
    "setWebhook": lambda api, params: True,
    "getWebhookInfo": _webhook_info,
    "close": lambda api, params: True,
}


class _Endpoint(tornado.web.RequestHandler):
    """`POST /bot<token>/<method>` with form-encoded (or multipart) parameters."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        if token != self.api.token:
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params = {k: _decode(k, v[-1].decode()) for k, v in self.request.body_arguments.items()}
        if method == "getUpdates":
            self._reply(200, {"ok": True, "result": await self.api.get_updates(params)})
            return
        reply = self.api.answer(method, params)
        assert reply is not None
        self._reply(*reply)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


def _decode(key: str, value: str) -> Any:
    if key in RAW_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _markup(sent: Sent | None) -> dict[str, Any] | None:
    return sent.reply_markup if sent is not None else None


async def _wait(waiter: asyncio.Future[None], deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(waiter), remaining)
