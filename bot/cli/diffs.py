"""`intake-bot flows diff OLD NEW`: what changed between two flow files, part by part.

Lists steps, options, red flags, modifiers, workup hints, sections, texts and screening
phrases added (+), removed (-) or changed (~). With `--db`, also how many intakes in progress
on OLD's version sit on steps NEW changes or removes (they finish on OLD's version).
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.errors import startup_errors
from bot.settings import Settings
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError
from flows.engine.loading.loader import load_flow_file
from flows.workbench.diff import Change, changed_steps, diff_flows
from storage.database import Database
from storage.intakes import in_progress_by_step
from storage.sealing import Sealer

FileArg = Annotated[Path, typer.Argument(help="A flow file (YAML).", dir_okay=False)]


def diff_command(
    old: FileArg,
    new: FileArg,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL: count intakes in progress on changed steps."),
    ] = None,
) -> None:
    """Show what changed from flow file OLD to NEW (steps, options, flags, texts)."""
    try:
        before, after = load_flow_file(old).flow, load_flow_file(new).flow
    except FlowError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    changes = diff_flows(before, after)
    print_changes(before, after, changes)
    if db is not None:
        with startup_errors():
            counts = _in_progress(db, before)
        print_in_progress(before, counts, changed_steps(changes))


def print_changes(before: Flow, after: Flow, changes: list[Change]) -> None:
    """The changes grouped by part, one line each."""
    out = Console(soft_wrap=True, highlight=False)
    out.print(f"{before.id} v{before.version} -> {after.id} v{after.version}", markup=False)
    if not changes:
        out.print("no differences", markup=False)
    for part, group in groupby(changes, key=lambda change: change.part):
        out.print(f"{part}:", markup=False)
        for change in group:
            out.print(f"  {change.line()}", markup=False)


def print_in_progress(flow: Flow, counts: dict[str, int], changed: set[str]) -> None:
    """How many intakes in progress sit on changed steps, by step."""
    out = Console(soft_wrap=True, highlight=False)
    total = sum(counts.values())
    hit = {step: n for step, n in counts.items() if step in changed}
    where = ", ".join(f"{step} {n}" for step, n in sorted(hit.items())) or "none"
    out.print(
        f"intakes in progress on {flow.id} v{flow.version}: {total}; on steps that change: "
        f"{sum(hit.values())} ({where})",
        markup=False,
    )


def _in_progress(url: str, flow: Flow) -> dict[str, int]:
    database = Database(url, sealer=Sealer(Settings().encryption_keys))  # steps are sealed
    try:
        with database.reading() as session:
            return in_progress_by_step(
                session, flow_id=flow.id, version=flow.version, sealer=database.sealer
            )
    finally:
        database.dispose()
