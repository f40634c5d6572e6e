"""The `intake-bot flows` commands (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="flows commands.", no_args_is_help=True)
