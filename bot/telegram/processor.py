"""The per-chat update processor: one patient's updates strictly in order, chats concurrently.

PTB hands every update to `do_process_update` in arrival order. Each chat has an
`asyncio.Lock` (FIFO), so a patient's second message waits for the first turn to finish, while
other chats go ahead. A second, smaller semaphore taken *after* the chat lock bounds the number
of turns actually running; taking it after the lock means a patient who sends a burst only
occupies one running slot. Locks of idle chats are dropped, so memory follows the number of
chats with updates in flight, not the number of patients ever seen.

Across processes the inbox keeps the order (`storage.inbox.claim`): a turn whose patient has
an older update still pending (received by another instance, or left by a crash) is deferred,
and this processor applies the older ones first, then the deferred one again. An update no
turn claimed (a command with no turn, a failed turn) is closed in the inbox afterwards.
`bot.telegram.tracking.Mark` (set around each update) is how the turn reports back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.telegram.tracking import MARK, Mark

_LOG = logging.getLogger(__name__)
# PTB's own semaphore wraps do_process_update before our chat lock; it must never be the
# bottleneck, or a burst from one chat would fill it and stall every other chat.
QUEUED_UPDATES_LIMIT = 100_000
CATCH_UP_ROUNDS = 3  # deferred this often in a row: queue it again a little later


class InboxPort(Protocol):
    """What the processor needs of the inbox (see `bot.telegram.inbox`)."""

    unsaved: set[int]

    def applied(self, update_id: int) -> None:
        """Forget an update the processor is done with."""

    async def older_than(self, update: Update) -> list[Update]:
        """The chat's pending updates older than `update`, oldest first."""

    async def close(self, update_id: int, *, failed: bool) -> None:
        """Close an update no turn claimed."""

    def retry_later(self, update: Update) -> None:
        """Queue an update again in a moment."""

    def delivered(self, update_id: int) -> None:
        """Note that an applied update's reply went out."""


class _ChatLock:
    """A lock and the number of updates holding or awaiting it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatSerialProcessor(BaseUpdateProcessor):
    """Serialises updates per chat, runs at most `running` turns at a time, keeps inbox order."""

    def __init__(self, running: int = 64) -> None:
        super().__init__(max_concurrent_updates=QUEUED_UPDATES_LIMIT)
        self._running = asyncio.Semaphore(running)
        self._chats: dict[int, _ChatLock] = {}
        self._inbox: InboxPort | None = None
        self._process: Callable[[object], Awaitable[None]] | None = None

    def attach(self, inbox: InboxPort, process: Callable[[object], Awaitable[None]]) -> None:
        """Keep inbox order: `process` runs an update's handlers (`Application.process_update`)."""
        self._inbox, self._process = inbox, process

    @property
    def active_chats(self) -> int:
        """How many chats have an update being handled or waiting."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handlers once its chat's earlier updates are done."""
        key = chat_key(update)
        if key is None:
            async with self._running:
                await self._apply(update, coroutine)
            return
        await self.in_turn(key, lambda: self._apply(update, coroutine))

    async def in_turn(self, chat: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` for `chat` as one of its turns: after the ones before, alone."""
        entry = self._chats.get(chat)
        if entry is None:
            entry = self._chats[chat] = _ChatLock()
        entry.users += 1
        try:
            async with entry.lock, self._running:
                await work()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._chats[chat]

    async def _apply(self, update: object, coroutine: Awaitable[Any]) -> None:
        inbox = self._inbox
        if inbox is None or not isinstance(update, Update):
            await coroutine
            return
        mark = Mark(update.update_id)
        try:
            mark = await self._run(update, coroutine)
            if mark.deferred:
                mark = await self._catch_up(update)
            if mark.applied and not mark.broken:
                inbox.delivered(update.update_id)
                _LOG.info("turn.replied update_id=%s", update.update_id)
            if not (mark.claimed or mark.unsaved or mark.deferred):
                await inbox.close(update.update_id, failed=mark.failed)
        finally:
            inbox.applied(update.update_id)
            if mark.deferred:  # the older update is still being applied elsewhere
                inbox.retry_later(update)

    async def _run(self, update: Update, coroutine: Awaitable[Any]) -> Mark:
        assert self._inbox is not None
        mark = Mark(update.update_id, unsaved=update.update_id in self._inbox.unsaved)
        token = MARK.set(mark)
        try:
            await coroutine
        finally:
            MARK.reset(token)
        return mark

    async def _catch_up(self, update: Update) -> Mark:
        """Apply the chat's older pending updates, then `update` again; its last mark."""
        assert self._inbox is not None
        assert self._process is not None
        mark = Mark(update.update_id, deferred=True)
        for attempt in range(CATCH_UP_ROUNDS):
            for older in await self._inbox.older_than(update):
                _LOG.info("turn.caught_up update_id=%s", older.update_id)
                await self._apply(older, self._process(older))
            mark = await self._run(update, self._process(update))
            if not mark.deferred:
                return mark
            await asyncio.sleep(0.05 * 2**attempt)
        _LOG.info("inbox.deferred update_id=%s", update.update_id)  # queued again shortly
        return mark

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release; PTB awaits the running updates before this."""


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (the user for chat-less updates), or None."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
