"""Reloading the active flow while the bot runs: on SIGHUP, and when its files change.

`FlowReloader` runs inside the bot's event loop (polling and webhook mode alike, started and
stopped by the Application's hooks). It polls the flow files' fingerprint every
`INTAKE_FLOW_WATCH_SECONDS` (0: only SIGHUP) and reloads in a worker thread, so turns go on
meanwhile. A new valid version becomes the one new intakes start on; intakes in progress stay
on theirs; an invalid file, or a changed one that kept its version, is refused with its
problems in the log and the current version kept. Nothing a reload does stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from flows.registry import ACTIVATED, REFUSED, FlowRegistry, Reload
from flows.watch import FlowFiles

log = logging.getLogger(__name__)


class FlowReloader:
    """Watches the active flow's files and reloads the registry when asked or they change."""

    def __init__(self, registry: FlowRegistry, files: FlowFiles, interval: float) -> None:
        self.registry = registry
        self.files = files
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen = files.fingerprint()

    async def start(self, *_: object) -> None:
        """Listen for SIGHUP and start watching (an Application post-init hook)."""
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        loop.add_signal_handler(signal.SIGHUP, self._wake.set)
        self._task = loop.create_task(self._watch(), name="flow-reloader")
        log.info("flow.watching files=%d every=%ss", len(self.files.paths()), self.interval)

    async def stop(self, *_: object) -> None:
        """Stop listening and watching (an Application post-stop hook)."""
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            reason = await self._next_reason()
            if reason is not None:
                await self.reload(reason)

    async def _next_reason(self) -> str | None:
        """Wait for SIGHUP or the next poll; why to reload now, if at all."""
        try:
            await asyncio.wait_for(self._wake.wait(), self.interval or None)
            self._wake.clear()
            return "SIGHUP"
        except TimeoutError:
            seen = await asyncio.to_thread(self.files.fingerprint)
            return "file change" if seen != self._seen else None

    async def reload(self, reason: str) -> Reload | None:
        """Reload the registry in a worker thread and log what happened."""
        self._seen = await asyncio.to_thread(self.files.fingerprint)
        try:
            result = await asyncio.to_thread(self.registry.reload)
        except Exception as exc:  # e.g. the database is down: keep serving, say so
            log.error("flow.reload_failed reason=%s error=%s", reason, type(exc).__name__)
            return None
        report(result, reason)
        return result


def report(result: Reload, reason: str) -> None:
    """One log line for the reload, and one per problem of a refused file."""
    where = f"flow={result.flow_id} version={result.version} reason={reason}"
    if result.result == ACTIVATED:
        log.info("flow.activated %s", where)
    elif result.result == REFUSED:
        log.error("flow.refused %s (still active): %d problem(s)", where, len(result.problems))
        for problem in result.problems:
            log.error("flow.problem %s", problem)
    else:
        log.info("flow.unchanged %s", where)
