"""The `intake-bot purge` command: remove what has outlived its retention period, now.

The running bot purges every hour by itself; this command is for a database no bot runs on,
or to see what a purge would remove (`--dry-run`). It needs `--dry-run` or `--yes`: removing
data is not a default. A purge that removed anything is audited with counts only.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.settings import Settings

Db = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
]


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Really remove it.")] = False,
    db: Db = None,
) -> None:
    """Purge data past its retention period (INTAKE_RETAIN_*): --dry-run or --yes."""
    if dry_run == yes:
        raise typer.BadParameter("give exactly one of --dry-run and --yes")
    with startup_errors():
        services = build_services(Settings(), database_url=db)
    try:
        with startup_errors():
            report = services.retention.purge(dry_run=dry_run, actor=f"cli:{getpass.getuser()}")
    finally:
        services.close()
    verb = "would remove" if dry_run else "removed"
    for name, count in report.counts.items():
        if name != "messages_retracted":
            typer.echo(f"{name:<20} {verb} {count}")
    if not dry_run:
        retracted = report.counts.get("messages_retracted", 0)
        typer.echo(f"{'telegram messages':<20} {retracted} owed a retraction (the bot sends them)")
