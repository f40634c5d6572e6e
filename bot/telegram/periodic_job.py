"""A job the running bot repeats in the background, started and stopped with the Application.

`PeriodicJob` runs its job in one asyncio task, pauses, and runs it again until stopped. The
pause is `every` seconds, or less when the job returns a shorter one (the review outbox knows
when its next row is due); `pause` is what waits, `asyncio.sleep` unless the owner can be woken
early (something was queued). A job that raises is logged by its event name and the error's
type only (never contents) and runs again after `every`; the bot goes on. `stop` ends a pause at
once and lets a job in flight finish (its database work would go on in its thread anyway, and a
job cancelled halfway could leave the database busy while the bot is torn down), unless it takes
longer than `STOP_WAIT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

_LOG = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 5.0  # at stop: how long a job in flight may take to finish
MIN_PAUSE = 0.01  # the shortest pause between two runs, whatever the job asks for

T = TypeVar("T")
Job = Callable[[], Awaitable[float | None]]  # returns seconds to the next run, or None: `every`
Pause = Callable[[float], Awaitable[object]]  # waits at most that many seconds


class PeriodicJob:
    """Runs one job again and again in an asyncio task until stopped."""

    def __init__(
        self,
        name: str,
        job: Job,
        *,
        every: float,
        first: float = 0.0,
        pause: Pause = asyncio.sleep,
    ) -> None:
        self.name = name  # the event name its failures are logged under
        self.job = job
        self.every = every
        self.first = first  # the pause before the first run
        self.pause = pause
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._stopping = False

    async def start(self) -> None:
        """Start repeating the job on the running loop."""
        self._stopping = False
        self._task = asyncio.create_task(self._repeat(), name=self.name)

    async def stop(self) -> None:
        """Stop: a pause ends at once; a job in flight finishes, for `STOP_WAIT_SECONDS` at most."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if not self._busy:
            task.cancel()
        await settle([task], STOP_WAIT_SECONDS)

    async def _repeat(self) -> None:
        wait = self.first
        while True:
            if wait > 0:
                await self.pause(wait)
            self._busy = True
            try:
                asked = await attempt(self.name, self.job)
            finally:
                self._busy = False
            if self._stopping:
                return
            wait = self.every if asked is None else max(MIN_PAUSE, min(self.every, asked))


async def attempt(name: str, job: Callable[[], Awaitable[T]]) -> T | None:
    """Run a job once; if it raises, log the event name and the error's type, and give None."""
    try:
        return await job()
    except Exception as exc:  # the next run tries again; the bot goes on
        _LOG.error("%s failed: %s", name, type(exc).__name__)
        return None


async def settle(tasks: Iterable[asyncio.Task[Any]], timeout: float) -> None:
    """Wait for tasks to finish, `timeout` seconds at most; cancel (and await) the late ones."""
    waiting = list(tasks)
    if not waiting:
        return
    _, late = await asyncio.wait(waiting, timeout=timeout)
    for task in late:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
