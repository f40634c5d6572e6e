"""`intake-bot flows draw` and `flows show`: a flow as a drawing, and as a table of steps.

`draw` writes Mermaid (default; GitHub renders it in Markdown), Graphviz DOT, or SVG / PNG
through Graphviz's `dot` when it is installed. `--readme FILE` replaces the flow's diagram in
a Markdown file, between `<!-- flow diagram: ID -->` and `<!-- end of flow diagram -->`.
`show` lists every step with its kind, label, next steps and when it is asked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.flow_files import load_or_exit
from flows.engine.format.model import Flow
from flows.engine.format.steps import Step
from flows.workbench.drawing import dot, drawing_of, mermaid
from flows.workbench.words import condition_words

FileArg = Annotated[Path, typer.Argument(help="A flow file (YAML).", dir_okay=False)]
README_END = "<!-- end of flow diagram -->"


class Format(StrEnum):
    """What `flows draw` writes."""

    MERMAID = "mermaid"
    DOT = "dot"
    SVG = "svg"
    PNG = "png"


def draw_command(
    file: FileArg,
    format: Annotated[Format, typer.Option("--format", "-f", help="What to write.")] = (
        Format.MERMAID
    ),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the drawing here instead of stdout.")
    ] = None,
    readme: Annotated[
        Path | None, typer.Option("--readme", help="Replace the flow's diagram in this file.")
    ] = None,
) -> None:
    """Draw a flow: sections, conditions in words, conditional steps, red-flag exits."""
    flow = load_or_exit(file).flow
    drawing = drawing_of(flow)
    if readme is not None:
        replace_in_readme(readme, flow.id, mermaid(drawing))
        return
    if format in (Format.MERMAID, Format.DOT):
        text = mermaid(drawing) if format == Format.MERMAID else dot(drawing)
        _write(text.encode(), out)
        return
    _write(render(dot(drawing), format.value), out)


def render(source: str, format: str) -> bytes:
    """DOT rendered by Graphviz's `dot`, or exit 1 saying it is not installed."""
    program = shutil.which("dot")
    if program is None:
        typer.echo(
            f"cannot draw {format}: Graphviz's `dot` is not installed (apt-get install graphviz, "
            "or brew install graphviz); `--format mermaid` needs nothing",
            err=True,
        )
        raise typer.Exit(1)
    done = subprocess.run(  # noqa: S603 (a fixed program; the DOT text goes to stdin)
        [program, f"-T{format}"], input=source.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        typer.echo(f"dot failed: {done.stderr.decode(errors='replace').strip()}", err=True)
        raise typer.Exit(1)
    return done.stdout


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        typer.echo(data.decode(errors="replace"), nl=False)
        return
    out.write_bytes(data)
    Console(soft_wrap=True, highlight=False).print(f"wrote {out}", markup=False)


def replace_in_readme(path: Path, flow_id: str, diagram: str) -> None:
    """Put `diagram` in a ```mermaid block between the flow's markers in a Markdown file."""
    start = f"<!-- flow diagram: {flow_id} -->"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(README_END), re.DOTALL)
    if pattern.search(text) is None:
        typer.echo(f"{path}: no `{start}` ... `{README_END}` markers to replace", err=True)
        raise typer.Exit(1)
    block = f"{start}\n```mermaid\n{diagram}```\n{README_END}"
    path.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    Console(soft_wrap=True, highlight=False).print(f"wrote the {flow_id} diagram in {path}")


def show_command(file: FileArg) -> None:
    """Show the steps of a flow as a table: id, kind, label, next, and when it is asked."""
    flow = load_or_exit(file).flow
    table = Table(title=f"{flow.id} v{flow.version}")
    for column in ("id", "kind", "label", "next", "asked"):
        table.add_column(column)
    for step_id, step in flow.steps.items():
        label = flow.text(step.label) if step.label is not None else ""
        table.add_row(step_id, step.kind, label, _next_text(step), _asked(flow, step))
    Console(soft_wrap=True, highlight=False).print(table)


def _asked(flow: Flow, step: Step) -> str:
    if step.ask_when is None:
        return "always" if step.is_question else ""
    return f"only if {condition_words(step.ask_when, flow)}"


def _next_text(step: Step) -> str:
    if step.next is None:
        return "-"
    if isinstance(step.next, str):
        return step.next
    return " | ".join(f"{b.goto}?" if b.when is not None else b.goto for b in step.next)
