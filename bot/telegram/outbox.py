"""The outbox delivery worker: notices to INTAKE_REVIEW_CHAT_ID, kept current, and retractions.

A `PeriodicJob` started with the Application (a post-init hook) and stopped with it. Each
round it asks `ReviewOutbox.due()` for what Telegram is owed, sends new notices (protected,
without link previews), edits existing ones, retracts messages about erased intakes (a notice
is edited to "withdrawn"; a clinician's private message is deleted, or emptied when Telegram
no longer allows deleting it), and records the outcome. A failure (network, 5xx, a refused
chat) is retried with exponential backoff; a 429 that reaches the worker (the pacer first
retries a few itself, pausing every send) waits at least Telegram's `retry_after`. All state
is in the database, so nothing is lost across restarts. Between rounds it sleeps until the
next row is due, at most `poll` seconds, and wakes at once when the services queue something
(an emergency goes out at the moment of escalation). A round that fails (the database
unusable) is logged by event name and tried again after `poll` seconds; at stop, a round in
flight finishes (for `STOP_WAIT_SECONDS` at most). Without a review chat the worker still
runs, for retractions; notices are then skipped and intakes wait in the queue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.telegram.application import AnyApplication, Hook
from bot.telegram.periodic_job import PeriodicJob
from bot.telegram.review_texts import NO_PREVIEW, review_keyboard
from flows.review.outbox import Delivery, ReviewOutbox, Wakeup

_LOG = logging.getLogger(__name__)
POLL_SECONDS = 2.0
UNCHANGED = "message is not modified"


class OutboxWorker:
    """Delivers due outbox rows to the review chat, one round at a time."""

    def __init__(
        self,
        outbox: ReviewOutbox,
        wakeup: Wakeup,
        bot: ExtBot[Any],
        chat_id: int | None,
        *,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.wakeup = wakeup
        self.bot = bot
        self.chat_id = chat_id
        self.poll = poll
        self.job = PeriodicJob("review.outbox", self._round, every=poll, pause=wakeup.wait)

    async def start(self) -> None:
        """Start the delivery task on the running loop."""
        self.wakeup.bind()
        await self.job.start()

    async def stop(self) -> None:
        """Stop the delivery task (a round in flight finishes; what it did not send is retried
        next start)."""
        await self.job.stop()

    async def run_once(self) -> int:
        """Deliver what is due now; how many rows were handled (stops early on a 429)."""
        handled = 0
        for delivery in await asyncio.to_thread(self.outbox.due):
            if not await self._deliver(delivery):
                break
            handled += 1
        return handled

    async def _round(self) -> float | None:
        """Deliver what is due; the seconds until the next row is due (None: nothing queued)."""
        await self.run_once()
        return await asyncio.to_thread(self.outbox.seconds_to_next)

    async def _deliver(self, delivery: Delivery) -> bool:
        """Carry out one delivery; False when Telegram asked us to wait (a 429)."""
        chat_id = delivery.chat_id if delivery.chat_id is not None else self.chat_id
        if chat_id is None:  # a notice, and no review chat to put it in
            await asyncio.to_thread(self.outbox.delivered, replace(delivery, kind="skip"))
            return True
        try:
            message_id = await self._send(delivery, chat_id)
        except RetryAfter as exc:
            after = _seconds(exc.retry_after)
            await asyncio.to_thread(self.outbox.failed, delivery, "RetryAfter", after)
            _LOG.info("review outbox: asked to wait %.1f s (row %s)", after, delivery.row_id)
            return False
        except TelegramError as exc:
            error = type(exc).__name__
            await asyncio.to_thread(self.outbox.failed, delivery, error)
            _LOG.warning(
                "review outbox: %s (row %s, item %s)", error, delivery.row_id, delivery.item_id
            )
            return True
        await asyncio.to_thread(self.outbox.delivered, delivery, message_id, chat_id)
        return True

    async def _send(self, delivery: Delivery, chat_id: int) -> int | None:
        markup = review_keyboard(delivery.item_id, delivery.buttons, self.bot.username)
        if delivery.kind == "send":
            sent = await self.bot.send_message(
                chat_id,
                delivery.text,
                reply_markup=markup,
                protect_content=True,
                link_preview_options=NO_PREVIEW,
            )
            return sent.message_id
        if delivery.message_id is None:
            return None
        if delivery.kind == "delete":
            try:
                await self.bot.delete_message(chat_id, delivery.message_id)
                return None
            except BadRequest:  # too old to delete (48 h) or gone: empty it instead
                markup = None
        if delivery.kind in ("edit", "delete"):
            await self._edit(delivery, chat_id, markup)
        return None

    async def _edit(self, delivery: Delivery, chat_id: int, markup: Any) -> None:
        try:
            await self.bot.edit_message_text(
                delivery.text,
                chat_id=chat_id,
                message_id=delivery.message_id,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:  # unchanged, or deleted from the chat: nothing to redo
            if UNCHANGED not in str(exc).lower():
                _LOG.info("review outbox: message about item %s not editable", delivery.item_id)


def worker_hooks(
    outbox: ReviewOutbox, wakeup: Wakeup, chat_id: int | None, *, poll: float = POLL_SECONDS
) -> tuple[Hook, Hook]:
    """Post-init and post-stop hooks that run a worker for the Application's lifetime."""
    running: list[OutboxWorker] = []

    async def start_worker(app: AnyApplication) -> None:
        """Start delivering to the review chat with the Application's bot."""
        worker = OutboxWorker(outbox, wakeup, app.bot, chat_id, poll=poll)
        await worker.start()
        running.append(worker)

    async def stop_worker(app: AnyApplication) -> None:
        """Stop the worker started with the Application."""
        while running:
            await running.pop().stop()

    return start_worker, stop_worker


def _seconds(after: float | timedelta) -> float:
    return after.total_seconds() if isinstance(after, timedelta) else float(after)
