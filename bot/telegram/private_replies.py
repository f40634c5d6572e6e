"""Sending health data to a clinician: only to their private chat, protected, and remembered.

Summaries and full answers go to the clinician's private chat with the bot, never to a group,
with `protect_content` (no forwarding or saving) and link previews off (a link a patient typed
is not fetched). Each message id is remembered with its review item, so the message is
deleted when the patient deletes their data or retention purges the item. Telegram refuses a
private message to someone who never opened a chat with the bot: `send` then says so (False).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

from bot.telegram.review_texts import NO_PREVIEW
from flows.engine.records.summary import split_text
from flows.review.service import ReviewService

_LOG = logging.getLogger(__name__)


async def send_protected(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> list[int]:
    """Send a text (split if long) with protect_content and no link previews; the message ids."""
    parts = split_text(text)
    sent: list[int] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        options: dict[str, Any] = {"reply_markup": markup} if last and markup else {}
        message = await bot.send_message(
            chat_id, part, protect_content=True, link_preview_options=NO_PREVIEW, **options
        )
        sent.append(message.message_id)
    return sent


class PrivateReplies:
    """Sends item texts to clinicians' private chats and remembers what was sent."""

    def __init__(self, review: ReviewService) -> None:
        self.review = review

    async def send(
        self,
        bot: Bot,
        chat_id: int,
        item_id: int,
        text: str,
        *,
        kind: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> bool:
        """Send `text` about `item_id` privately; False when Telegram refuses the chat."""
        sent: list[int] = []
        try:
            sent = await send_protected(bot, chat_id, text, markup)
        except Forbidden:
            return False
        except BadRequest as exc:
            if "chat not found" not in str(exc).lower():
                raise
            _LOG.info("no private chat with clinician %s yet", chat_id)
            return False
        finally:
            if sent:
                await asyncio.to_thread(self.review.sent_privately, item_id, chat_id, sent, kind)
        return True
