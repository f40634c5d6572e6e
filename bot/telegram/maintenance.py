"""The running bot's periodic retention purge: an asyncio task started and stopped with it.

Every `interval` seconds (an hour by default, the first run shortly after start-up) the task runs
`Retention.purge` in a worker thread, logs the counts, and wakes the review outbox when
messages are owed a retraction. A failed run is logged (no contents) and tried again at the
next interval; the bot goes on either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.telegram.application import AnyApplication, Hook
from flows.retention import Retention
from storage.database import StorageError

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
        self.interval = interval
        self.first = first
        self.notify = notify or (lambda: None)
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def start(self) -> None:
        """Start the periodic task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="retention-purge")

    async def stop(self) -> None:
        """Stop it (a purge in flight finishes its batch in its thread)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def run_once(self) -> None:
        """One purge, now."""
        try:
            report = await asyncio.to_thread(self.retention.purge)
        except StorageError as exc:
            _LOG.error("retention purge: database unusable: %s", exc)
            return
        except Exception:  # keep the bot running whatever one purge does
            _LOG.exception("retention purge failed")
            return
        finally:
            self.runs += 1
        if report.total:
            _LOG.info("retention purge: %s", report.describe())
        if report.counts.get("messages_retracted"):
            self.notify()

    async def _run(self) -> None:
        await asyncio.sleep(self.first)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)


def purge_hooks(task: PurgeTask) -> tuple[Hook, Hook]:
    """Post-init and post-stop hooks that run the purge task for the Application's lifetime."""

    async def start_purging(app: AnyApplication) -> None:
        """Start the periodic purge."""
        await task.start()

    async def stop_purging(app: AnyApplication) -> None:
        """Stop the periodic purge."""
        await task.stop()

    return start_purging, stop_purging
