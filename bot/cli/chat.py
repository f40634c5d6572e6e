"""The `intake-bot chat` command: the intake in a terminal (being built)."""

from __future__ import annotations

from pathlib import Path

import typer


def chat(
    flow_file: Path | None = typer.Option(None, "--flow", help="A flow file to try."),
    db: str | None = typer.Option(None, "--db", help="Database URL."),
) -> None:
    """Run the intake in this terminal, reading answers line by line from stdin."""
    raise typer.Exit(1)
