"""Taking over from a killed instance on PostgreSQL, the way patients meet it: the real
Application over the fake Bot API, and another instance that is a real process killed with
SIGKILL. Its patients hear from the live instance within seconds (its name lock goes with the
process; no 30 s heartbeat timeout), once; while it lives, however late its heartbeat, its
replies are its own and nobody resends them."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.composition import build_services
from storage import inbox
from storage.migrate import upgrade
from storage.tables import InboxUpdate, utcnow
from tests.bot.conftest import make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.review_bot import wait_until
from tests.storage.postgres import fresh_schema, requires_postgres

pytestmark = requires_postgres
PATIENT = 8301
OTHER = "other-host:127.0.0.1:8443"  # the name of the instance that gets killed
HOLDER = """
import sys
from sqlalchemy import create_engine, text
from storage import inbox
connection = create_engine(sys.argv[1]).connect()
assert inbox.hold_name(connection, instance=sys.argv[2])
connection.commit()
print("holding", flush=True)
sys.stdin.readline()
"""


@contextmanager
def running_instance(url: str, name: str) -> Iterator[subprocess.Popen[str]]:
    """A process holding the instance name `name` on the database of `url`, as a running bot
    does; killed with SIGKILL on exit if still running."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()


def owe(services: Any, update_id: int, owner: str) -> None:
    """Make an applied update look applied by `owner`, its reply not yet recorded as sent; the
    owner's heartbeat long stale (it must not decide)."""
    with services.database.transaction() as tx:
        row = tx.get(InboxUpdate, update_id)
        assert row is not None
        row.status, row.owner = "applied", owner
        tx.add(row)
        inbox.heartbeat(tx, instance=owner)
        tx.execute(inbox.INSTANCES.update().where(inbox.INSTANCES.c.id == owner)
                   .values(seen_at=utcnow() - timedelta(minutes=10)))  # fmt: skip


def status(services: Any, update_id: int) -> str:
    """An inbox row's status."""
    with services.database.reading() as tx:
        query = select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
        return str(tx.exec(query).one())


async def test_a_killed_instances_owed_reply_is_resent_within_seconds_and_once(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Another instance applied the patient's answer and died before recording its reply. While
    it runs, nothing is resent (its heartbeat is ten minutes old); once it is killed, the live
    instance sends 'welcome back' and the question within a few seconds, once."""
    with fresh_schema("takeover") as url:
        settings = make_settings(
            fake_api,
            tmp_path / "unused.db",
            database_url=url,
            webhook_url="https://bot.example.org/telegram",
            listen="127.0.0.1:9301",
        )
        services = build_services(settings)
        upgrade(services.database)
        bot = await start_bot(fake_api, services)
        try:
            await bot.say(PATIENT, "/start")
            await bot.tap(PATIENT, "I agree")
            await bot.say(PATIENT, "34")
            answered = fake_api.last_update_id
            await wait_until(lambda: status(services, answered) == "done")
            with running_instance(url, OTHER) as other:
                owe(services, answered, OTHER)
                seen = len(fake_api.texts_to(PATIENT))
                await asyncio.sleep(3.0)  # three sweeps: the owner lives, its reply is its own
                assert len(fake_api.texts_to(PATIENT)) == seen
                assert status(services, answered) == "applied"
                other.send_signal(signal.SIGKILL)
                other.wait()
                waited = await wait_until(
                    lambda: len(fake_api.texts_to(PATIENT)) >= seen + 2, timeout=60
                )
            await wait_until(lambda: status(services, answered) == "done")
            await asyncio.sleep(2.0)  # more sweeps: nothing is sent again
        finally:
            await stop_bot(bot)
            services.close()
    welcome, question = fake_api.texts_to(PATIENT)[seen:]
    assert "Welcome back" in welcome
    assert "sex" in question.lower()
    assert waited < 10.0, waited  # the heartbeat timeout alone would take 30 s
