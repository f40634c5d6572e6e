"""Telegram-shaped JSON for the fake Bot API: users, chats, messages, media, entities."""

from __future__ import annotations

import re
import time
from typing import Any

BOT_ID = 123456
BOT_USERNAME = "intake_test_bot"
MEDIA = {
    "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}],
    "voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 2},
    "sticker": {
        "file_id": "s1",
        "file_unique_id": "u3",
        "width": 10,
        "height": 10,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    },
    "document": {"file_id": "d1", "file_unique_id": "u4"},
    "location": {"latitude": 52.0, "longitude": 4.0},
    "contact": {"phone_number": "+100", "first_name": "Someone"},
    "video": {"file_id": "w1", "file_unique_id": "u5", "width": 1, "height": 1, "duration": 1},
    "audio": {"file_id": "a1", "file_unique_id": "u6", "duration": 1},
}


def user_object(user_id: int, *, is_bot: bool = False, language: str = "en") -> dict[str, Any]:
    """A user object, with the language their Telegram app is set to (English by default)."""
    return {
        "id": user_id,
        "is_bot": is_bot,
        "first_name": f"User{user_id}",
        "language_code": language,
    }


def private_chat(user_id: int) -> dict[str, Any]:
    """The private chat of a user."""
    return {"id": user_id, "type": "private", "first_name": f"User{user_id}"}


def group_chat(chat_id: int, title: str = "A group") -> dict[str, Any]:
    """A group chat object for `send_text(..., chat=...)`."""
    return {"id": chat_id, "type": "group", "title": title}


def message_base(
    user: int, chat: dict[str, Any] | None, message_id: int, language: str = "en"
) -> dict[str, Any]:
    """The fields every message from a patient has."""
    return {
        "message_id": message_id,
        "date": now(),
        "chat": chat or private_chat(user),
        "from": user_object(user, language=language),
    }


def bot_message(
    chat_id: int, message_id: int, text: str, markup: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A message from the bot, as Telegram returns it."""
    chat = private_chat(chat_id) if chat_id > 0 else group_chat(chat_id)
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": now(),
        "chat": chat,
        "from": {**user_object(BOT_ID, is_bot=True), "username": BOT_USERNAME},
        "text": text,
    }
    if markup and "inline_keyboard" in markup:  # Telegram echoes inline keyboards only
        message["reply_markup"] = markup
    return message


def entities(text: str) -> dict[str, Any]:
    """Command and mention entities, as Telegram marks them up."""
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    for match in re.finditer(r"@\w+", text):
        entities.append({"type": "mention", "offset": match.start(), "length": len(match[0])})
    return {"entities": entities} if entities else {}


def now() -> int:
    """Telegram's timestamps: whole seconds."""
    return int(time.time())
