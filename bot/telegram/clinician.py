"""The clinician side on Telegram: /queue, /show, /claim, /done, /stats, Open links and buttons.

Commands are taken in private chats with the bot and in the review chat, and only from the user
ids of INTAKE_CLINICIAN_IDS. Anyone else gets the flow's `not_available` message, no data, and
a rate-limited `access.denied` audit event under a keyed hash of their id. Health data (a
summary, full answers, flags in /queue) only ever goes to the asking clinician's private chat
(`bot.telegram.private_replies`); in the review chat the bot answers without contents and
sends the summary privately. A notice's Open button is a deep link that sends
`/start review_<id>` in the clinician's private chat. /claim without an id takes the most urgent
pending item; `/done ID --force note` marks reviewed an item another clinician claimed.
Handlers sit in the application's extra group (before the patient handlers) and stop a handled
update from reaching them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import Update, User
from telegram.constants import ChatType
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.telegram.inbound import language_of
from bot.telegram.private_replies import PrivateReplies
from bot.telegram.review_texts import (
    BUTTON_PATTERN,
    NO_PREVIEW,
    OPEN_PREFIX,
    open_link,
    queue_text,
    review_keyboard,
    stats_text,
)
from flows.review.outbox import PRIVATE_BUTTONS
from flows.review.records import ReviewError
from flows.review.service import ReviewService

_LOG = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Command = Callable[[Update, Context, str], Coroutine[Any, Any, None]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
Message = Callable[[str, str | None], str]
QUEUE_PAGE = 20  # /queue lists this many pending items, the most urgent
USAGE = {
    "show": "Usage: /show ID",
    "claim": "Usage: /claim ID (or /claim alone for the most urgent pending item)",
    "done": "Usage: /done ID [--force] note",
}
SENT_PRIVATELY = "Review #{id}: sent to your private chat with me."
NO_PRIVATE_CHAT = "I can't message you privately yet. Open review #{id} here: {link}"


class ClinicianHandlers:
    """Callbacks for clinician commands, Open links and card buttons, behind the allow-list."""

    def __init__(
        self,
        review: ReviewService,
        *,
        clinicians: frozenset[int],
        review_chat: int | None,
        message: Message,
    ) -> None:
        self.review = review
        self.clinicians = clinicians
        self.review_chat = review_chat
        self.message = message
        self.private = PrivateReplies(review)

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """The command, Open-link and button handlers, for the application's extra group."""
        where: filters.BaseFilter = filters.ChatType.PRIVATE
        if self.review_chat is not None:
            where = where | filters.Chat(chat_id=self.review_chat)
        commands: dict[str, Command] = {
            "queue": self.handle_queue,
            "show": self.handle_show,
            "claim": self.handle_claim,
            "done": self.handle_done,
            "stats": self.handle_stats,
        }
        found: list[BaseHandler[Any, Any, Any]] = [
            CommandHandler(name, self._guarded(name, callback), where)
            for name, callback in commands.items()
        ]
        opened = filters.ChatType.PRIVATE & filters.Regex(rf"^/start {OPEN_PREFIX}\d+$")
        found.insert(0, CommandHandler("start", self._guarded("open", self.handle_open), opened))
        found.append(CallbackQueryHandler(self.handle_button, pattern=BUTTON_PATTERN))
        return found

    # --- commands --------------------------------------------------------------------------

    async def handle_queue(self, update: Update, context: Context, actor: str) -> None:
        """Reply with the pending items, most urgent first (their flags only in private)."""
        records = await asyncio.to_thread(self.review.queue, actor, QUEUE_PAGE + 1)
        await self._reply(update, queue_text(records, QUEUE_PAGE, with_flags=_in_private(update)))

    async def handle_show(self, update: Update, context: Context, actor: str) -> None:
        """Send one item's summary to the clinician's private chat."""
        item_id = _item_id(context.args)
        if item_id is None:
            await self._reply(update, USAGE["show"])
            return
        await self._show_privately(update, context, actor, item_id)

    async def handle_open(self, update: Update, context: Context, actor: str) -> None:
        """An Open link (`/start review_<id>`): the item's summary in the private chat."""
        payload = (context.args or [""])[0]
        await self._show_privately(update, context, actor, int(payload[len(OPEN_PREFIX) :]))

    async def handle_claim(self, update: Update, context: Context, actor: str) -> None:
        """Claim an item (or, without an id, the most urgent pending one) for the clinician."""
        name = _name(update.effective_user)
        if not context.args:
            found = await asyncio.to_thread(self.review.claim_next, actor, name=name)
            if found is None:
                await self._reply(update, "The queue is empty.")
                return
            await self._show_privately(update, context, actor, found.item_id)
            return
        item_id = _item_id(context.args)
        if item_id is None:
            await self._reply(update, USAGE["claim"])
            return
        record = await asyncio.to_thread(self.review.claim, actor, item_id, name=name)
        await self._reply(update, f"Review #{record.item_id} claimed by {record.claimer}.")

    async def handle_done(self, update: Update, context: Context, actor: str) -> None:
        """Mark an item reviewed with the note that follows its id (`--force`: anyone's claim)."""
        args = list(context.args or [])
        item_id = _item_id(args)
        if item_id is None:
            await self._reply(update, USAGE["done"])
            return
        force = "--force" in args[1:2]
        words = args[2:] if force else args[1:]
        note = " ".join(words) or None
        name = _name(update.effective_user)
        record = await asyncio.to_thread(
            self.review.done, actor, item_id, name=name, note=note, force=force
        )
        await self._reply(update, f"Review #{record.item_id} marked reviewed by {record.claimer}.")

    async def handle_stats(self, update: Update, context: Context, actor: str) -> None:
        """Reply with counts per status and pending priority."""
        counts = await asyncio.to_thread(self.review.stats, actor)
        await self._reply(update, stats_text(counts))

    # --- buttons ---------------------------------------------------------------------------

    async def handle_button(self, update: Update, context: Context) -> None:
        """Claim, mark reviewed or send the full answers (privately) of a card's item."""
        query, user = update.callback_query, update.effective_user
        if query is None or query.data is None or user is None:
            return
        _, action, raw_id = query.data.split(":")
        if user.id not in self.clinicians:
            await self._deny(user, f"button:{action}")
            await query.answer(self.message("not_available", language_of(update)))
            raise ApplicationHandlerStop
        try:
            notice = await self._press(update, context, action, int(raw_id))
        except ReviewError as exc:
            notice = str(exc)
        await query.answer(notice[:200])
        raise ApplicationHandlerStop

    async def _press(self, update: Update, context: Context, action: str, item_id: int) -> str:
        user = update.effective_user
        assert user is not None
        actor, name = f"clinician:{user.id}", _name(user)
        if action == "claim":
            await asyncio.to_thread(self.review.claim, actor, item_id, name=name)
            return f"Claimed by {name}"
        if action == "done":
            await asyncio.to_thread(self.review.done, actor, item_id, name=name, note=None)
            return f"Marked reviewed by {name}"
        view = await asyncio.to_thread(self.review.show, actor, item_id)
        if await self.private.send(context.bot, user.id, item_id, view.full_answers, kind="full"):
            return "Full answers sent to your private chat"
        return NO_PRIVATE_CHAT.format(id=item_id, link=open_link(context.bot.username, item_id))

    # --- private summaries, guard and replies ---------------------------------------------

    async def _show_privately(
        self, update: Update, context: Context, actor: str, item_id: int
    ) -> None:
        """The summary in the clinician's private chat (a content-free word in a group)."""
        user = update.effective_user
        assert user is not None
        view = await asyncio.to_thread(self.review.show, actor, item_id)
        markup = review_keyboard(item_id, PRIVATE_BUTTONS.get(view.record.status, ()))
        sent = await self.private.send(
            context.bot, user.id, item_id, view.summary, kind="summary", markup=markup
        )
        if _in_private(update):
            return
        link = open_link(context.bot.username, item_id)
        text = SENT_PRIVATELY if sent else NO_PRIVATE_CHAT
        await self._reply(update, text.format(id=item_id, link=link))

    def _guarded(self, name: str, command: Command) -> Callback:
        async def handle(update: Update, context: Context) -> None:
            """Run the command for a clinician; deny and audit anyone else."""
            user = update.effective_user
            if user is None:
                return
            if user.id not in self.clinicians:
                await self._deny(user, f"/{name}")
                await self._reply(update, self.message("not_available", language_of(update)))
                raise ApplicationHandlerStop
            try:
                await command(update, context, f"clinician:{user.id}")
            except ReviewError as exc:
                await self._reply(update, str(exc))
            raise ApplicationHandlerStop

        return handle

    async def _deny(self, user: User, what: str) -> None:
        _LOG.info("clinician command denied: what=%s", what)
        await asyncio.to_thread(self.review.deny_user, user.id, what)

    async def _reply(self, update: Update, text: str) -> None:
        """A reply without health data (those go through `PrivateReplies`)."""
        chat = update.effective_chat
        if chat is not None:
            await chat.send_message(text, link_preview_options=NO_PREVIEW)


def _in_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _item_id(args: Sequence[str] | None) -> int | None:
    if not args:
        return None
    raw = args[0].lstrip("#")
    return int(raw) if raw.isdigit() else None


def _name(user: User | None) -> str:
    if user is None:
        return "unknown"
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))
