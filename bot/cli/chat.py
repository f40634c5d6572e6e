"""The `intake-bot chat` command: the intake in a terminal, on the embedded default store.

The terminal has no buttons: the flow's `typed_messages` say how to answer there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.settings import Settings
from bot.terminal import run_terminal


def chat(
    flow_file: Annotated[Path | None, typer.Option("--flow", help="A flow file to try.")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
    ] = None,
) -> None:
    """Run the intake in this terminal, reading answers line by line from stdin."""
    with startup_errors():
        services = build_services(Settings(), flow_file=flow_file, database_url=db, typed=True)
    try:
        with startup_errors():
            run_terminal(services.intake, sys.stdin)
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
