"""Benchmark: memory per active session, as a slope across crowd sizes.

Run with `python -m tests.bench.memory_bench` (`make bench` runs it after the CPU phases;
`--runs N`, default 3, repeats it in fresh processes and ends with the median and spread). One
intake bot over a fresh SQLite file, one fake Bot API in a child process (see `crowd`). The
crowd grows in waves to 100, 200 and 400 patients; each patient answers `--moves` questions
(mid-intake, by buttons and typing) and then goes quiet, so every one of them is an active
session the bot holds. After each wave the bot process collects garbage and reads its resident
memory (RSS) and, with `--trace`, the Python heap that `tracemalloc` sees.

The figure is the least-squares slope of memory against active patients: what one more active
patient costs. Fixed costs (imports, the compiled flow, caches filled by the first turns)
do not weigh in, as they did in the old figure (peak RSS growth divided by patients). `--trace`
also prints the allocation sites that grew most between the smallest and the largest crowd,
grouped by traceback: that is where a patient's memory goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import resource
import statistics
import tempfile
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.composition import build_services
from bot.settings import Settings
from flows.engine.format.model import Flow
from storage.sealing import new_key
from tests.bench.crowd import BOOKING_MARKER, FIRST_USER, Crowd, settle_crowd
from tests.bench.telegram_bench import fresh_runs, intake_app, remember_missing_sniffio
from tests.bot.fake_bot_api import TOKEN, FakeBotApi
from tests.bot.simulated_patient import SimulatedPatient

SIZES = (100, 200, 400)
MOVES = 8  # answers each patient gives before going quiet: well inside the intake
TRACE_FRAMES = 8


class HaltingCrowd(Crowd):
    """Patients who answer `moves` questions and then stop, mid-intake; added in waves."""

    def __init__(self, fake: FakeBotApi, flow: Flow, moves: int) -> None:
        super().__init__(fake, 0, flow)
        self.moves = moves
        self._made: dict[int, int] = {}

    def grow(self, total: int) -> None:
        """Start patients until `total` have been started."""
        assert self.flow is not None
        self.fake.on_send = self.on_bot_message
        self.done.clear()
        first, self.patients = FIRST_USER + self.patients, total
        for user in range(first, FIRST_USER + total):
            self._sims[user] = SimulatedPatient(user, self.flow, BOOKING_MARKER)
            self._made[user] = 0
            self._send(user, "/start")

    def _intake_move(self, user: int) -> None:
        if self._made[user] >= self.moves:  # the bot has answered the last move: stop here
            self._finish(user)
            return
        self._made[user] += 1
        super()._intake_move(user)


def serve_crowd(conn: Connection, flow: Flow, moves: int) -> None:
    """Child process entry: serve the fake API; grow the crowd on each ("grow", total)."""
    asyncio.run(_serve(conn, flow, moves))


async def _serve(conn: Connection, flow: Flow, moves: int) -> None:
    fake = FakeBotApi()
    await fake.start()
    conn.send(fake.port)
    loop = asyncio.get_running_loop()
    crowd = HaltingCrowd(fake, flow, moves)
    while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
        crowd.grow(int(command[1]))
        stalled = not await settle_crowd(crowd, fake)
        conn.send({"settled": len(crowd.finished), "stalled": stalled})
    await fake.stop()


def rss_kib() -> int:
    """The resident memory of this process now, in KiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() // 1024


def database_kib(url: str) -> float:
    """The size of a SQLite database with its WAL, in KiB (SQLite's page cache fills with it)."""
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()) / 1024


def slope(xs: list[int], ys: list[float]) -> float:
    """The least-squares slope of ys against xs."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - mean_x) ** 2 for x in xs)


async def measure(services: Any, sizes: tuple[int, ...], moves: int, trace: bool) -> dict[str, Any]:
    """Grow the crowd through `sizes`; memory after each wave, and its slope per patient."""
    parent, child = multiprocessing.Pipe()
    spawn = multiprocessing.get_context("spawn")
    flow = services.registry.active
    process = spawn.Process(target=serve_crowd, args=(child, flow, moves))
    process.start()
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(None, parent.recv)
    app = intake_app(services)(f"http://127.0.0.1:{port}/bot")
    points: list[dict[str, Any]] = []
    snapshots: list[tracemalloc.Snapshot] = []
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        if trace:
            tracemalloc.start(TRACE_FRAMES)
        for size in sizes:
            started = time.monotonic()
            parent.send(("grow", size))
            answer = await loop.run_in_executor(None, parent.recv)
            assert not answer["stalled"], answer
            assert answer["settled"] == size, answer
            await asyncio.sleep(0.5)  # let the outbox and the inbox's last writes settle
            gc.collect()
            point = {"patients": size, "rss_kib": rss_kib(), "seconds": time.monotonic() - started}
            point["db_kib"] = database_kib(services.settings.database_url)
            if trace:
                point["heap_kib"] = tracemalloc.get_traced_memory()[0] / 1024
                snapshots.append(tracemalloc.take_snapshot())
            points.append(point)
        await app.updater.stop()
        await app.stop()
    parent.send("stop")
    process.join(timeout=30)
    result: dict[str, Any] = {"points": points, "moves": moves}
    xs = [p["patients"] for p in points]
    result["rss_kib_per_session"] = slope(xs, [p["rss_kib"] for p in points])
    if trace:
        tracemalloc.stop()
        result["heap_kib_per_session"] = slope(xs, [p["heap_kib"] for p in points])
        result["sites"] = growth_sites(snapshots[0], snapshots[-1], xs[-1] - xs[0])
    return result


def growth_sites(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, added: int) -> list[str]:
    """The allocation sites (tracebacks, innermost project or library frames) that grew most."""
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, last = first.filter_traces(ignored), last.filter_traces(ignored)
    stats = last.compare_to(first, "traceback")
    lines = []
    for stat in sorted(stats, key=lambda s: s.size_diff, reverse=True)[:12]:
        frames = [f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback][:TRACE_FRAMES]
        lines.append(
            f"{stat.size_diff / added:8.0f} B/patient {stat.count_diff / added:6.1f} blocks  "
            + " < ".join(frames)
        )
    return lines


def report(result: dict[str, Any]) -> None:
    """Print the points and the slopes."""
    for p in result["points"]:
        heap = f", heap {p['heap_kib'] / 1024:6.1f} MiB" if "heap_kib" in p else ""
        print(
            f"{p['patients']:>5} active patients ({result['moves']} answers each): "
            f"RSS {p['rss_kib'] / 1024:6.1f} MiB{heap}, database file {p['db_kib'] / 1024:5.1f} MiB"
            f"  (wave {p['seconds']:.1f} s)"
        )
    print(f"memory per active session (slope): RSS {result['rss_kib_per_session']:.1f} KiB", end="")
    if "heap_kib_per_session" in result:
        print(f", Python heap {result['heap_kib_per_session']:.1f} KiB (goal < 20)")
        print("grown most between the smallest and largest crowd (per added patient):")
        for line in result["sites"]:
            print("  " + line)
    else:
        print(" (goal < 20)")


def run(sizes: tuple[int, ...], moves: int, trace: bool, key: str | None) -> dict[str, Any]:
    """The whole memory measurement in this process, over a fresh SQLite file."""
    remember_missing_sniffio()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            telegram_token=TOKEN,
            database_url=f"sqlite:///{Path(tmp) / 'memory.db'}",
            booking_url=f"https://{BOOKING_MARKER}?ref={{intake_id}}",
            encryption_key=key,
        )
        services = build_services(settings)
        try:
            return asyncio.run(measure(services, sizes, moves, trace))
        finally:
            services.close()


def repeat(runs: int, arguments: list[str]) -> None:
    """Run the measurement `runs` times in fresh processes; print the slopes' median and spread."""
    slopes: dict[str, list[float]] = {}
    for figures in fresh_runs("tests.bench.memory_bench", runs, arguments):
        for name, value in figures.items():
            slopes.setdefault(name, []).append(value)
    print(f"--- {runs} runs: KiB per active session, median (min-max)")
    for name, values in slopes.items():
        values.sort()
        print(f"{name:<22} {statistics.median(values):6.1f} ({values[0]:.1f}-{values[-1]:.1f})")


def main() -> None:
    """Parse the options and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="crowd sizes")
    parser.add_argument("--moves", type=int, default=MOVES, help="answers per patient")
    parser.add_argument("--trace", action="store_true", help="also tracemalloc (slower)")
    parser.add_argument("--no-key", action="store_true", help="run without INTAKE_ENCRYPTION_KEY")
    parser.add_argument("--runs", type=int, default=3, help="repeat in fresh processes")
    parser.add_argument("--figures", type=Path, help=argparse.SUPPRESS)  # one run's, as JSON
    options = parser.parse_args()
    if options.runs > 1:
        given = ["--sizes", options.sizes, "--moves", str(options.moves)]
        given += ["--trace"] * options.trace + ["--no-key"] * options.no_key
        repeat(options.runs, given)
        return
    sizes = tuple(int(s) for s in options.sizes.split(","))
    key = None if options.no_key else new_key()
    result = run(sizes, options.moves, options.trace, key)
    report(result)
    if options.figures is not None:
        slopes = {k: v for k, v in result.items() if k.endswith("_per_session")}
        options.figures.write_text(json.dumps(slopes))


if __name__ == "__main__":
    main()
