"""What each update's turn did with its inbox row, reported back to the processor.

The processor sets a `Mark` in a context variable around the handlers of one update;
`TrackedService` wraps the intake service the handlers call and records on it whether the turn
claimed the update, was deferred behind an older one, or failed. For an update the inbox could
not store, it answers with the failed-turn reply straight away (nothing would be stored).
Handlers stay unaware of the inbox.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass

from bot.telegram.service import Deletion, PatientService
from flows.engine.conversation.values import Inbound, Turn


@dataclass(slots=True)
class Mark:
    """What the turn of one update did with its inbox row."""

    update_id: int
    unsaved: bool = False  # the inbox refused it: answer with the fallback, store nothing
    claimed: bool = False  # a turn applied it (or found it applied before)
    applied: bool = False  # this turn applied it: its reply is owed until delivered
    deferred: bool = False  # an older update of the chat must be applied first
    failed: bool = False  # the turn failed and answered with the fallback
    broken: bool = False  # a handler raised (the reply may not have gone out)


MARK: contextvars.ContextVar[Mark | None] = contextvars.ContextVar("inbox_mark", default=None)


class TrackedService:
    """The intake service as the handlers see it, reporting each turn on the current `Mark`."""

    def __init__(self, inner: PatientService) -> None:
        self.inner = inner

    async def handle(self, inbound: Inbound) -> Turn:
        """Run the turn (or the fallback for an unsaved update) and note what it did."""
        mark = MARK.get()
        if mark is None or mark.update_id != inbound.update_id:
            return await self.inner.handle(inbound)
        if mark.unsaved:
            return await asyncio.to_thread(self.inner.fallback, inbound)
        turn = await self.inner.handle(inbound)
        mark.deferred, mark.failed = turn.deferred, turn.failed
        mark.claimed = not (turn.deferred or turn.failed)
        mark.applied = mark.claimed and not turn.duplicate
        return turn

    def fallback(self, inbound: Inbound) -> Turn:
        """The failed-turn reply (see the intake service)."""
        return self.inner.fallback(inbound)

    async def delete_patient(self, *, user_id: int, language: str | None = None) -> Deletion:
        """Erase everything about a patient (but what a legal duty keeps)."""
        return await self.inner.delete_patient(user_id=user_id, language=language)

    async def patient_copy(self, *, user_id: int, language: str | None = None) -> list[str]:
        """The lines of the patient's copy of everything stored about them."""
        return await self.inner.patient_copy(user_id=user_id, language=language)

    async def save_contact(self, *, user_id: int, phone: str) -> str | None:
        """Keep the patient's own call-back number (sealed); the intake status, None if none."""
        return await self.inner.save_contact(user_id=user_id, phone=phone)

    async def mark_unreachable(self, *, user_id: int) -> None:
        """Record that the patient blocked the bot."""
        await self.inner.mark_unreachable(user_id=user_id)

    async def replay(self, *, user_id: int, language: str | None = None) -> Turn:
        """What to send a patient whose last reply may have been lost."""
        return await self.inner.replay(user_id=user_id, language=language)

    def message(self, key: str, language: str | None = None) -> str:
        """A `messages:` text of the active flow."""
        return self.inner.message(key, language)

    @property
    def failures(self) -> int:
        """Failed turns since start."""
        return self.inner.failures

    @property
    def languages(self) -> list[str]:
        """The active flow's languages, the default first."""
        return self.inner.languages
