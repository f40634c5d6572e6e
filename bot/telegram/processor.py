"""The per-chat update processor: one patient's updates strictly in order, chats concurrently.

PTB hands every update to `do_process_update` in arrival order. Each chat has an
`asyncio.Lock` (FIFO), so a patient's second message waits for the first turn to finish, while
other chats go ahead. A second, smaller semaphore taken *after* the chat lock bounds the number
of turns actually running; taking it after the lock means a patient who sends a burst only
occupies one running slot. Locks of idle chats are dropped, so memory follows the number of
chats with updates in flight, not the number of patients ever seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own semaphore wraps do_process_update before our chat lock; it must never be the
# bottleneck, or a burst from one chat would fill it and stall every other chat.
QUEUED_UPDATES_LIMIT = 100_000


class _ChatLock:
    """A lock and the number of updates holding or awaiting it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatSerialProcessor(BaseUpdateProcessor):
    """Serialises updates per chat and runs at most `running` turns at a time."""

    def __init__(self, running: int = 64) -> None:
        super().__init__(max_concurrent_updates=QUEUED_UPDATES_LIMIT)
        self._running = asyncio.Semaphore(running)
        self._chats: dict[int, _ChatLock] = {}

    @property
    def active_chats(self) -> int:
        """How many chats have an update being handled or waiting."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handlers once its chat's earlier updates are done."""
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        entry = self._chats.get(key)
        if entry is None:
            entry = self._chats[key] = _ChatLock()
        entry.users += 1
        try:
            async with entry.lock, self._running:
                await coroutine
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._chats[key]

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
