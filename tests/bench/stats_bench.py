"""Benchmark: `stats` over 100,000 stored intakes, and what counting adds to a turn.

Run with `python -m tests.bench.stats_bench [--intakes 100000] [--postgres URL]`.

1. Seeds a fresh database (a SQLite file, and a throwaway schema on PostgreSQL when a URL is
   given) with `--intakes` intake sessions spread over a year (completed, escalated, cancelled,
   withdrawn, in progress, and left idle) and the intake counts their turns would have written:
   each intake walks the bundled flow's steps to where it ended, one day each.
2. Times `StatsService.report` (both reads and the report) `--runs` times: min, median, max.
3. Times turns of complete intakes through the real `IntakeService` on SQLite (CPU time of
   the process), with the counting statement and with it replaced by nothing, alternating,
   and prints the difference per turn with its spread.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.composition import Services, build_services
from bot.terminal import TerminalChat
from flows.analytics.service import StatsService
from flows.analytics.tally import COMPLETE_EDGES, STEP_EDGES, bucket
from flows.engine.format.model import Flow
from flows.intake import counting
from storage.intake_counts import ALL_DAYS, COUNTS, ZEROS
from storage.sealing import Sealer
from storage.tables import IntakeSession, Patient
from tests.conftest import make_settings
from tests.flows.typed_patients import ROUTINE
from tests.storage.postgres import fresh_schema

# "abandoned" is the idle sweeper's status; "idle" are intakes idle past the limit but still
# active (none once the sweeper runs; the stats read them as abandoned meanwhile)
STATUSES = [("completed", 70), ("escalated", 5), ("cancelled", 5), ("withdrawn", 2),
            ("active", 1), ("abandoned", 15), ("idle", 2)]  # fmt: skip
NOW = datetime.now(UTC)


def seed(services: Services, intakes: int, rng: random.Random) -> float:
    """Store `intakes` sessions and the counts they would have written; the seconds it took."""
    flow = services.registry.active
    steps = [s for s, step in flow.steps.items() if step.is_question or s == "review"]
    started = time.perf_counter()
    counts: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    patients, sessions = [], []
    for n in range(1, intakes + 1):
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        day = (NOW - timedelta(days=rng.randrange(365))).date()
        stop = len(steps) if status == "completed" else rng.randrange(1, len(steps))
        _walk(counts, day, steps[:stop], status, rng)
        sealer = services.database.sealer
        patients.append({"id": n, "telegram_id_hash": sealer.lookup_hash(10_000_000 + n),
                         "telegram_id": sealer.seal(str(10_000_000 + n)), "unreachable": False,
                         "created_at": NOW})  # fmt: skip
        sessions.append(_session(n, flow, status, steps[stop - 1], day, rng, sealer))
    with services.database.transaction() as tx:
        for chunk in _chunks(patients):
            tx.execute(insert(Patient.__table__), chunk)  # type: ignore[attr-defined]
        for chunk in _chunks(sessions):
            tx.execute(insert(IntakeSession.__table__), chunk)  # type: ignore[attr-defined]
        for chunk in _chunks(_count_rows(flow, counts)):
            tx.execute(insert(COUNTS), chunk)
    _analyze(services)
    return time.perf_counter() - started


def _analyze(services: Services) -> None:
    """Table statistics (and PostgreSQL's visibility map) as autovacuum would have them."""
    engine = services.database.engine
    if services.database.is_sqlite:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE intake_sessions")
        connection.exec_driver_sql("VACUUM ANALYZE intake_counts")


def _count_rows(flow: Flow, counts: dict[tuple[date, str], Counter[str]]) -> list[dict[str, Any]]:
    """The rows `add_counts` would have left: per day, per month and the running totals."""
    periods: dict[tuple[str, date, str], Counter[str]] = defaultdict(Counter)
    for (day, step), c in counts.items():
        periods[("day", day, step)].update(c)
        periods[("month", day.replace(day=1), step)].update(c)
        periods[("all", ALL_DAYS, step)].update(c)
    key = {"flow_id": flow.id, "flow_version": flow.version}
    return [
        {**ZEROS, **key, "period": period, "day": day, "step_id": step, **c}
        for (period, day, step), c in periods.items()
    ]


def _walk(counts: dict[tuple[date, str], Counter[str]], day: date, path: list[str],
          status: str, rng: random.Random) -> None:  # fmt: skip
    """The counts one intake's turns would have added, all on `day`."""
    intake = counts[(day, "")]
    intake.update(started=1, consented=1)
    for step in path:
        counts[(day, step)].update(reached=1)
    for step in path[:-1] if status != "completed" else path:
        seconds = rng.lognormvariate(2.5, 1.0)
        counts[(day, step)].update({"answered": 1, f"seconds_{bucket(seconds, STEP_EDGES)}": 1})
    if status == "completed":
        total = rng.lognormvariate(6.5, 0.6)
        intake.update({"completed": 1, f"seconds_{bucket(total, COMPLETE_EDGES)}": 1})
    elif status == "escalated":
        intake.update(escalated_emergency=1)
        counts[(day, path[-1])].update(escalated=1)
    elif status == "cancelled":
        intake.update(cancelled=1)
        counts[(day, path[-1])].update(dropped=1)


def _session(
    n: int, flow: Flow, status: str, step: str, day: date, rng: random.Random, sealer: Sealer
) -> dict[str, Any]:
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        seconds=rng.randrange(86400)
    )
    if status == "active":
        at = NOW - timedelta(minutes=rng.randrange(600))
    history = list(flow.steps)[: rng.randrange(5, 35)]
    state = {"step": step, "answers": {}, "source": None, "history": history, "skipped": [],
             "raised": {}, "progress": {"seen": 2**40 - 1, "done": 2**39 - 1,
             "shown_at": at.timestamp()}}  # fmt: skip
    stored = "active" if status == "idle" else status
    return {"id": n, "patient_id": n, "flow_id": flow.id, "flow_version": flow.version,
            "status": stored, "state": sealer.seal_json(state), "step_key": sealer.step_key(step),
            "started_at": at, "updated_at": at, "ended_at": None}  # fmt: skip


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def time_report(services: Services, runs: int, since: date | None = None) -> list[float]:
    """Milliseconds per `StatsService.report` call (from the day `since` on)."""
    service = StatsService(database=services.database, flows=services.registry.flow)
    flow = services.registry.active
    service.report(flow.id, versions=[flow.version])  # warm caches as a running process would
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = service.report(flow.id, versions=[flow.version], since=since)
        times.append((time.perf_counter() - started) * 1000)
    assert report["started"] > 0
    return times


def time_turns(url: str, intakes: int, rounds: int) -> tuple[list[float], list[float], int]:
    """Milliseconds per turn of complete intakes, with counting and without (alternating)."""
    with_counts, without, turns = [], [], len(ROUTINE) + 1
    saved = counting.TurnCounts.save
    services = build_services(make_settings(url))
    try:
        for round_ in range(rounds):
            for counted in (True, False) if round_ % 2 == 0 else (False, True):
                if not counted:
                    counting.TurnCounts.save = lambda self, tx: None  # type: ignore[method-assign]
                started = time.process_time()  # CPU, less swayed by other load than wall time
                for user in range(intakes):
                    chat = TerminalChat(
                        services.intake,
                        out=io.StringIO(),
                        user_id=round_ * 10**6 + user + (counted << 20),
                    )
                    chat.run(ROUTINE)
                per_turn = (time.process_time() - started) * 1000 / (intakes * turns)
                (with_counts if counted else without).append(per_turn)
                counting.TurnCounts.save = saved  # type: ignore[method-assign]
    finally:
        counting.TurnCounts.save = saved  # type: ignore[method-assign]
        services.close()
    return with_counts, without, turns


@contextmanager
def databases(postgres: str | None) -> Iterator[list[tuple[str, str]]]:
    """A fresh SQLite file and, when asked, a throwaway PostgreSQL schema."""
    with tempfile.TemporaryDirectory() as folder:
        found = [("sqlite", f"sqlite:///{folder}/stats.db")]
        if postgres is None:
            yield found
            return
        with fresh_schema("bench") as url:
            yield [*found, ("postgres", url)]


def spread(values: list[float]) -> str:
    """min / median / max of some timings."""
    return f"min {min(values):.1f}, median {statistics.median(values):.1f}, max {max(values):.1f}"


def main() -> None:
    """Seed, time the report on each database, then time turns with and without counting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intakes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", help="a PostgreSQL URL to seed a throwaway schema in")
    parser.add_argument("--turn-intakes", type=int, default=20)
    parser.add_argument("--turn-rounds", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(11)
    with databases(args.postgres) as urls:
        for name, url in urls:
            services = build_services(make_settings(url))
            try:
                seconds = seed(services, args.intakes, rng)
                print(f"{name:8} {args.intakes} intakes seeded in {seconds:.0f} s")
                for days in (None, 30, 365):
                    since = None if days is None else NOW.date() - timedelta(days=days)
                    times = time_report(services, args.runs, since)
                    label = "all time" if days is None else f"--since {days} days ago"
                    print(f"  stats report ms, {label:20} {spread(times)} ({args.runs} runs)")
            finally:
                services.close()
        with_counts, without, turns = time_turns(urls[0][1].replace("stats.db", "turns.db"),
                                                 args.turn_intakes, args.turn_rounds)  # fmt: skip
        difference = [a - b for a, b in zip(with_counts, without, strict=True)]
        size = f"{args.turn_intakes} intakes x {turns} turns, {args.turn_rounds} rounds"
        print(f"turns (sqlite, {size}), CPU ms per turn:")
        print(f"  with counting    {spread(with_counts)}")
        print(f"  without counting {spread(without)}")
        print(f"  counting adds    {spread(difference)}")
    print(json.dumps({"note": "figures from a shared 2-core machine; see the spread"}))


if __name__ == "__main__":
    main()
