"""The `intake-bot review` commands: the clinician queue from a terminal.

`list`, `show`, `claim`, `done`, `release`, `reopen`, `export` and `audit` work on the database
of `--db URL` (default: INTAKE_DATABASE_URL). Every command is audited under the acting
clinician: `--as NAME`, else the login name (`cli:alice`; `cli:alice (os:root)` when the two
differ). Releasing or reviewing an item someone else claimed needs `--force`, and is audited as
forced. Exports written to a file are readable by their owner only (mode 0600). Unknown ids,
wrong states, bad formats and unusable databases are one line on stderr and exit code 1 (2 for
settings or storage problems), never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.errors import flow_problems, startup_errors
from bot.review_services import ReviewServices, build_review_services
from bot.settings import Settings
from flows.engine.format.problems import FlowError
from flows.engine.records.export import item_row
from flows.engine.records.record import ReviewRecord, priority_words, timestamp
from flows.review.records import ReviewError
from flows.review.service import ReviewService
from storage import queue
from storage.database import FILE_MODE, StorageError
from storage.sealing import SealError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

app = typer.Typer(help="The clinician review queue: list, show, claim, review, export.")

Db = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
]
ItemId = Annotated[int, typer.Argument(help="Review item id (see `review list`).")]
As = Annotated[str | None, typer.Option("--as", help="Who is acting (default: your login name).")]
Force = Annotated[bool, typer.Option("--force", help="Act on an item another clinician claimed.")]


@contextmanager
def review_service(db: str | None) -> Iterator[tuple[ReviewService, ReviewServices]]:
    """The review service over the chosen database; clear errors instead of tracebacks."""
    with startup_errors():
        services = build_review_services(Settings(), database_url=db)
    try:
        yield services.review, services
    except FlowError as exc:  # the flow files are read on first use (a summary, an export)
        raise flow_problems(exc) from None
    except ReviewError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (StorageError, SealError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        services.close()


def actor(as_name: str | None = None) -> str:
    """Who is acting, for the audit trail: `--as` (with the login name when it differs)."""
    login = getpass.getuser()
    name = as_name or login
    return f"cli:{name}" if name == login else f"cli:{name} (os:{login})"


def display_name(as_name: str | None) -> str:
    """The acting clinician's name as colleagues see it."""
    return as_name or getpass.getuser()


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600, also when it existed)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _out() -> Console:
    from rich.console import Console  # only for tables: `--json` and empty lists go without

    return Console(soft_wrap=True, highlight=False)


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)", param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="pending, claimed, reviewed, withdrawn.")
    ] = None,
    priority: Annotated[
        str | None, typer.Option(help="emergency, same_day, soon, routine.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Queued on or after (ISO date).")] = None,
    until: Annotated[str | None, typer.Option(help="Queued before (ISO date).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(min=0, help="At most this many items (0: all).")] = 50,
    as_name: As = None,
    db: Db = None,
) -> None:
    """List review items, most urgent first, then oldest first (the first 50: see --limit)."""
    start, end = _date(since, "--since"), _date(until, "--until")
    with review_service(db) as (service, _):
        records = service.list_items(
            actor(as_name),
            status=status,
            priority=priority,
            since=start,
            until=end,
            limit=limit or None,
        )
    if as_json:
        typer.echo(json.dumps([item_row(r) for r in records], indent=2))
    elif not records:
        typer.echo("no review items match")
    else:
        _out().print(_table(records))
        if len(records) == limit:
            typer.echo(f"(the first {limit}; --limit N for more, 0 for all)", err=True)


def _table(records: list[ReviewRecord]) -> Table:
    from rich.table import Table

    table = Table("id", "priority", "status", "queued", "red flags", "telegram id", "claimed by")
    for r in records:
        table.add_row(
            str(r.item_id),
            priority_words(r.priority),
            r.status,
            timestamp(r.queued_at),
            ", ".join(f"{f.id} ({f.level})" for f in r.red_flags) or "-",
            str(r.telegram_user_id),
            r.claimer or "-",
        )
    return table


@app.command("show")
def show_command(
    item_id: ItemId,
    full: Annotated[bool, typer.Option("--full", help="Also every answer, in flow order.")] = False,
    as_name: As = None,
    db: Db = None,
) -> None:
    """Show one item's clinician summary (audited as a view)."""
    with review_service(db) as (service, _):
        view = service.show(actor(as_name), item_id)
    typer.echo(view.summary)
    if full:
        typer.echo("\n" + view.full_answers)


@app.command("claim")
def claim_command(
    item_id: Annotated[
        int | None, typer.Argument(help="Review item id; default: the most urgent pending one.")
    ] = None,
    as_name: As = None,
    db: Db = None,
) -> None:
    """Claim a pending item (without an id: the most urgent, oldest pending one)."""
    who, name = actor(as_name), display_name(as_name)
    with review_service(db) as (service, _):
        if item_id is None:
            record = service.claim_next(who, name=name)
        else:
            record = service.claim(who, item_id, name=name)
    if record is None:
        typer.echo("the queue is empty", err=True)
        raise typer.Exit(1)
    typer.echo(f"review #{record.item_id} claimed by {record.claimer}")


@app.command("done")
def done_command(
    item_id: ItemId,
    note: Annotated[str, typer.Option(help="The review note (stored encrypted).")] = "",
    as_name: As = None,
    force: Force = False,
    db: Db = None,
) -> None:
    """Mark an item reviewed, with a note."""
    who, name = actor(as_name), display_name(as_name)
    with review_service(db) as (service, _):
        record = service.done(who, item_id, name=name, note=note, force=force)
    typer.echo(f"review #{record.item_id} reviewed by {record.claimer}")


@app.command("release")
def release_command(
    item_id: ItemId, as_name: As = None, force: Force = False, db: Db = None
) -> None:
    """Put a claimed item back in the queue."""
    with review_service(db) as (service, _):
        record = service.release(actor(as_name), item_id, force=force)
    typer.echo(f"review #{record.item_id} is pending again")


@app.command("reopen")
def reopen_command(item_id: ItemId, as_name: As = None, db: Db = None) -> None:
    """Send a reviewed item back to the queue."""
    with review_service(db) as (service, _):
        record = service.reopen(actor(as_name), item_id)
    typer.echo(f"review #{record.item_id} is pending again")


@app.command("export")
def export_command(
    item_id: Annotated[int | None, typer.Argument(help="Review item id.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or fhir.")] = "json",
    every: Annotated[bool, typer.Option("--all", help="Every item (json or csv).")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (mode 0600).")
    ] = None,
    as_name: As = None,
    db: Db = None,
) -> None:
    """Export one item (json, csv, fhir) or every item (json, csv)."""
    if (item_id is None) == (not every):
        raise typer.BadParameter("give an item id or --all (not both)")
    with review_service(db) as (service, _):
        if item_id is not None:
            text = service.export(actor(as_name), item_id, fmt)
        else:
            text = service.export_all(actor(as_name), fmt)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    write_private(output, text)
    typer.echo(f"wrote {output}", err=True)


@app.command("audit")
def audit_command(item_id: ItemId, db: Db = None) -> None:
    """Show the audit trail of one item: who did what, when."""
    with review_service(db) as (_, services), services.database.transaction() as tx:
        events = queue.audit_events(tx, review_item_id=item_id)
    from rich.table import Table

    table = Table("when", "who", "what", "detail")
    for e in events:
        table.add_row(timestamp(e.at), e.actor, e.action, e.detail or "")
    _out().print(table)
