"""The `intake-bot keys` commands: check the configured key(s) and rotate to a new one.

Rotation, step by step (PRIVACY.md has the whole procedure): put the new key first in
INTAKE_ENCRYPTION_KEY and keep the old one after it (`NEW,OLD`), restart the bot, run
`intake-bot keys rotate`, then remove the old key and restart. `rotate` re-seals every sealed
value with the newest key and renews the look-up hashes, one committed batch at a time; run
again, it finishes an interrupted rotation and changes nothing else.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.settings import Settings
from storage import rotation
from storage.rotation import Counts

app = typer.Typer(help="Encryption keys: check them against the database, rotate to a new one.")

Db = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
]


@app.command("check")
def check_command(db: Db = None) -> None:
    """Check that INTAKE_ENCRYPTION_KEY opens the database (exit 2 when it does not)."""
    with startup_errors():
        services = build_services(Settings(), database_url=db)
    services.close()
    keys = services.database.sealer.key_count
    typer.echo(f"the database opens with the configured key ({keys} key(s) accepted)")


@app.command("rotate")
def rotate_command(
    db: Db = None,
    batch: Annotated[int, typer.Option(min=1, help="Rows per committed batch.")] = 500,
) -> None:
    """Re-seal every stored value with the newest key; counts per table."""
    with startup_errors():
        services = build_services(Settings(), database_url=db, check_keys=False)
    try:
        with startup_errors():
            report = rotation.rotate(services.database, batch=batch)
    finally:
        services.close()
    for table, counts in report.items():
        typer.echo(f"{table:<18} {describe(counts)}")


def describe(counts: Counts) -> str:
    """One table's rotation counts in words."""
    parts = []
    if counts.rows:
        parts.append(
            f"{counts.rows} rows: {counts.resealed} values re-sealed, "
            f"{counts.current} already current"
        )
    if counts.hashes or not parts:
        parts.append(f"{counts.hashes} look-up hashes renewed")
    return "; ".join(parts)
