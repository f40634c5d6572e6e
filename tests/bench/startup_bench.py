"""Benchmark: start-up of `intake-bot` commands, and the import floor under them.

Run with `python -m tests.bench.startup_bench` (`--runs N`, default 15). Each command runs N
times in a fresh process, the commands interleaved (so a burst of load on a shared machine hits
them alike), over a small SQLite database with a few queued intakes and a warm flow cache. It
prints wall time and CPU time (user + system of the child) per command: median (min-max).

The floor rows time `python -c "import ..."` for what the listing cannot do without: the
interpreter, SQLAlchemy, sqlmodel (the tables), pydantic-settings (the settings) and typer.
Python writes no bytecode cache when PYTHONDONTWRITEBYTECODE is set: the bench says whether it
is, since then every project module is compiled again on every call.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storage.sealing import new_key
from tests.flows.review_seed import bundled_flow, complete_answers, open_database, seed_intake

COMMANDS = {
    "review list": ["review", "list"],
    "review list --json": ["review", "list", "--json"],
    "--help": ["--help"],
    "flows validate": ["flows", "validate"],
}
FLOOR = {
    "python (nothing)": "pass",
    "+ sqlalchemy": "import sqlalchemy",
    "+ sqlmodel": "import sqlmodel",
    "+ pydantic_settings": "import pydantic_settings",
    "+ typer": "import typer",
    "all four": "import sqlalchemy, sqlmodel, pydantic_settings, typer",
}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command` (its exit code must be 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def seeded(folder: Path) -> dict[str, str]:
    """A small database (five queued intakes) and the environment that points at it."""
    key = new_key()
    database = open_database(folder, key=key)
    flow = bundled_flow()
    for user in range(5):
        seed_intake(database, user=1000 + user, flow=flow, answers=complete_answers(flow))
    database.dispose()
    env = dict(os.environ)
    env.update(
        INTAKE_DATABASE_URL=database.url,
        INTAKE_ENCRYPTION_KEY=key,
        INTAKE_FLOW_CACHE_DIR=str(folder / "cache"),
    )
    return env


def spread(values: list[float]) -> str:
    """Median (min-max) in milliseconds."""
    ms = sorted(1000 * v for v in values)
    return f"{statistics.median(ms):6.0f} ms ({ms[0]:.0f}-{ms[-1]:.0f})"


def main() -> None:
    """Time every command and floor row `--runs` times, interleaved; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    script = str(Path(sys.executable).with_name("intake-bot"))
    with tempfile.TemporaryDirectory() as tmp:
        env = seeded(Path(tmp))
        runs = {name: [script, *args] for name, args in COMMANDS.items()}
        runs |= {name: [sys.executable, "-c", code] for name, code in FLOOR.items()}
        for command in runs.values():  # once untimed: migrations done, flow cache filled
            timed(command, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(options.runs):
            for name, command in runs.items():
                times[name].append(timed(command, env))
    cached = "off (PYTHONDONTWRITEBYTECODE)" if env.get("PYTHONDONTWRITEBYTECODE") else "on"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{options.runs} runs each, interleaved; bytecode cache {cached}; load average {load}")
    print(f"{'':<22} {'wall: median (min-max)':<26} CPU: median (min-max)")
    for name, pairs in times.items():
        walls, cpus = [w for w, _ in pairs], [c for _, c in pairs]
        print(f"{name:<22} {spread(walls):<26} {spread(cpus)}")


if __name__ == "__main__":
    main()
