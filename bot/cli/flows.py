"""The `intake-bot flows` commands: validate, draw and show flow files; regenerate the schema.

Every command reports a bad flow as `file:line: what is wrong` lines on stderr and exits 1;
it never shows a traceback for an operator mistake. Exit codes: 0 ok, 1 problems, 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.diffs import diff_command
from bot.cli.drawings import draw_command, show_command
from bot.cli.errors import startup_errors
from bot.cli.flow_files import print_problems
from bot.cli.scenarios import scenarios_command
from bot.settings import Settings
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.engine.format.schema import SCHEMA_PATH, render_schema
from flows.engine.loading.loader import (
    LoadedFlow,
    duplicate_problems,
    load_flow_file,
    load_flow_text,
    read_flow_text,
)
from flows.engine.validation.coverage import coverage
from flows.workbench.scenario import SCENARIO_SCHEMA_PATH, render_scenario_schema
from flows.workbench.versions import bump_version

app = typer.Typer(help="Validate, test, draw, show and compare flow files.", no_args_is_help=True)
app.command("test")(scenarios_command)
app.command("diff")(diff_command)
app.command("draw")(draw_command)
app.command("show")(show_command)

FileArg = Annotated[Path, typer.Argument(help="A flow file (YAML).", dir_okay=False)]


def _out() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Flow files; default: every *.yaml in the flows dir."),
    ] = None,
) -> None:
    """Check flow files and report every problem with its file and line."""
    paths = files or _configured_files()
    if not paths:
        _err().print("no flow files to validate", markup=False)
        raise typer.Exit(1)
    loaded: list[LoadedFlow] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append(load_flow_file(path))
        except FlowError as error:
            problems.extend(error.problems)
            _print_coverage(path, None)
    problems.extend(duplicate_problems(loaded))
    for item in loaded:
        flow = item.flow
        summary = f"ok: {item.file} ({flow.id} v{flow.version}, {len(flow.steps)} steps)"
        _out().print(summary, markup=False)
        _print_coverage(Path(item.file), flow)
    print_problems(problems)
    if problems:
        raise typer.Exit(1)


def _print_coverage(path: Path, flow: Flow | None) -> None:
    """Each language's texts translated and screening phrases, under a file's verdict."""
    if flow is None:
        try:
            flow, _ = read_flow_text(path.read_text(encoding="utf-8"), file=str(path))
        except (OSError, UnicodeDecodeError, FlowError):
            return  # unreadable: its problems say why
        _out().print(f"not ok: {path} ({flow.id} v{flow.version})", markup=False)
    for item in coverage(flow):
        _out().print(f"  {item.line()}", markup=False)


def _configured_files() -> list[Path]:
    """Every *.yaml in the configured flows directory."""
    with startup_errors():
        settings = Settings()
    return sorted(settings.flows_dir.glob("*.yaml"))


@app.command("schema")
def schema_command(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if a schema file is out of date.")
    ] = False,
) -> None:
    """Regenerate flows/flow.schema.json and flows/scenario.schema.json (or check them)."""
    schemas = ((SCHEMA_PATH, render_schema()), (SCENARIO_SCHEMA_PATH, render_scenario_schema()))
    stale = False
    for path, text in schemas:
        if not check:
            path.write_text(text, encoding="utf-8")
            _out().print(f"wrote {path}", markup=False)
            continue
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            message = f"{path} is out of date; run `intake-bot flows schema` to regenerate it"
            _err().print(message, markup=False)
            stale = True
        else:
            _out().print(f"ok: {path} is up to date", markup=False)
    if stale:
        raise typer.Exit(1)


@app.command("bump")
def bump_command(
    file: FileArg,
    to: Annotated[int | None, typer.Option("--to", help="The new version (default: +1).")] = None,
) -> None:
    """Give a changed flow file a new version number (its `version:` line, in place)."""
    text = file.read_text(encoding="utf-8") if file.is_file() else ""
    bumped = bump_version(text, to)
    if bumped is None:
        print_problems([Problem(str(file), 1, "no top-level `version: N` line to bump")])
        raise typer.Exit(1)
    if bumped.new <= bumped.old:
        message = f"the new version must be above {bumped.old}, got {bumped.new}"
        print_problems([Problem(str(file), bumped.line, message)])
        raise typer.Exit(1)
    try:
        load_flow_text(bumped.text, file=str(file))
    except FlowError as error:
        print_problems(error.problems)
        raise typer.Exit(1) from None
    file.write_text(bumped.text, encoding="utf-8")
    _out().print(f"{file}:{bumped.line}: version {bumped.old} -> {bumped.new}", markup=False)
