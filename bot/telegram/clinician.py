"""The clinician side on Telegram: /queue, /show, /claim, /done, /stats and the review-card buttons.

Commands are taken in private chats with the bot and in the review chat, and only from the user
ids of INTAKE_CLINICIAN_IDS. Anyone else gets the flow's `not_available` message, no data, and
an `access.denied` audit event. /claim without an id takes the most urgent pending item.
Handlers sit in the application's extra group (before the patient handlers) and stop a handled
private update from reaching them. Card buttons carry `r:<action>:<item id>` (far below
Telegram's 64 bytes): Claim, Reviewed and Full answers. Replies are clinician-facing and live
here; the denial is patient-facing and lives in the flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.telegram.inbound import language_of
from flows.engine.records.record import ReviewRecord, priority_words
from flows.engine.records.summary import split_text, timestamp
from flows.review.outbox import BUTTONS
from flows.review.records import ReviewError
from flows.review.service import ReviewService

_LOG = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
Message = Callable[[str, str | None], str]
BUTTON_LABELS = {"claim": "Claim", "done": "Reviewed", "full": "Full answers"}
BUTTON_PATTERN = r"^r:(claim|done|full):(\d+)$"
QUEUE_PAGE = 20  # /queue lists this many pending items, the most urgent
USAGE = {
    "show": "Usage: /show ID",
    "claim": "Usage: /claim ID (or /claim alone for the most urgent pending item)",
    "done": "Usage: /done ID note",
}


def review_keyboard(item_id: int, buttons: Sequence[str]) -> InlineKeyboardMarkup | None:
    """The card's buttons (claim, done, full) as one row, or None for none."""
    if not buttons:
        return None
    row = [
        InlineKeyboardButton(BUTTON_LABELS[b], callback_data=f"r:{b}:{item_id}") for b in buttons
    ]
    return InlineKeyboardMarkup([row])


def queue_text(records: Sequence[ReviewRecord], page: int = QUEUE_PAGE) -> str:
    """The /queue reply: one line per pending item, most urgent first (the first `page`)."""
    if not records:
        return "The queue is empty."
    more = len(records) > page
    head = f"Pending: more than {page}, the {page} most urgent:" if more else None
    lines = [head or f"Pending: {len(records)}"]
    for r in records[:page]:
        flags = ", ".join(f.id for f in r.red_flags)
        lines.append(
            f"#{r.item_id} {priority_words(r.priority)} · queued {timestamp(r.queued_at)}"
            + (f" · flags: {flags}" if flags else "")
        )
    return "\n".join(lines)


def stats_text(counts: dict[tuple[str, str], int]) -> str:
    """The /stats reply: items per status, and pending ones per priority."""
    statuses: dict[str, int] = {}
    for (status, _), n in counts.items():
        statuses[status] = statuses.get(status, 0) + n
    lines = ["Review items:"] + [f"{s}: {n}" for s, n in sorted(statuses.items())]
    for priority in ("emergency", "same_day", "soon", "routine"):
        n = counts.get(("pending", priority), 0)
        if n:
            lines.append(f"pending {priority_words(priority)}: {n}")
    return "\n".join(lines)


class ClinicianHandlers:
    """Callbacks for clinician commands and card buttons, guarded by the allow-list."""

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

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """The command and button handlers, for the application's extra group."""
        where: filters.BaseFilter = filters.ChatType.PRIVATE
        if self.review_chat is not None:
            where = where | filters.Chat(chat_id=self.review_chat)
        commands = {
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
        found.append(CallbackQueryHandler(self.handle_button, pattern=BUTTON_PATTERN))
        return found

    # --- commands --------------------------------------------------------------------------

    async def handle_queue(self, update: Update, context: Context, actor: str) -> None:
        """Reply with the pending items, most urgent first."""
        records = await asyncio.to_thread(self.review.queue, actor, QUEUE_PAGE + 1)
        await self._reply(update, queue_text(records))

    async def handle_show(self, update: Update, context: Context, actor: str) -> None:
        """Reply with one item's summary, with its buttons."""
        item_id = _item_id(context.args)
        if item_id is None:
            await self._reply(update, USAGE["show"])
            return
        view = await asyncio.to_thread(self.review.show, actor, item_id)
        buttons = BUTTONS.get(view.record.status, ())
        await self._reply(update, view.summary, review_keyboard(item_id, buttons))

    async def handle_claim(self, update: Update, context: Context, actor: str) -> None:
        """Claim an item (or, without an id, the most urgent pending one) for the clinician."""
        name = _name(update.effective_user)
        if not context.args:
            found = await asyncio.to_thread(self.review.claim_next, actor, name=name)
            if found is None:
                await self._reply(update, "The queue is empty.")
                return
            view = await asyncio.to_thread(self.review.show, actor, found.item_id)
            await self._reply(
                update, view.summary, review_keyboard(found.item_id, ("done", "full"))
            )
            return
        item_id = _item_id(context.args)
        if item_id is None:
            await self._reply(update, USAGE["claim"])
            return
        record = await asyncio.to_thread(self.review.claim, actor, item_id, name=name)
        await self._reply(update, f"Review #{record.item_id} claimed by {record.claimed_by}.")

    async def handle_done(self, update: Update, context: Context, actor: str) -> None:
        """Mark an item reviewed with the note that follows its id."""
        args = list(context.args or [])
        item_id = _item_id(args)
        if item_id is None:
            await self._reply(update, USAGE["done"])
            return
        note = " ".join(args[1:]) or None
        name = _name(update.effective_user)
        record = await asyncio.to_thread(self.review.done, actor, item_id, name=name, note=note)
        done = f"Review #{record.item_id} marked reviewed by {record.claimed_by}."
        await self._reply(update, done)

    async def handle_stats(self, update: Update, context: Context, actor: str) -> None:
        """Reply with counts per status and pending priority."""
        counts = await asyncio.to_thread(self.review.stats, actor)
        await self._reply(update, stats_text(counts))

    # --- buttons ---------------------------------------------------------------------------

    async def handle_button(self, update: Update, context: Context) -> None:
        """Claim, mark reviewed or show the full answers of a card's item."""
        query = update.callback_query
        user = update.effective_user
        if query is None or query.data is None or user is None:
            return
        _, action, raw_id = query.data.split(":")
        item_id = int(raw_id)
        if user.id not in self.clinicians:
            await self._deny(user, f"button:{action}")
            await query.answer(self.message("not_available", language_of(update)))
            raise ApplicationHandlerStop
        actor = f"clinician:{user.id}"
        try:
            notice = await self._press(update, actor, action, item_id)
        except ReviewError as exc:
            notice = str(exc)
        await query.answer(notice[:200])
        raise ApplicationHandlerStop

    async def _press(self, update: Update, actor: str, action: str, item_id: int) -> str:
        name = _name(update.effective_user)
        if action == "claim":
            await asyncio.to_thread(self.review.claim, actor, item_id, name=name)
            return f"Claimed by {name}"
        if action == "done":
            await asyncio.to_thread(self.review.done, actor, item_id, name=name, note=None)
            return f"Marked reviewed by {name}"
        view = await asyncio.to_thread(self.review.show, actor, item_id)
        await self._reply(update, view.full_answers)
        return "Full answers sent"

    # --- guard and replies -----------------------------------------------------------------

    def _guarded(
        self, name: str, command: Callable[[Update, Context, str], Coroutine[Any, Any, None]]
    ) -> Callback:
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
        _LOG.info("clinician command denied: user=%s what=%s", user.id, what)
        await asyncio.to_thread(self.review.deny, f"telegram:{user.id}", what)

    async def _reply(
        self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        parts = split_text(text)
        for part in parts[:-1]:
            await chat.send_message(part)
        await chat.send_message(parts[-1], reply_markup=markup)


def _item_id(args: Sequence[str] | None) -> int | None:
    if not args:
        return None
    raw = args[0].lstrip("#")
    return int(raw) if raw.isdigit() else None


def _name(user: User | None) -> str:
    if user is None:
        return "unknown"
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))
