"""Replies that may have been lost: sent again by the instance that takes over.

A reply goes out after its turn commits, and the update stays `applied` in the inbox until the
reply went out (`InboxQueue.delivered`, recorded a few times a second in one statement). An
instance killed in between leaves applied updates behind. When it starts again it sends their
patients what stands in for the lost reply (`IntakeService.replay`: the red flag's message,
then where the intake stands); updates left by an instance that does not come back are taken
over by another as soon as it is found dead. Each resend runs as one of the patient's turns
(after the ones before it, alone), so it never interleaves with a live turn of theirs, and is
dropped if, by then, the patient has sent anything newer (that update has its own reply, and
a resend would repeat or cross it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.telegram.delivery import Delivery
from bot.telegram.inbox import InboxQueue
from bot.telegram.processor import ChatSerialProcessor
from bot.telegram.service import PatientService

_LOG = logging.getLogger(__name__)


class Replayer:
    """Sends patients what they may have missed when an instance died."""

    def __init__(
        self,
        intake: PatientService,
        delivery: Delivery,
        processor: ChatSerialProcessor,
        queue: InboxQueue,
    ) -> None:
        self.intake = intake
        self.delivery = delivery
        self.processor = processor
        self.queue = queue
        self.resent = 0

    async def resend(self, *, own: bool = False) -> None:
        """Resend to every patient with an owed reply (ours too, with `own`: we restarted)."""
        owed = await self.queue.owed(own=own)
        chats = [(chat, ids) for chat, ids in owed.items() if chat > 0]  # patients' own chats
        await asyncio.gather(
            *(self.processor.in_turn(chat, self._turn(chat, ids)) for chat, ids in chats)
        )

    def _turn(self, chat: int, update_ids: list[int]) -> Callable[[], Awaitable[None]]:
        async def resend_one() -> None:
            try:
                if await self.queue.overtaken(chat, update_ids):
                    for update_id in update_ids:
                        self.queue.delivered(update_id)
                    _LOG.info("reply.overtaken update_id=%s", min(update_ids))
                    return
                turn = await self.intake.replay(user_id=chat)
                await self.delivery.deliver(chat, turn, language=None)
            except Exception as exc:  # left owed: the next start of this instance tries again
                first = min(update_ids)  # the update, not the chat: a chat id is the patient's
                _LOG.error("reply.resend_failed update_id=%s error=%s", first, type(exc).__name__)
                return
            self.resent += 1
            for update_id in update_ids:
                self.queue.delivered(update_id)
            _LOG.info("reply.resent update_id=%s updates=%s", min(update_ids), len(update_ids))

        return resend_one
