"""The `intake-bot review` commands (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="review commands.", no_args_is_help=True)
