"""Seeding for benchmarks: 100,000 stored intakes, then the clinician reads timed on them.

Run with `python -m tests.bench.seed --database URL [--intakes 100000] [--runs 20]` on an
empty database (a fresh SQLite file, or a throwaway PostgreSQL database or schema): never on
one with patients in it. It stores patients and intake sessions spread over a year with the
intake counts their turns would have written (as `stats_bench` does), a review item for every
completed or escalated intake (priorities and statuses mixed as a clinic would see them), and
with `--time` prints the median and spread of the first page of `review list`, the review
queue's first page (the clinicians' /queue) and the `stats` report.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bot.composition import Services, build_services
from flows.analytics.service import StatsService
from storage.queue import PRIORITY_RANK
from storage.tables import IntakeSession, ReviewItem
from tests.bench import stats_bench
from tests.conftest import make_settings

PRIORITIES = [("routine", 80), ("soon", 12), ("same_day", 6), ("emergency", 2)]
REVIEW_STATUSES = [("reviewed", 90), ("pending", 7), ("claimed", 3)]
PAGE = 50  # `review list` first page
QUEUE_PAGE = 20  # the clinicians' /queue


def seed(services: Services, intakes: int, rng: random.Random) -> float:
    """Store `intakes` intakes (counts included) and their review items; the seconds it took."""
    started = time.perf_counter()
    stats_bench.seed(services, intakes, rng)
    with services.database.transaction() as tx:
        ended = tx.execute(
            select(IntakeSession.id, IntakeSession.status, IntakeSession.updated_at).where(
                IntakeSession.status.in_(("completed", "escalated"))  # type: ignore[attr-defined]
            )
        ).all()
        no_flags = services.database.sealer.seal_json([])
        items = [_item(i, status, at, rng, no_flags) for i, status, at in ended]
        for chunk in stats_bench._chunks(items):
            tx.execute(insert(ReviewItem.__table__), chunk)  # type: ignore[attr-defined]
    stats_bench._analyze(services)
    _analyze_items(services)
    return time.perf_counter() - started


def _item(
    session_id: int, status: str, at: datetime, rng: random.Random, flags: str
) -> dict[str, Any]:
    priority = "emergency" if status == "escalated" else _pick(PRIORITIES, rng)
    review = _pick(REVIEW_STATUSES, rng)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    done = at + timedelta(hours=rng.randrange(1, 48)) if review == "reviewed" else None
    claimed_by = "dr-bench" if review != "pending" else None
    return {"session_id": session_id, "red_flags": flags,
            "priority_rank": PRIORITY_RANK[priority], "status": review, "claimed_by": claimed_by,
            "claimed_name": claimed_by, "claimed_at": done, "reviewed_at": done, "note": None,
            "created_at": at, "updated_at": done or at}  # fmt: skip


def _pick(weighted: list[tuple[str, int]], rng: random.Random) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _analyze_items(services: Services) -> None:
    engine = services.database.engine
    if services.database.is_sqlite:
        return  # stats_bench's ANALYZE covered every table
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE review_items")
        connection.exec_driver_sql("VACUUM ANALYZE patients")


def timed(call: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call, after one warm-up call (as in a running process)."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def time_reads(services: Services, runs: int) -> dict[str, list[float]]:
    """The clinician reads over the seeded database, in milliseconds per call."""
    review, flow = services.review, services.registry.active_loaded.flow
    stats = StatsService(database=services.database, flows=services.registry.flow)
    return {
        f"review list (first {PAGE})": timed(lambda: review.list_items("bench", limit=PAGE), runs),
        f"review queue (first {QUEUE_PAGE})": timed(
            lambda: review.queue("bench", limit=QUEUE_PAGE), runs
        ),
        "stats report": timed(lambda: stats.report(flow.id, versions=[flow.version]), runs),
    }


def main() -> None:
    """Seed the database given, then (with --time) time the reads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="an empty database's URL")
    parser.add_argument("--intakes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--time", action="store_true", help="time the clinician reads after")
    args = parser.parse_args()
    services = build_services(make_settings(args.database))
    try:
        seconds = seed(services, args.intakes, random.Random(12))
        print(f"{args.intakes} intakes seeded in {seconds:.0f} s ({datetime.now(UTC):%H:%M})")
        if args.time:
            for name, times in time_reads(services, args.runs).items():
                low, high, median = min(times), max(times), statistics.median(times)
                spread = f"({low:.1f}-{high:.1f}, {args.runs} runs)"
                print(f"  {name:<26} median {median:6.1f} ms {spread}")
    finally:
        services.close()


if __name__ == "__main__":
    main()
