"""The running bot's periodic retention purge: a `PeriodicJob` started and stopped with it.

Every `interval` seconds (an hour by default, the first run shortly after start-up) the job runs
`Retention.purge` in a worker thread, logs the counts, and wakes the review outbox when
messages are owed a retraction. A failed run is logged (event name and error type, no contents)
and tried again at the next interval; the bot goes on either way. At stop, a purge in flight
finishes its batch (for `STOP_WAIT_SECONDS` at most).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.telegram.application import AnyApplication, Hook
from bot.telegram.periodic_job import PeriodicJob
from flows.retention import Retention

_LOG = logging.getLogger(__name__)
PURGE_INTERVAL = 3600.0
FIRST_DELAY = 60.0


class PurgeTask:
    """Runs the retention purge at an interval."""

    def __init__(
        self,
        retention: Retention,
        *,
        interval: float = PURGE_INTERVAL,
        first: float = FIRST_DELAY,
        notify: Callable[[], None] | None = None,
    ) -> None:
        self.retention = retention
        self.notify = notify or (lambda: None)
        self.job = PeriodicJob("retention.purge", self.run_once, every=interval, first=first)
        self.runs = 0

    async def start(self) -> None:
        """Start the periodic purge on the running loop."""
        await self.job.start()

    async def stop(self) -> None:
        """Stop it (a purge in flight finishes its batch)."""
        await self.job.stop()

    async def run_once(self) -> None:
        """One purge, now (a failure is raised, for the periodic job to log)."""
        try:
            report = await asyncio.to_thread(self.retention.purge)
        finally:
            self.runs += 1
        if report.total:
            _LOG.info("retention purge: %s", report.describe())
        if report.counts.get("messages_retracted"):
            self.notify()


def purge_hooks(task: PurgeTask) -> tuple[Hook, Hook]:
    """Post-init and post-stop hooks that run the purge task for the Application's lifetime."""

    async def start_purging(app: AnyApplication) -> None:
        """Start the periodic purge."""
        await task.start()

    async def stop_purging(app: AnyApplication) -> None:
        """Stop the periodic purge."""
        await task.stop()

    return start_purging, stop_purging
