"""The running bot's repeated jobs (housekeeping, retention purge, review outbox) share
`PeriodicJob`: it runs its job at its interval, logs a failure by event name and error type and
goes on, ends a pause at once at stop, and lets a job in flight finish (within a limit)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.telegram import periodic_job
from bot.telegram.periodic_job import PeriodicJob


async def wait_for_count(counts: list[int], at_least: int) -> None:
    """Until `counts` holds `at_least` entries (two seconds at most)."""
    for _ in range(200):
        if len(counts) >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(counts)} runs, wanted {at_least}")


async def test_the_job_runs_again_after_each_pause() -> None:
    """After start the job runs, then again every `every` seconds, until stopped."""
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    repeated = PeriodicJob("test.count", job, every=0.01)
    await repeated.start()
    try:
        await wait_for_count(runs, 3)
    finally:
        await repeated.stop()
    after_stop = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == after_stop  # nothing runs after stop


async def test_a_failing_job_is_logged_by_name_and_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job that raises is logged with its event name and the error's type only (never the
    message, which could carry contents), and the next run comes all the same."""
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise ValueError("patient said something private")

    repeated = PeriodicJob("test.flaky", job, every=0.01)
    with caplog.at_level(logging.ERROR, logger=periodic_job.__name__):
        await repeated.start()
        try:
            await wait_for_count(runs, 3)
        finally:
            await repeated.stop()
    assert [r.getMessage() for r in caplog.records] == ["test.flaky failed: ValueError"]
    assert "private" not in caplog.text


async def test_stop_lets_a_job_in_flight_finish() -> None:
    """Stopping while the job runs waits for it to finish; it is not cancelled halfway."""
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def job() -> None:
        started.set()
        await release.wait()
        await asyncio.sleep(0.05)
        finished.append("done")

    repeated = PeriodicJob("test.slow", job, every=3600)
    await repeated.start()
    await asyncio.wait_for(started.wait(), 2)
    stopping = asyncio.create_task(repeated.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # stop waits for the job in flight
    release.set()
    await asyncio.wait_for(stopping, 2)
    assert finished == ["done"]


async def test_a_job_that_outlasts_the_stop_wait_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job still running after `STOP_WAIT_SECONDS` is cancelled, so stop always returns."""
    monkeypatch.setattr(periodic_job, "STOP_WAIT_SECONDS", 0.05)
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def job() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    repeated = PeriodicJob("test.stuck", job, every=3600)
    await repeated.start()
    await asyncio.wait_for(started.wait(), 2)
    await asyncio.wait_for(repeated.stop(), 2)
    assert cancelled == [True]


async def test_stop_ends_a_pause_at_once_and_the_job_may_shorten_it() -> None:
    """The pause is `every`, or what the job asks for when shorter (never below `MIN_PAUSE`);
    a stop during a pause does not wait for it to end."""
    pauses: list[float] = []
    asked = iter([0.5, 7200.0, -1.0])

    async def job() -> float | None:
        return next(asked, None)

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) < 4:
            return
        await asyncio.sleep(3600)

    repeated = PeriodicJob("test.paced", job, every=60, first=2, pause=pause)
    await repeated.start()
    await wait_for_count(pauses, 4)
    await asyncio.wait_for(repeated.stop(), 2)  # the hour-long pause is cut short
    assert pauses == [2, 0.5, 60, periodic_job.MIN_PAUSE]
