"""Benchmark: simulated patients through complete intakes on the real bot, against an echo bot.

Run with `make bench` (or `python -m tests.bench.telegram_bench --patients 200`). Two phases,
each against a fresh fake Bot API on loopback served by a child process (see `crowd`):

1. the intake bot: `build_application` over the real services and a fresh SQLite file, every
   patient going from /start to the booking link by buttons and typing;
2. a plain python-telegram-bot echo bot (default `ApplicationBuilder`, one `MessageHandler`),
   each patient sending as many messages as an intake took on average;
3. the calls-only bot (`calls_only`): the same patients, answered with as many Bot API calls
   per update as the intake bot made, and nothing else. Its CPU is the floor the intake bot's
   calls set; the rest of the intake bot's CPU is its own work.

It prints updates per second for the first two and their ratio, p50 and p99 turn latency,
the bot process's CPU per update for the three bots and their ratios to the echo bot, its peak
memory, and its memory growth per patient served (fixed costs included: `memory_bench`
measures what one more active session costs, as a slope across crowd sizes). `--runs N`
(default 3) repeats the whole run in N fresh processes and ends with the median and the spread
(min-max) of each figure: on a shared machine one run is noise.
Pacing is off in phase 1: the pacer would hold any bot to 30 messages a second, which
measures Telegram's limits, not the bot's cost. The intake bot runs with an encryption key, as
Telegram mode requires (`--no-key` leaves it out, to measure what sealing costs).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.composition import Services, build_services
from bot.settings import Settings
from bot.telegram.application import build_application
from flows.engine.format.model import Flow
from flows.intake.abandonment import IdleSweeper
from flows.intake.service import IntakeService
from storage.database import Database
from storage.sealing import new_key
from tests.bench.calls_only import calls_only_app
from tests.bench.crowd import BOOKING_MARKER, run_crowd
from tests.bot.fake_bot_api import TOKEN

Report = dict[str, Any]


def remember_missing_sniffio() -> None:
    """Make a missing `sniffio` a cached import failure.

    httpcore 1.0 runs `import sniffio` for every lock it sets up; without the package (anyio 4
    no longer brings it) each attempt searches `sys.path` again, ~0.3 ms a request. Measured in
    this benchmark: 12 s of a 60 s run. `None` in `sys.modules` fails the import at once, exactly
    as before, without the search.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer each text with the same text, once."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def rss_kib() -> int:
    """The resident memory of this process now, in KiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() // 1024


def peak_kib() -> int:
    """The peak resident memory of this process so far, in KiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def run_phase(
    make_app: Any, patients: int, echo_messages: int, flow: Flow | None
) -> tuple[Report, int]:
    """Start the crowd's fake API, run a bot against it until the crowd is done."""
    parent, child = multiprocessing.Pipe()
    spawn = multiprocessing.get_context("spawn")
    process = spawn.Process(target=run_crowd, args=(child, patients, echo_messages, flow))
    process.start()
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(None, parent.recv)
    app: Application[Any, Any, Any, Any, Any, Any] = make_app(f"http://127.0.0.1:{port}/bot")
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        baseline = rss_kib()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        parent.send("go")
        report: Report = await loop.run_in_executor(None, parent.recv)
        after = resource.getrusage(resource.RUSAGE_SELF)
        report["bot_cpu"] = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        await app.updater.stop()
        await app.stop()
    parent.send("stop")
    process.join(timeout=30)
    return report, baseline


@dataclass(frozen=True)
class Retargeted:
    """The services with the settings pointed at another Bot API URL."""

    settings: Settings
    intake: IntakeService
    database: Database
    sweeper: IdleSweeper


def intake_app(services: Services) -> Any:
    """A factory of the intake bot for a fake API base URL."""

    def make(base_url: str) -> Any:
        settings = services.settings.model_copy(update={"telegram_api_url": base_url})
        retargeted = Retargeted(settings, services.intake, services.database, services.sweeper)
        return build_application(retargeted, rates=None)

    return make


def echo_app(base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """The plain PTB echo bot, as the README of python-telegram-bot would write it."""
    app = ApplicationBuilder().token(TOKEN).base_url(base_url).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


def summarise(name: str, report: Report) -> tuple[float, str]:
    """Updates per second and a printable line."""
    rate = report["updates"] / report["seconds"]
    cuts = statistics.quantiles(report["latencies"], n=100)
    line = (
        f"{name:<11} {report['updates']:>6} updates in {report['seconds']:6.2f} s = "
        f"{rate:7.1f} updates/s; turn latency p50 {cuts[49] * 1000:6.1f} ms, "
        f"p99 {cuts[98] * 1000:6.1f} ms; CPU: bot {report['bot_cpu']:.1f} s "
        f"= {cpu_per_update(report):.2f} ms per update, fake API {report['fake_cpu']:.1f} s"
    )
    return rate, line


def cpu_per_update(report: Report) -> float:
    """The bot process's CPU time per update handled, in milliseconds."""
    return float(1000 * report["bot_cpu"] / report["updates"])


async def bench(patients: int, database: str | None, key: str | None) -> Report:
    """Both phases, then the figures (printed, and returned for `--runs`)."""
    remember_missing_sniffio()  # the echo bot runs on PTB's httpx transport: spare it the search
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            telegram_token=TOKEN,
            database_url=url,
            booking_url=f"https://{BOOKING_MARKER}?ref={{intake_id}}",
            encryption_key=key,
        )
        services = build_services(settings)
        try:
            flow = services.registry.active
            intake, baseline = await run_phase(intake_app(services), patients, 0, flow)
            peak = peak_kib()
        finally:
            services.close()
    assert intake["finished"] == patients, "not every simulated patient finished"
    per_patient = max(1, round(intake["updates"] / patients))
    echoed, _ = await run_phase(echo_app, patients, per_patient, None)
    intake_calls = intake["api_calls"] / intake["updates"]
    floor, _ = await run_phase(calls_only_app(intake_calls), patients, per_patient, None)
    intake_rate, intake_line = summarise("intake bot", intake)
    echo_rate, echo_line = summarise("echo bot", echoed)
    _, floor_line = summarise("calls only", floor)
    sealed = "sealed" if key else "no key"
    finished = intake["finished"]
    print(f"{patients} patients, complete intakes: {finished}, db: {url.split(':')[0]}, {sealed}")
    print(intake_line)
    print(echo_line)
    print(floor_line)
    print(f"ratio intake/echo: {intake_rate / echo_rate:.2f} (goal >= 0.5)")
    cpu_ratio = cpu_per_update(intake) / cpu_per_update(echoed)
    floor_ratio = cpu_per_update(floor) / cpu_per_update(echoed)
    print(f"CPU per update, intake/echo: {cpu_ratio:.2f} (goal <= 1.5, aim 1.0)")
    print(f"CPU per update, calls-only/echo: {floor_ratio:.2f} (the floor the calls set)")
    echo_calls = echoed["api_calls"] / echoed["updates"]
    floor_calls = floor["api_calls"] / floor["updates"]
    print(
        f"Bot API calls per update (besides getUpdates): intake {intake_calls:.2f}, "
        f"echo {echo_calls:.2f}, calls only {floor_calls:.2f}; calls per second, intake/echo: "
        f"{intake_rate * intake_calls / (echo_rate * echo_calls):.2f}"
    )
    growth = max(0, peak - baseline)
    print(  # fixed costs weigh in: `memory_bench` measures the cost per session as a slope
        f"peak memory (RSS) {peak / 1024:.1f} MiB; growth during the intake phase "
        f"{growth / 1024:.1f} MiB = {growth / patients:.1f} KiB per patient served "
        "(not per session: see tests.bench.memory_bench)"
    )
    return {
        "intake_cpu_ms": cpu_per_update(intake),
        "echo_cpu_ms": cpu_per_update(echoed),
        "cpu_ratio": cpu_ratio,
        "floor_cpu_ms": cpu_per_update(floor),
        "floor_ratio": floor_ratio,
        "intake_rate": intake_rate,
        "echo_rate": echo_rate,
        "intake_p50_ms": 1000 * statistics.median(intake["latencies"]),
        "kib_per_session": growth / patients,
    }


def fresh_runs(module: str, runs: int, arguments: list[str]) -> list[Report]:
    """Run benchmark `module` `runs` times, each in a fresh process; each run's figures."""
    figures: list[Report] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            print(f"--- run {run + 1} of {runs}", flush=True)
            out = Path(tmp) / f"run{run}.json"
            command = [sys.executable, "-m", module, *arguments]
            subprocess.run([*command, "--runs", "1", "--figures", str(out)], check=True)
            figures.append(json.loads(out.read_text()))
    return figures


def repeat(runs: int, arguments: list[str]) -> None:
    """Run the benchmark `runs` times in fresh processes; print each figure's median and spread."""
    figures = fresh_runs("tests.bench.telegram_bench", runs, arguments)
    print(f"--- {runs} runs: median (min-max)")
    for key in figures[0]:
        values = sorted(f[key] for f in figures)
        print(f"{key:<16} {statistics.median(values):8.2f} ({values[0]:.2f}-{values[-1]:.2f})")


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--runs", type=int, default=3, help="repeat in fresh processes")
    parser.add_argument("--figures", type=Path, help=argparse.SUPPRESS)  # one run's, as JSON
    parser.add_argument("--no-key", action="store_true", help="run without INTAKE_ENCRYPTION_KEY")
    options = parser.parse_args()
    if options.runs > 1:
        given = ["--patients", str(options.patients)] + (["--no-key"] if options.no_key else [])
        repeat(options.runs, given + (["--database", options.database] if options.database else []))
        return
    key = None if options.no_key else new_key()
    figures = asyncio.run(bench(options.patients, options.database, key))
    if options.figures is not None:
        options.figures.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
