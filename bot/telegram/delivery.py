"""Sending a turn's prompts to a chat: escalations first, answers shown in place, long texts split.

`Delivery` is called by the handlers after the service has returned (so after its commit). It
edits the answered question to show the answer and drop its buttons, replaces a multi-select
question in place when its check marks change, sends every other prompt as a new message
(split under Telegram's 4096-character limit, the keyboard on the last part) and remembers the
message of the current question. A 403 from Telegram means the patient blocked the bot: they
are marked unreachable and the rest of the turn is not sent. Pacing and `RetryAfter` are the
`Pacer`'s business, below this.

Sends and edits go out through `bot.telegram.calls.call`, their response left as JSON:
python-telegram-bot would otherwise build a `Message` (chat, user, keyboard objects) from every
response, which nothing here reads but a sent message's id and text (about 6% of the bot's CPU
per update), and pass each call's fields through layers that change nothing here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, Forbidden

from bot.telegram.calls import call
from bot.telegram.keyboards import (
    InlineKeyboard,
    Labels,
    answered_text,
    prompt_keyboard,
    prompt_text,
)
from bot.telegram.questions import Asked, QuestionMemory
from bot.telegram.service import PatientService
from flows.engine.conversation.values import Prompt, PromptKind, Turn

_LOG = logging.getLogger(__name__)
MESSAGE_LIMIT = 4096  # UTF-16 code units, as Telegram counts them
Markup = InlineKeyboard | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


@dataclass(frozen=True, slots=True)
class Shown:
    """A message the bot sent: its id and its text as Telegram shows it."""

    message_id: int
    text: str


class Delivery:
    """Renders and sends turns for the patient handlers."""

    def __init__(self, bot: Bot, intake: PatientService, questions: QuestionMemory) -> None:
        self.bot = bot
        self.intake = intake
        self.questions = questions
        self._labels: dict[str | None, Labels] = {}

    def labels(self, language: str | None) -> Labels:
        """The Back/Skip/Done words in a language (cached)."""
        labels = self._labels.get(language)
        if labels is None:
            text = self.intake.message
            words = (text(key, language) for key in ("back", "skip", "done", "progress"))
            labels = Labels(*words)
            self._labels[language] = labels
        return labels

    def language(self, chat_id: int, telegram: str | None) -> str | None:
        """The language of a chat's current question, else the patient's Telegram language."""
        asked = self.questions.current(chat_id)
        return asked.language if asked is not None and asked.language else telegram

    async def deliver(
        self, chat_id: int, turn: Turn, *, language: str | None, pressed: Message | None = None
    ) -> None:
        """Show a turn in a chat (in the turn's language); a blocked bot marks it unreachable."""
        if turn.duplicate or turn.stale:
            return
        try:
            await self._deliver(chat_id, turn, turn.language or language, pressed)
        except Forbidden:
            await self.unreachable(chat_id)

    async def send_text(self, chat_id: int, text: str, markup: Markup = None) -> Shown | None:
        """Send a text (split if long); None when the patient has blocked the bot."""
        try:
            return await self._send(chat_id, text, markup)
        except Forbidden:
            await self.unreachable(chat_id)
            return None

    async def edit(self, message: Message, text: str, markup: InlineKeyboard | None) -> None:
        """Replace a message's text and keyboard; an edit that fails changes nothing."""
        await self._edit(message.chat_id, message.message_id, text, markup)

    async def unreachable(self, chat_id: int) -> None:
        """Record that a patient blocked the bot (private chats only)."""
        _LOG.info("bot blocked by chat=%s", chat_id)
        if chat_id > 0:
            await self.intake.mark_unreachable(user_id=chat_id)

    async def _deliver(
        self, chat_id: int, turn: Turn, language: str | None, pressed: Message | None
    ) -> None:
        prompts = list(turn.prompts)
        refreshed = prompts.pop(0) if turn.refresh and prompts and pressed else None
        urgent = [p for p in prompts if p.kind is PromptKind.ESCALATION]
        for prompt in urgent:
            await self._send_prompt(chat_id, prompt, turn.session_id, language)
        if turn.offer_contact and chat_id > 0:
            await self._offer_contact(chat_id, language)
        await self._show_answer(chat_id, turn, pressed)
        if refreshed is not None and pressed is not None:
            await self._refresh(chat_id, pressed, refreshed, turn.session_id, language)
        for prompt in prompts:
            if prompt.kind is not PromptKind.ESCALATION:
                await self._send_prompt(chat_id, prompt, turn.session_id, language)

    async def _offer_contact(self, chat_id: int, language: str | None) -> None:
        """Offer Telegram's share-contact button (optional) so the clinic can call back."""
        button = KeyboardButton(
            self.intake.message("contact_button", language), request_contact=True
        )
        markup = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        await self._send(chat_id, self.intake.message("contact_offer", language), markup)

    async def _show_answer(self, chat_id: int, turn: Turn, pressed: Message | None) -> None:
        if turn.answered_step is None or turn.answer_text is None:
            return
        asked = self.questions.current(chat_id)
        if pressed is not None and pressed.text is not None:
            asked = Asked(pressed.message_id, pressed.text)
        if asked is None:
            return
        self.questions.forget(chat_id, asked.message_id)
        if asked.has_buttons:  # a typed answer to a typed question is already on screen
            text = answered_text(asked.text, turn.answer_text)
            await self._edit_text(chat_id, asked.message_id, text)

    async def _refresh(
        self, chat_id: int, pressed: Message, prompt: Prompt, session: int | None, lang: str | None
    ) -> None:
        labels = self.labels(lang)
        text = prompt_text(prompt, labels)
        await self.edit(pressed, text, prompt_keyboard(prompt, session, labels, lang))
        asked = Asked(pressed.message_id, text, step=prompt.step, language=lang)
        self.questions.remember(chat_id, asked)

    async def _send_prompt(
        self, chat_id: int, prompt: Prompt, session: int | None, lang: str | None
    ) -> None:
        labels = self.labels(lang)
        markup = prompt_keyboard(prompt, session, labels, lang)
        if prompt.kind is PromptKind.QUESTION or markup is not None:
            await self._retire_question(chat_id)
        sent = await self._send(chat_id, prompt_text(prompt, labels), markup)
        if prompt.kind is PromptKind.QUESTION or markup is not None:
            buttons, text = markup is not None, sent.text
            asked = Asked(sent.message_id, text, buttons, prompt.step, language=lang)
            self.questions.remember(chat_id, asked)

    async def _retire_question(self, chat_id: int) -> None:
        """Drop the buttons of a question that a new question replaces (after /back, a re-ask)."""
        asked = self.questions.current(chat_id)
        if asked is None or not asked.has_buttons:
            return
        try:
            await self._call("editMessageReplyMarkup", chat_id=chat_id, message_id=asked.message_id)
        except BadRequest as exc:
            _LOG.debug("keyboard kept: chat=%s reason=%s", chat_id, type(exc).__name__)

    async def _send(self, chat_id: int, text: str, markup: Markup) -> Shown:
        parts = split_text(text)
        for part in parts[:-1]:
            await self._call("sendMessage", chat_id=chat_id, text=part)
        sent = await self._call("sendMessage", chat_id=chat_id, text=parts[-1], reply_markup=markup)
        return Shown(int(sent["message_id"]), str(sent.get("text", "")))

    async def _edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        await self._edit(chat_id, message_id, split_text(text)[0], None)

    async def _edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboard | None
    ) -> None:
        try:
            await self._call(
                "editMessageText",
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                reply_markup=markup,
            )
        except BadRequest as exc:  # not modified, or too old to edit: cosmetic only
            _LOG.debug("edit skipped: chat=%s reason=%s", chat_id, type(exc).__name__)

    async def _call(self, endpoint: str, **fields: Any) -> Any:
        """A Bot API call whose response is left as JSON (None fields are left out)."""
        return await call(self.bot, endpoint, **fields)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a text into parts Telegram accepts, at paragraph, line or word ends when possible."""
    if 2 * len(text) <= limit:  # fits even if every character takes two UTF-16 units
        return [text]
    parts: list[str] = []
    rest = text
    while _units(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    parts.append(rest)
    return [p for p in parts if p] or [text]


def _cut_point(text: str, limit: int) -> int:
    """The largest break before `limit` UTF-16 units: blank line, newline, space, else hard."""
    end = _fit(text, limit)
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, end)
        if at > end // 2:
            return at + len(separator)
    return end


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _units(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
