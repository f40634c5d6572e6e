"""The `intake-bot stats` command: how many intakes started, finished, stopped where, how fast.

Counts only, never a patient's data (see `flows.analytics`). The default output is a table;
`--json` gives the report as JSON, `--csv` one line per number (flow, version, step, metric,
value), and `--chart FILE.png|.svg` draws the funnel. Exit codes: 0 ok, 2 usage.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.settings import Settings
from flows.analytics.service import DEFAULT_IDLE_HOURS, StatsService

STEP_COLUMNS = ("reached", "answered", "skipped", "dropped", "escalated", "back", "median_s")


def stats(
    flow: Annotated[
        str | None, typer.Option("--flow", help="Flow id (default: INTAKE_FLOW).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Count from this day on (YYYY-MM-DD, UTC).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV line per number.")] = False,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Draw the funnel to FILE.png or FILE.svg.")
    ] = None,
    idle_hours: Annotated[
        float, typer.Option("--idle-hours", help="Untouched this long counts as abandoned.")
    ] = DEFAULT_IDLE_HOURS,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
    ] = None,
) -> None:
    """Intake statistics: started, consented, completed, escalated, dropped, per step."""
    day = _day(since)
    if chart is not None and chart.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter("the chart file must end in .png or .svg", param_hint="--chart")
    with startup_errors():
        settings = Settings()
        services = build_services(settings, database_url=db)
    try:
        service = StatsService(database=services.database, flows=services.registry.flow)
        flow_id, active = flow or settings.flow, services.registry.active
        versions = [active.version] if active.id == flow_id else []
        with startup_errors():
            report = service.report(flow_id, since=day, idle_hours=idle_hours, versions=versions)
    finally:
        services.close()
    if chart is not None:
        from bot.cli.chart import draw_funnel  # matplotlib loads only when a chart is asked for

        draw_funnel(report, chart)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif as_csv:
        write_csv(report)
    else:
        print_tables(report)
    if chart is not None:
        typer.echo(f"wrote {chart}", err=True)


def _day(since: str | None) -> date | None:
    if since is None:
        return None
    try:
        return date.fromisoformat(since)
    except ValueError:
        raise typer.BadParameter(
            f"'{since}' is not a day like 2026-11-01", param_hint="--since"
        ) from None


def write_csv(report: dict[str, Any]) -> None:
    """Every number of the report as `flow,version,step,metric,value` lines on stdout."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["flow", "version", "step", "metric", "value"])
    scopes = [("all", report), *((str(v["version"]), v) for v in report["versions"])]
    for version, part in scopes:
        for metric, value in _intake_numbers(part):
            writer.writerow([report["flow"], version, "", metric, value])
        for step in part["steps"]:
            for metric in STEP_COLUMNS:
                writer.writerow([report["flow"], version, step["id"], metric, step[metric]])


def _intake_numbers(part: dict[str, Any]) -> list[tuple[str, Any]]:
    numbers = [(k, v) for k, v in part.items() if k not in ("steps", "escalated", "versions")]
    numbers = [(k, v) for k, v in numbers if k not in ("flow", "since", "idle_hours", "version")]
    return numbers + [(f"escalated_{k}", v) for k, v in part["escalated"].items()]


def print_tables(report: dict[str, Any]) -> None:
    """The report as two tables: whole intakes per version, then the steps (all versions)."""
    console = Console(highlight=False)
    intakes = Table(title=f"{report['flow']}: intakes" + _since(report))
    intakes.add_column("version")
    numbers = _intake_numbers(report)
    for name, _ in numbers:
        intakes.add_column(name.replace("_", " "), justify="right")
    scopes = [("all", report), *((f"v{v['version']}", v) for v in report["versions"])]
    for label, part in scopes:
        intakes.add_row(label, *(_cell(value) for _, value in _intake_numbers(part)))
    console.print(intakes)
    steps = Table(title="steps, in flow order (all versions)")
    steps.add_column("step")
    for name in STEP_COLUMNS:
        steps.add_column(name.replace("_", " "), justify="right")
    for step in report["steps"]:
        steps.add_row(step["id"], *(_cell(step[name]) for name in STEP_COLUMNS))
    console.print(steps)


def _since(report: dict[str, Any]) -> str:
    return f" since {report['since']}" if report.get("since") else ""


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)
