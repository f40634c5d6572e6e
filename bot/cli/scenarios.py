"""`intake-bot flows test`: play the scenarios of each flow file's id against that file.

Prints each failing scenario's file and title, then one line per divergence
(`file:line: at step S: what: expected E, got A`), the coverage of the flow's red flags,
branches and conditional steps, and a count. Exit codes: 0 every scenario passed, 1 a flow or
scenario file has a problem, a scenario failed, or a flow has no scenarios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.errors import startup_errors
from bot.cli.flow_files import print_problems
from bot.settings import Settings
from flows.engine.format.problems import FlowError
from flows.engine.loading.loader import LoadedFlow, load_flow_file
from flows.workbench.suite import ScenarioReport, run_scenarios


def _out() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def scenarios_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Flow files; default: every *.yaml in the flows dir."),
    ] = None,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            help="Folder of scenario folders (<flow id>/*.yaml); default: beside the flows dir."
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this scenario (file name).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List passing ones too.")
    ] = False,
) -> None:
    """Run the scenarios of each flow's id (flows/scenarios/<id>/) against the flow file."""
    settings = _settings()
    paths = files or [shown(p) for p in sorted(settings.flows_dir.glob("*.yaml"))]
    root = scenarios or shown(settings.flows_dir.parent / "scenarios")
    ok = bool(paths)
    for path in paths:
        loaded = _load(path)
        if loaded is None:
            ok = False
            continue
        report = run_scenarios(loaded, root, set(only) if only else None)
        print_report(report, verbose=verbose)
        ok = ok and report.passed
    if not ok:
        raise typer.Exit(1)


def shown(path: Path) -> Path:
    """`path` relative to the working directory when it lies inside it (shorter lines)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _settings() -> Settings:
    with startup_errors():
        return Settings()


def _load(path: Path) -> LoadedFlow | None:
    try:
        return load_flow_file(path)
    except FlowError as error:
        print_problems(error.problems)
        return None


def print_report(report: ScenarioReport, *, verbose: bool = False) -> None:
    """The result of one flow's scenarios, failures first, then coverage and a count."""
    out, flow = _out(), report.loaded.flow
    folder = report.found.folder
    out.print(
        f"{flow.id} v{flow.version} ({report.loaded.file}): scenarios in {folder}", markup=False
    )
    print_problems(report.found.problems)
    if not report.runs and not report.found.problems:
        _err().print(f"no scenarios for flow '{flow.id}' in {folder}", markup=False)
    for run in report.runs:
        title = run.loaded.scenario.title
        if run.passed:
            if verbose:
                out.print(f"  ok    {run.loaded.name}: {title}", markup=False)
            continue
        out.print(f"  FAIL  {run.loaded.file}: {title}", markup=False)
        for failure in run.failures:
            out.print(f"        {failure.describe(run.loaded.file)}", markup=False)
    out.print(f"  coverage: {report.coverage.summary()}", markup=False)
    for target in report.coverage.missing:
        out.print(f"    not reached by any scenario: {target.kind} {target.name}", markup=False)
    failed = len(report.failed)
    out.print(f"  {len(report.runs) - failed} passed, {failed} failed", markup=False)
