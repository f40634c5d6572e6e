"""No update lost to a crash: the real `intake-bot run` polling the fake Bot API, twenty patients'
answers queued, the process killed with SIGKILL in the middle of the backlog and started again:
every patient completes with every answer stored, once.

Before the durable inbox, polling confirmed each batch as soon as it was queued in memory: a
kill lost every update fetched but not yet handled (PITFALLS.md: 0 of 10 patients finished).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from bot.composition import build_services
from flows.engine.conversation.values import Action, ActionKind, Inbound
from storage.database import Database, StorageError
from storage.sealing import Sealer
from storage.tables import InboxUpdate, IntakeSession, Patient, ReviewItem
from tests.bot.conftest import TEST_KEY
from tests.bot.fake_bot_api import TOKEN, FakeBotApi
from tests.conftest import make_settings
from tests.flows.bundled_scenarios import typed_lines_of

CLI = Path(sys.executable).parent / "intake-bot"
ROUTINE = typed_lines_of("routine")
# On Telegram the optional questions are answered in words (there is no /skip command).
LINES = ["/start", *("Nothing else to add" if line == "/skip" else line for line in ROUTINE)]
PATIENTS = range(7000, 7020)


def start_bot(fake: FakeBotApi, db: Path) -> subprocess.Popen[bytes]:
    """`intake-bot run` polling the fake, on the SQLite file `db`."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(db.parent),
        "INTAKE_TELEGRAM_TOKEN": TOKEN,
        "INTAKE_TELEGRAM_API_URL": fake.base_url,
        "INTAKE_DATABASE_URL": f"sqlite:///{db}",
        "INTAKE_BOOKING_URL": "https://book.example.org/p?ref={intake_id}",
        "INTAKE_LOG_LEVEL": "WARNING",
        "INTAKE_ENCRYPTION_KEY": TEST_KEY,  # the inbox's payloads are sealed, read back after -9
    }
    return subprocess.Popen(
        [str(CLI), "run"], cwd=db.parent, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def answers_by_patient(database: Database) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    """Per Telegram user: (session status, step, its answers by step) for each of their
    sessions, unsealed."""
    found: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
    sealer = database.sealer
    with database.reading() as tx:
        for patient, session in tx.exec(
            select(Patient, IntakeSession).where(IntakeSession.patient_id == Patient.id)
        ):
            blob = sealer.unseal_json(session.state)
            found.setdefault(int(sealer.unseal(patient.telegram_id)), []).append(
                (session.status, blob["step"], blob["answers"])
            )
    return found


def reference_answers(tmp: Path) -> dict[str, Any]:
    """The answers the same lines leave when nothing crashes (the in-process service)."""
    services = build_services(make_settings(f"sqlite:///{tmp / 'reference.db'}"))
    try:
        for line in LINES:
            kind = ActionKind.START if line == "/start" else ActionKind.TEXT
            services.intake.handle_sync(Inbound(user_id=1, action=Action(kind, text=line)))
        [(status, _, answers)] = answers_by_patient(services.database)[1]
        assert status == "completed"
        return answers
    finally:
        services.close()


def applied(database: Database) -> int:
    """How many updates the bot has applied so far (0 while it is still creating the tables)."""
    query = select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status != "pending")
    try:
        with database.reading() as tx:
            return int(tx.exec(query).one())
    except StorageError:
        return 0


async def test_sigkill_mid_backlog_loses_no_answer(fake_api: FakeBotApi, tmp_path: Path) -> None:
    """Kill -9 with a third of the backlog applied, start again: twenty complete intakes, each
    with exactly the answers the lines give, one session and one review item per patient."""
    expected = reference_answers(tmp_path)
    for line in LINES:  # interleaved, as a crowd would type
        for user in PATIENTS:
            fake_api.send_text(user, line)
    total = len(LINES) * len(PATIENTS)
    db = tmp_path / "intake.db"
    first = start_bot(fake_api, db)
    database: Database | None = None
    try:
        while not db.exists():
            await asyncio.sleep(0.05)
        database = Database(f"sqlite:///{db}", sealer=Sealer(TEST_KEY))
        while applied(database) < total // 3:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        at_kill = applied(database)
        with database.reading() as tx:
            pending = tx.exec(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
            ).one()
        assert at_kill < total

        second = start_bot(fake_api, db)
        try:
            for _ in range(1200):
                if applied(database) == total:
                    break
                await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.to_thread(second.communicate, timeout=60)
        assert applied(database) == total, stderr.decode()[-2000:]

        stored = answers_by_patient(database)
        with database.reading() as tx:
            items = tx.exec(select(ReviewItem)).all()
    finally:
        if first.poll() is None:
            first.kill()
        if database is not None:
            database.dispose()
    print(json.dumps({"updates": total, "applied_at_kill": at_kill, "pending_at_kill": pending}))
    assert sorted(stored) == list(PATIENTS)
    for user in PATIENTS:
        [(status, step, answers)] = stored[user]
        assert (status, step) == ("completed", "submitted"), user
        assert answers == expected, user
    assert len(items) == len(PATIENTS)
