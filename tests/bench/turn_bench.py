"""Turn cost: the real `IntakeService` taking typed intakes on a fresh database, timed per turn.

Run with `python -m tests.bench.turn_bench` (options: `--patients`, `--runs`, `--database`,
`--synchronous normal|full` to override SQLite's durability setting for a comparison). Each run
builds the services on a fresh SQLite file (or a fresh PostgreSQL schema when `--database`
names one), then types the routine scenario's answers for every patient through
`IntakeService.handle_sync` with update ids, as the bot does. It prints, per run, the wall
time and CPU time per turn, then the median and the spread (min-max) over the runs. No event
loop and no Telegram: this is the cost of one turn's transaction and engine work alone.
`--key` runs with a fresh encryption key (every turn then opens and seals the session's state
once and computes the patient's keyed hash once), to compare with the run without.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.composition import build_services
from bot.settings import Settings
from flows.engine.conversation.values import Action, ActionKind, Inbound
from storage.sealing import new_key
from tests.flows.bundled_scenarios import typed_lines_of

FIRST_USER = 5_000_000


def override_synchronous(engine: Any, level: str) -> None:
    """Make every new SQLite connection use `PRAGMA synchronous=<level>`."""

    @event.listens_for(engine, "connect")
    def _set(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA synchronous={level}")
        cursor.close()

    engine.dispose()  # pooled connections were opened with the default


def one_run(
    patients: int, url: str, synchronous: str | None, key: str | None = None
) -> tuple[float, float, int]:
    """(wall ms per turn, CPU ms per turn, turns) for one fresh database."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        booking_url="https://book.example/{intake_id}",
        encryption_key=key,
    )
    services = build_services(settings)
    if synchronous and services.database.is_sqlite:
        override_synchronous(services.database.engine, synchronous)
    lines = [
        "Nothing else to add" if line == "/skip" else line for line in typed_lines_of("routine")
    ]
    update_id = 0
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for user in range(FIRST_USER, FIRST_USER + patients):
            for line in lines:
                update_id += 1
                action = Action(ActionKind.TEXT, text=line)
                services.intake.handle_sync(
                    Inbound(user_id=user, action=action, update_id=update_id)
                )
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        services.close()
    return wall * 1000 / update_id, cpu * 1000 / update_id, update_id


def spread(values: list[float]) -> str:
    """Median and min-max of a list of figures."""
    return f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    """Parse the options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="a PostgreSQL URL (default: fresh SQLite files)")
    parser.add_argument("--synchronous", choices=["normal", "full"], default=None)
    parser.add_argument("--key", action="store_true", help="seal with a fresh encryption key")
    options = parser.parse_args()
    key = new_key() if options.key else None
    walls, cpus = [], []
    for run in range(options.runs):
        with tempfile.TemporaryDirectory() as tmp:
            url = options.database or f"sqlite:///{Path(tmp) / 'turns.db'}"
            wall, cpu, turns = one_run(options.patients, url, options.synchronous, key)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {run + 1}: {turns} turns, {wall:.2f} ms wall, {cpu:.2f} ms CPU per turn")
    label = (options.synchronous or "default") + (", key" if key else ", no key")
    print(f"synchronous={label}: wall ms/turn {spread(walls)}; CPU ms/turn {spread(cpus)}")


if __name__ == "__main__":
    main()
