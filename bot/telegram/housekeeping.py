"""Housekeeping in the running bot, and the figures operators read on /healthz.

One asyncio task, started with the Application (a post-init hook, after the inbox's pending
updates are queued again and lost replies resent) and stopped with it, does its jobs on their
own clocks:

- as soon as a reply went out: record which applied updates' replies went out (one statement
  for all noted while the previous one ran, so the busier the bot the larger the batch). Until
  it is recorded, a kill makes the instance that takes over send the reply again: the sooner,
  the fewer replies doubled;
- every `SWEEP_SECONDS`: beat the instance's heartbeat, queue the updates left pending by an
  instance that stopped beating (`bot.telegram.inbox`) and resend the replies it may have lost
  (`bot.telegram.replay`);
- every `idle_check` (a tenth of INTAKE_ABANDON_AFTER_HOURS, at most 15 minutes): close intakes
  idle for longer than that as `abandoned` (`flows.intake.abandonment`).

Applied inbox rows are deleted by the retention purge (`bot.telegram.maintenance`, after
INTAKE_RETAIN_UPDATES_DAYS), not here.

A job that fails (the database unreachable) is logged and tried again next time; the others go
on. `Vitals` counts what went wrong and what was swept since start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.telegram.inbox import SWEEP_SECONDS, InboxQueue
from bot.telegram.replay import Replayer
from flows.intake.abandonment import IdleSweeper

_LOG = logging.getLogger(__name__)
DELIVERED_SECONDS = 0.25  # at most this long between records of delivered replies
MAX_IDLE_CHECK = 900.0
STOP_WAIT_SECONDS = 5.0  # at stop: how long a job in flight may take to finish
VITALS = "vitals"  # key of the `Vitals` in `Application.bot_data`


@dataclass
class Vitals:
    """What went wrong and what was swept since start (in-memory, per process)."""

    failed_turns: Callable[[], int]  # the intake service's fail-safe count
    inbox: InboxQueue
    handler_failures: int = 0  # updates whose handlers raised (a reply failed, a command broke)
    abandoned: int = 0
    abandoned_queued: int = 0

    def count_handler_failure(self) -> None:
        """Count one update whose handlers raised."""
        self.handler_failures += 1

    def snapshot(self) -> dict[str, int]:
        """The figures as JSON-ready numbers."""
        return {
            "failed_turns": self.failed_turns(),
            "failed_handlers": self.handler_failures,
            "unsaved_updates": self.inbox.write_failures,
            "queued_updates": len(self.inbox.queued),
            "abandoned_intakes": self.abandoned,
            "abandoned_queued": self.abandoned_queued,
        }


@dataclass
class Housekeeping:
    """The periodic jobs of one running bot."""

    queue: InboxQueue
    sweeper: IdleSweeper
    vitals: Vitals
    replayer: Replayer
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _recorder: asyncio.Task[None] | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _resends: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    @property
    def idle_check(self) -> float:
        """Seconds between idle sweeps: a tenth of the idle time, at most 15 minutes."""
        return max(1.0, min(MAX_IDLE_CHECK, self.sweeper.idle.total_seconds() / 10))

    async def start(self) -> None:
        """Queue the inbox's pending updates again and resend replies this process may have
        lost before it restarted; then run the jobs in the background."""
        self._stopping.clear()
        await self._guarded("inbox.resume", lambda: self.queue.resume(own=True))
        self._resend(own=True)
        self._task = asyncio.create_task(self._run(), name="housekeeping")
        self._recorder = asyncio.create_task(self._record_replies(), name="inbox.delivered")

    async def stop(self) -> None:
        """Stop the jobs: one in flight finishes (its database work would go on in its thread
        anyway), unless it takes longer than `STOP_WAIT_SECONDS`."""
        self._stopping.set()
        tasks = [t for t in (self._task, self._recorder, *self._resends) if t is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_WAIT_SECONDS)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        await self._guarded("inbox.delivered", self.queue.record_delivered)
        self.queue.store.release_name()

    async def _run(self) -> None:
        jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
            ("inbox.adopt", SWEEP_SECONDS, self.adopt),
            ("intake.idle_sweep", self.idle_check, self.sweep_idle),
        ]
        due = dict.fromkeys((name for name, _, _ in jobs), time.monotonic())
        while not self._stopping.is_set():
            now = time.monotonic()
            for name, every, job in jobs:
                if now >= due[name] and not self._stopping.is_set():
                    await self._guarded(name, job)
                    due[name] = time.monotonic() + every
            with contextlib.suppress(TimeoutError):
                pause = max(0.05, min(due.values()) - time.monotonic())
                await asyncio.wait_for(self._stopping.wait(), pause)

    async def _record_replies(self) -> None:
        """Forever: record delivered replies as soon as one is noted (at least every
        `DELIVERED_SECONDS`, should a record have failed)."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.noted.wait(), DELIVERED_SECONDS)
            await self._guarded("inbox.delivered", self.queue.record_delivered)

    async def adopt(self) -> None:
        """Beat the heartbeat; take over what instances that died left: updates and replies."""
        await self.queue.resume()
        self._resend(own=False)

    def _resend(self, *, own: bool) -> None:
        """Resend owed replies in the background (they wait for their patients' turns)."""
        name = "reply.resend"
        task = asyncio.create_task(self._guarded(name, lambda: self.replayer.resend(own=own)))
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    async def sweep_idle(self) -> None:
        """Close idle intakes; count them."""
        swept = await asyncio.to_thread(self.sweeper.sweep)
        self.vitals.abandoned += swept.abandoned
        self.vitals.abandoned_queued += swept.queued

    async def _guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        try:
            await job()
        except Exception as exc:  # the next round tries again; other jobs go on
            _LOG.error("%s failed: %s", name, type(exc).__name__)
