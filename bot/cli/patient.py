"""The `intake-bot patient` commands: answer a patient's access or erasure request.

`export --telegram-id N` writes everything the clinic holds about that person as JSON (a file
only its owner can read, or stdout); `delete --telegram-id N --yes` erases it exactly as the
patient's own /delete does (what a legal retention duty keeps stays), and prints what to tell
them. Messages about them on Telegram are retracted by the running bot. Both are audited under
`--as` (default: the login name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.errors import startup_errors
from bot.cli.review import As, actor, write_private
from bot.composition import build_services
from bot.settings import Settings
from flows.access import export_person

app = typer.Typer(help="A patient's access or erasure request, by Telegram user id.")

Db = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
]
TelegramId = Annotated[int, typer.Option("--telegram-id", help="The patient's Telegram user id.")]


@app.command("export")
def export_command(
    telegram_id: TelegramId,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (mode 0600).")
    ] = None,
    as_name: As = None,
    db: Db = None,
) -> None:
    """Everything stored about one patient, as JSON."""
    with startup_errors():
        services = build_services(Settings(), database_url=db)
    try:
        with startup_errors():
            found = export_person(
                services.database,
                lambda flow_id, version: services.registry.get(flow_id, version).flow,
                telegram_id=telegram_id,
                actor=actor(as_name),
            )
    finally:
        services.close()
    if found is None:
        typer.echo("nothing is stored about this Telegram user id", err=True)
        raise typer.Exit(1)
    text = json.dumps(found, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    write_private(output, text)
    typer.echo(f"wrote {output}", err=True)


@app.command("delete")
def delete_command(
    telegram_id: TelegramId,
    yes: Annotated[bool, typer.Option("--yes", help="Really erase it.")] = False,
    as_name: As = None,
    db: Db = None,
) -> None:
    """Erase everything about one patient, as their own /delete does."""
    if not yes:
        raise typer.BadParameter("erasing a patient's data needs --yes")
    with startup_errors():
        services = build_services(Settings(), database_url=db)
    try:
        with startup_errors():
            deletion = services.intake.patients.delete(user_id=telegram_id, actor=actor(as_name))
    finally:
        services.close()
    typer.echo(f"erased: {deletion.counts}")
    typer.echo(f"tell the patient: {deletion.message}")
