"""The `intake-bot safety` commands: replay the safety vignettes and report the results by level.

`report` loads a flow, replays every vignette (each paraphrase is one run) through the engine
in process, and prints sensitivity per level, over-triage of routine stories, diagnosis leaks
(any message to a patient that ties a condition to them) and any other problem. Exit codes:
0 when every run reached its level with no leak or problem, 1 otherwise, 2 when the vignette
harness is not there. The stories and their player are test material: they live in the source
checkout's `tests/safety/` and are loaded from there, not shipped in the product packages.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.flow_files import print_problems
from bot.settings import Settings
from flows.engine.conversation.turns import Conversation
from flows.engine.format.problems import FlowError
from flows.registry import load_active

if TYPE_CHECKING:
    from types import ModuleType

    from tests.safety.player import Run

app = typer.Typer(help="Safety checks: the vignette report.", no_args_is_help=True)

HARNESS = "tests.safety.player"


@app.callback()
def safety() -> None:
    """Safety checks: the vignette report."""


@app.command("report")
def report_command(
    vignettes: Annotated[
        Path | None,
        typer.Option(
            help="Folder of vignette files; default: the bundled suite.",
            file_okay=False,
            exists=True,
        ),
    ] = None,
    flow_file: Annotated[
        Path | None,
        typer.Option("--flow", help="Flow file; default: the active flow in the flows dir."),
    ] = None,
) -> None:
    """Replay every vignette and print the results by level."""
    settings = Settings()
    try:
        loaded = load_active(
            flows_dir=settings.flows_dir, flow_id=settings.flow, flow_file=flow_file
        )
    except FlowError as error:
        print_problems(error.problems)
        raise typer.Exit(1) from None
    player = harness()
    runs = player.replay_all(Conversation(loaded.flow), vignettes or player.SUITE)
    console = Console(soft_wrap=True, highlight=False)
    console.print(level_table(runs))
    failures = print_failures(console, runs)
    raise typer.Exit(1 if failures else 0)


def harness() -> ModuleType:
    """The vignette player of the source checkout, or exit 2 with a line saying so."""
    try:
        return importlib.import_module(HARNESS)
    except ImportError:
        typer.echo(
            f"the safety vignettes are test material: run this from a source checkout "
            f"(module {HARNESS} not found)",
            err=True,
        )
        raise typer.Exit(2) from None


def level_table(runs: list[Run]) -> Table:
    """Runs, sensitivity and exact matches per expected level; over-triage for routine."""
    table = Table(title=f"Safety vignettes: {len(runs)} runs")
    columns = ("expected level", "runs", "reached at least", "sensitivity", "exact", "refusals")
    for column in columns:
        table.add_column(column, justify="left" if column == "expected level" else "right")
    for row in harness().tally(runs):
        refusals = sum(r.refusals for r in runs if r.vignette.level == row.level)
        if row.level == "routine":
            label, share = "stayed", f"over-triage {1 - row.sensitivity:.0%}"
        else:
            label, share = "reached at least", f"{row.sensitivity:.0%}"
        caught = f"{row.caught} {label}" if row.level == "routine" else str(row.caught)
        table.add_row(row.level, str(row.runs), caught, share, str(row.exact), str(refusals))
    return table


def print_failures(console: Console, runs: list[Run]) -> int:
    """Print missed, over-triaged, leaking and broken runs; return how many lines were printed."""
    player = harness()
    lines = [
        f"missed: {r.name} expected {r.vignette.level}, got {r.level}" for r in player.missed(runs)
    ]
    lines += [f"over-triaged: {r.name} got {r.level}" for r in player.over_triaged(runs)]
    lines += [f"diagnosis leak: {r.name}: '{leak}'" for r in runs for leak in r.leaks]
    lines += [f"advice: {r.name}: '{words}'" for r in runs for words in r.advice]
    lines += [f"problem: {r.name}: {problem}" for r in runs for problem in r.problems]
    leaks = sum(len(r.leaks) for r in runs)
    expected = sum(len(r.vignette.expect) for r in runs)
    missing = sum(p.endswith("was not sent") for r in runs for p in r.problems)
    sent = sum(r.refusals for r in runs)
    console.print(f"refusals: {sent} sent, {expected} expected, {missing} missing", markup=False)
    console.print(f"diagnosis leaks: {leaks}", markup=False)
    console.print(f"advice: {sum(len(r.advice) for r in runs)}", markup=False)
    for line in lines:
        console.print(line, markup=False)
    return len(lines)
