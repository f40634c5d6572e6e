"""A chaos run: three bot instances in webhook mode on one PostgreSQL behind a round-robin proxy,
simulated patients whose every update is posted 1-3 times, instances killed with SIGKILL at
random moments and started again. It prints what was lost, doubled or reordered (see `report`).

    make chaos                                   # 200 patients, 3 runs
    python -m tests.chaos.run --patients 200 --runs 3 [--database postgresql://...] [--seed N]

The database is INTAKE_TEST_POSTGRES_URL (or `--database`); each run works in a fresh schema
that is dropped afterwards. The instances' logs stay in a temporary folder printed at the end
of a run that was not clean. `tests/chaos/test_chaos.py` runs a small size in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import text

from bot.settings import BUNDLED_FLOWS
from flows.registry import load_active
from storage import inbox
from storage.database import Database
from storage.sealing import Sealer
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.test_telegram_webhook import free_port
from tests.chaos.crowd import Crowd, Telegram
from tests.chaos.fleet import KEY, Fleet, Instance
from tests.chaos.proxy import Proxy
from tests.chaos.report import Figures, figures

INSTANCES = 3
KILL_EVERY = (4.0, 12.0)  # seconds between kills
DOWN_FOR = (0.5, 3.0)  # seconds before a killed instance is started again
SETTLE_SECONDS = 120.0


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema on the server of `url` (its URL), dropped on exit."""
    schema = f"chaos_{uuid.uuid4().hex[:10]}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def kill_at_random(fleet: Fleet, rng: random.Random) -> None:
    """Forever: SIGKILL a running instance (one always stays), start it again a moment later.

    Cancelled, it stops cleanly: a kill under way finishes and no restart is left pending, so
    whoever cancelled it may start the dead instances itself without racing it.
    """
    restarts: set[asyncio.Task[None]] = set()

    async def restart(instance: Instance, after: float) -> None:
        await asyncio.sleep(after)
        fleet.start(instance)

    try:
        while True:
            await asyncio.sleep(rng.uniform(*KILL_EVERY))
            alive = [i for i in fleet.instances if i.alive]
            if len(alive) < 2:
                continue
            victim = rng.choice(alive)
            killing = asyncio.ensure_future(asyncio.to_thread(fleet.kill, victim))
            try:
                await asyncio.shield(killing)
            finally:
                await killing  # the thread runs on when cancelled: wait for it
            task = asyncio.create_task(restart(victim, rng.uniform(*DOWN_FOR)))
            restarts.add(task)
            task.add_done_callback(restarts.discard)
    finally:
        for task in list(restarts):
            task.cancel()
        await asyncio.gather(*restarts, return_exceptions=True)


async def settle(database: Database, telegram: Telegram) -> None:
    """Wait until every post is acknowledged and the inbox holds nothing pending."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        with database.reading() as tx:
            pending = inbox.count_pending(tx)
        if telegram.idle and pending == 0:
            return
        await asyncio.sleep(0.5)


async def chaos_run(
    database_url: str, patients: int, *, seed: int, logs: Path, timeout: float
) -> Figures:
    """One run on a fresh schema of `database_url`; its figures."""
    rng = random.Random(seed)
    flow = load_active(flows_dir=BUNDLED_FLOWS, flow_id="gut_health").flow
    fake = FakeBotApi()
    await fake.start()
    instances = [Instance(i, free_port()) for i in range(INSTANCES)]
    proxy = Proxy(instances)
    await proxy.start()
    hook = f"http://127.0.0.1:{proxy.port}/telegram"
    with fresh_schema(database_url) as url:
        fleet = Fleet(url, fake.base_url, hook, logs, instances)
        database = Database(url, sealer=Sealer(KEY))
        telegram = Telegram(hook, rng)
        try:
            for instance in instances:
                fleet.start(instance)
            await asyncio.to_thread(fleet.wait_healthy)
            await telegram.start()
            crowd = Crowd(fake, telegram, flow, rng, patients)
            started = time.monotonic()
            crowd.begin()
            chores = [
                asyncio.create_task(kill_at_random(fleet, rng)),
                asyncio.create_task(crowd.nudge_the_stuck()),
            ]
            with suppress(TimeoutError):
                await asyncio.wait_for(crowd.done.wait(), timeout)
            seconds = time.monotonic() - started
            chores[0].cancel()
            await asyncio.gather(chores[0], return_exceptions=True)  # no kill or restart left
            for instance in instances:
                if not instance.alive:
                    fleet.start(instance)
            await asyncio.to_thread(fleet.wait_healthy)
            await settle(database, telegram)
            chores[1].cancel()
            await asyncio.gather(*chores, return_exceptions=True)
            result, doubled = figures(
                database, fake, crowd, telegram, fleet=fleet, seconds=seconds, origin=started
            )
            silences = silence_after_kills(fake, crowd, fleet)
            if silences:
                result.silence_p50 = round(statistics.median(silences), 2)
                result.silence_p95 = round(statistics.quantiles(silences, n=20)[-1], 2)
                result.silence_max = round(max(silences), 2)
            with (logs / "duplicates.txt").open("w") as out:
                for item in doubled:
                    out.write("\n".join(item.lines(started)) + "\n")
            return result
        finally:
            await asyncio.to_thread(fleet.stop_all)
            await telegram.stop()
            database.dispose()
            await proxy.stop()
            await fake.stop()


def silence_after_kills(fake: FakeBotApi, crowd: Crowd, fleet: Fleet) -> list[float]:
    """Seconds each patient update sent shortly before or during a kill's aftermath waited
    for the bot's next message to that patient: the updates whose wait spans a kill."""
    kills = [t for t, _, what in fleet.events if what == "kill"]
    waits = []
    for user, patient in crowd.patients.items():
        replies = sorted(c.at for c in fake.calls if c.chat_id == user)
        for sent_at, _ in patient.sent:
            after = bisect.bisect_right(replies, sent_at)
            if after == len(replies):
                continue
            wait = replies[after] - sent_at
            if any(sent_at - 1.0 <= k <= sent_at + wait for k in kills):
                waits.append(wait)
    return waits


def spread(values: list[float]) -> str:
    """Median and range of a figure over runs."""
    return f"median {statistics.median(values):g} (min {min(values):g}, max {max(values):g})"


async def main_async(options: argparse.Namespace) -> int:
    """Run `--runs` times; print each run's figures and the spread; exit 1 unless all clean."""
    results: list[Figures] = []
    for run in range(options.runs):
        logs = Path(tempfile.mkdtemp(prefix="chaos-"))
        seed = options.seed + run
        result = await chaos_run(
            options.database, options.patients, seed=seed, logs=logs, timeout=options.timeout
        )
        results.append(result)
        print(f"run {run + 1} (seed {seed}): {result.line()}", flush=True)
        if not result.clean:
            print(f"  not clean; instance logs and duplicates.txt in {logs}", flush=True)
    for name in ("answers_lost", "duplicate_rows", "duplicate_replies", "two_active",
                 "out_of_order", "kills", "seconds", "nudges", "repeats", "silence_p50",
                 "silence_p95", "silence_max"):  # fmt: skip
        print(f"{name}: {spread([getattr(r, name) for r in results])}")
    return 0 if all(r.clean for r in results) else 1


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--database", default=os.environ.get("INTAKE_TEST_POSTGRES_URL"))
    options = parser.parse_args()
    if not options.database:
        parser.error("give --database or set INTAKE_TEST_POSTGRES_URL (a PostgreSQL URL)")
    sys.exit(asyncio.run(main_async(options)))


if __name__ == "__main__":
    main()
