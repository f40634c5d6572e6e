"""Retention on a real, keyed SQLite file: each kind of data goes after its period (measured by
running the purge as if later), intakes waiting for a clinician never go, a legal duty holds
reviewed intakes, a dry run removes nothing, and each purge is audited with counts only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.composition import Services, build_services
from bot.telegram.maintenance import PurgeTask
from flows.engine.conversation.values import Action, ActionKind, Inbound
from flows.engine.loading.loader import LoadedFlow
from flows.retention import Retention, RetentionPeriods
from storage.sealing import new_key
from storage.tables import InboxUpdate, utcnow
from tests.conftest import make_settings
from tests.flows.bundled_scenarios import typed_lines_of

ROUTINE = typed_lines_of("routine")
KEY = new_key()


def play(services: Services, user: int, lines: list[str], first_update: int) -> None:
    """Type lines as `user` ('/skip' presses Skip), with update ids."""
    turn = None
    for offset, line in enumerate(lines):
        action = Action(ActionKind.TEXT, text=line)
        if line == "/skip" and turn is not None:
            index = turn.prompts[-1].step_index
            action = Action(ActionKind.SKIP, session_id=turn.session_id, step_index=index)
        inbound = Inbound(user, action, update_id=first_update + offset)
        turn = services.intake.handle_sync(inbound)


@pytest.fixture
def filled(database_url: str, bundled_flow: LoadedFlow) -> Iterator[Services]:
    """A cancelled intake, a reviewed one (with a clinician's private summary), a pending one."""
    settings = make_settings(database_url, encryption_key=KEY)
    services = build_services(settings, active=bundled_flow)
    play(services, 1, ["I agree", "40"], 100)
    services.intake.handle_sync(Inbound(1, Action(ActionKind.RESTART), update_id=150))
    play(services, 2, ROUTINE, 200)
    play(services, 3, ROUTINE, 300)
    reviewed = services.review.list_items("cli:dr")[0].item_id
    services.review.done("cli:dr", reviewed, name="Dr", note="fine")
    services.review.sent_privately(reviewed, 900, [41], "summary")
    yield services
    services.close()


def counts(services: Services) -> dict[str, int]:
    """Rows per table that retention concerns."""
    tables = ("patients", "intake_sessions", "review_items", "inbox", "audit_events")
    with services.database.engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
        }


def purge_at(services: Services, days: int, **periods: Any) -> dict[str, int]:
    """Purge as if `days` had passed; the counts removed."""
    retention = Retention(services.database, RetentionPeriods(**periods), batch=2)
    return retention.purge(now=utcnow() + timedelta(days=days)).counts


def test_each_kind_goes_after_its_period_and_waiting_intakes_never(filled: Services) -> None:
    """31 days: the cancelled intake and handled updates go. 366 days: the reviewed intake goes
    (its clinician message owed a retraction, its patient with it). 731 days: old audit rows.
    The intake nobody has reviewed yet stays whatever its age."""
    start = counts(filled)
    assert (start["intake_sessions"], start["review_items"]) == (3, 2)
    removed = purge_at(filled, 31)
    assert removed["unfinished_intakes"] == 1
    assert removed["reviewed_intakes"] == 0
    assert removed["inbox"] == start["inbox"]
    assert removed["patients"] == 1  # the cancelled intake was patient 1's only one
    assert counts(filled)["intake_sessions"] == 2
    removed = purge_at(filled, 366)
    assert (removed["reviewed_intakes"], removed["messages_retracted"]) == (1, 1)
    assert removed["patients"] == 1
    left = counts(filled)
    assert (left["intake_sessions"], left["review_items"], left["patients"]) == (1, 1, 1)
    assert purge_at(filled, 5000, audit_days=0)["reviewed_intakes"] == 0
    assert counts(filled)["review_items"] == 1  # still pending: never purged
    removed = purge_at(filled, 731)
    assert removed["audit_events"] > 0
    with filled.database.engine.connect() as connection:
        details = [
            d
            for (d,) in connection.execute(
                text("SELECT detail FROM audit_events WHERE action = 'retention.purged'")
            )
        ]
    assert details  # the purges' own rows (written now, younger than 731 days)
    assert all("=" in d and "Dr" not in d and "fine" not in d for d in details)


def test_applied_updates_go_after_their_period_and_pending_ones_never(
    database_url: str, bundled_flow: LoadedFlow
) -> None:
    """Inbox rows applied longer ago than INTAKE_RETAIN_UPDATES_DAYS go (Telegram reuses an
    update id after a week of silence: an old row would swallow a new update as a repeat); a
    newer one stays, and so does an update still pending, however old."""
    services = build_services(make_settings(database_url, encryption_key=KEY), active=bundled_flow)
    with services.database.transaction() as tx:
        for update_id, days, status in ((900, 8, "done"), (901, 6, "done"), (902, 30, "pending")):
            at = utcnow() - timedelta(days=days)
            done = at if status == "done" else None
            tx.add(InboxUpdate(update_id=update_id, chat_hash=1, status=status,
                               received_at=at, processed_at=done))  # fmt: skip
    try:
        removed = Retention(services.database, RetentionPeriods(updates_days=7)).purge()
        with services.database.reading() as tx:
            kept = sorted(tx.exec(select(InboxUpdate.update_id)).all())
    finally:
        services.close()
    assert removed.counts["inbox"] == 1
    assert kept == [901, 902]


def test_a_dry_run_counts_and_removes_nothing(filled: Services) -> None:
    """--dry-run reports what a purge would remove and changes nothing, not even the audit."""
    before = counts(filled)
    retention = Retention(filled.database, RetentionPeriods())
    report = retention.purge(dry_run=True, now=utcnow() + timedelta(days=400))
    assert report.counts["unfinished_intakes"] == 1
    assert report.counts["reviewed_intakes"] == 1
    assert counts(filled) == before


def test_a_legal_duty_holds_reviewed_intakes(filled: Services) -> None:
    """Reviewed intakes stay at least as long as the legal duty, whatever the period says."""
    assert purge_at(filled, 400, legal_days=3650)["reviewed_intakes"] == 0
    assert purge_at(filled, 3651, legal_days=3650)["reviewed_intakes"] == 1


def test_zero_keeps_that_kind(filled: Services) -> None:
    """A period of 0 keeps that kind of data until the patient deletes it."""
    removed = purge_at(filled, 9999, unfinished_days=0, reviewed_days=0, audit_days=0)
    assert (removed["unfinished_intakes"], removed["reviewed_intakes"]) == (0, 0)
    assert removed["audit_events"] == 0


def test_the_purge_command(filled: Services) -> None:
    """`intake-bot purge` needs --dry-run or --yes, prints counts, and really purges on --yes."""
    env = {
        "INTAKE_DATABASE_URL": filled.database.url,
        "INTAKE_ENCRYPTION_KEY": KEY,
        "INTAKE_RETAIN_UPDATES_DAYS": "2",
    }
    runner = CliRunner()
    result = runner.invoke(app, ["purge"], env=env)
    assert result.exit_code == 2
    assert "exactly one of --dry-run and --yes" in result.stderr
    result = runner.invoke(app, ["purge", "--dry-run"], env=env)
    assert result.exit_code == 0
    assert "unfinished_intakes   would remove 0" in result.stdout
    with filled.database.engine.connect() as connection:
        connection.execute(text("UPDATE inbox SET processed_at = '2020-01-01'"))
        connection.commit()
    result = runner.invoke(app, ["purge", "--yes"], env=env)
    assert result.exit_code == 0
    assert f"{'inbox':<20} removed {counts_before(result.stdout)}" in result.stdout
    assert counts(filled)["inbox"] == 0


def counts_before(out: str) -> str:
    """The count the purge command printed for inbox rows (processed updates)."""
    line = next(line for line in out.splitlines() if line.startswith("inbox"))
    return line.rsplit(" ", 1)[1]


async def test_the_running_bot_purges_periodically(filled: Services) -> None:
    """The purge task runs at its interval in the background, and wakes the outbox when
    messages are owed a retraction."""
    woken: list[int] = []
    retention = Retention(filled.database, RetentionPeriods(reviewed_days=1))
    task = PurgeTask(retention, interval=0.05, first=0, notify=lambda: woken.append(1))
    with filled.database.engine.connect() as connection:
        connection.execute(text("UPDATE review_items SET reviewed_at = '2020-01-01'"))
        connection.commit()
    await task.start()
    try:
        for _ in range(100):
            if task.runs >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await task.stop()
    assert task.runs >= 3
    assert woken == [1]  # the reviewed intake's clinician message, once
    assert counts(filled)["review_items"] == 1
