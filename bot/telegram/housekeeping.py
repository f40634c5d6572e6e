"""Housekeeping in the running bot, and the figures operators read on /healthz.

Its jobs, each a `PeriodicJob` on its own clock, start with the Application (a post-init hook,
after the inbox's pending updates are queued again and lost replies resent) and stop with it:

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
on. At stop, a job in flight finishes (for `STOP_WAIT_SECONDS` at most), and so do replies
being resent. `Vitals` counts what went wrong and what was swept since start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.telegram.inbox import SWEEP_SECONDS, InboxQueue
from bot.telegram.periodic_job import STOP_WAIT_SECONDS, PeriodicJob, attempt, settle
from bot.telegram.replay import Replayer
from flows.intake.abandonment import IdleSweeper

DELIVERED_SECONDS = 0.25  # at most this long between records of delivered replies
MAX_IDLE_CHECK = 900.0
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
    _jobs: list[PeriodicJob] = field(default_factory=list, init=False)
    _resends: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    @property
    def idle_check(self) -> float:
        """Seconds between idle sweeps: a tenth of the idle time, at most 15 minutes."""
        return max(1.0, min(MAX_IDLE_CHECK, self.sweeper.idle.total_seconds() / 10))

    async def start(self) -> None:
        """Queue the inbox's pending updates again and resend replies this process may have
        lost before it restarted; then run the jobs in the background."""
        await attempt("inbox.resume", lambda: self.queue.resume(own=True))
        self._resend(own=True)
        self._jobs = [
            PeriodicJob("inbox.adopt", self.adopt, every=SWEEP_SECONDS),
            PeriodicJob("intake.idle_sweep", self.sweep_idle, every=self.idle_check),
            PeriodicJob(
                "inbox.delivered",
                self.queue.record_delivered,
                every=DELIVERED_SECONDS,
                first=DELIVERED_SECONDS,
                pause=self._until_noted,
            ),
        ]
        for job in self._jobs:
            await job.start()

    async def stop(self) -> None:
        """Stop the jobs: one in flight finishes (its database work would go on in its thread
        anyway), unless it takes longer than `STOP_WAIT_SECONDS`; then record what went out."""
        jobs, self._jobs = self._jobs, []
        resends = settle(list(self._resends), STOP_WAIT_SECONDS)
        await asyncio.gather(resends, *(job.stop() for job in jobs))
        await attempt("inbox.delivered", self.queue.record_delivered)
        self.queue.store.release_name()

    async def _until_noted(self, seconds: float) -> None:
        """Wait until a delivered reply is noted, `seconds` at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.noted.wait(), seconds)

    async def adopt(self) -> None:
        """Beat the heartbeat; take over what instances that died left: updates and replies."""
        await self.queue.resume()
        self._resend(own=False)

    def _resend(self, *, own: bool) -> None:
        """Resend owed replies in the background (they wait for their patients' turns)."""
        name = "reply.resend"
        task = asyncio.create_task(attempt(name, lambda: self.replayer.resend(own=own)))
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    async def sweep_idle(self) -> None:
        """Close idle intakes; count them."""
        swept = await asyncio.to_thread(self.sweeper.sweep)
        self.vitals.abandoned += swept.abandoned
        self.vitals.abandoned_queued += swept.queued
