"""The terminal demo's key check: it may run without INTAKE_ENCRYPTION_KEY, and says so.

On the embedded SQLite store the demo runs without a key and says so once; on PostgreSQL, the
production store, it may not (one line, exit code 2). Telegram mode's checks (a key is
required, a review chat needs clinicians) are in `bot.preflight`.
"""

from __future__ import annotations

import typer

from bot.settings import Settings

DEMO_NOTE = (
    "note: INTAKE_ENCRYPTION_KEY is not set: answers are stored unencrypted in {db} "
    "(fine for this demo; the Telegram bot refuses to run without a key)"
)
NO_KEY_POSTGRES = (
    "setting INTAKE_ENCRYPTION_KEY: required with PostgreSQL (the production store); "
    "make one with `intake-bot keygen`"
)


def check_terminal(settings: Settings, database_url: str) -> None:
    """The terminal demo: a note once without a key; refused without one on PostgreSQL."""
    if settings.encryption_keys is not None:
        return
    if database_url.startswith("postgres"):
        typer.echo(NO_KEY_POSTGRES, err=True)
        raise typer.Exit(2)
    typer.echo(DEMO_NOTE.format(db=database_url), err=True)
