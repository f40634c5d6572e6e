"""The inbox on SQLite and PostgreSQL: received once, claimed once and in update order per chat
(also while another process holds an older update), closed, purged; and one active intake per
patient, enforced by the database."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.composition import Services, build_services
from flows.engine.conversation.values import Action, ActionKind, Inbound
from storage import inbox
from storage.database import Database
from storage.migrate import upgrade
from storage.tables import InboxUpdate, IntakeSession, Patient, utcnow
from tests.conftest import make_settings
from tests.storage.postgres import fresh_schema, migrated, requires_postgres

CHAT = 77


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: a SQLite file, or a fresh schema on the test PostgreSQL."""
    with migrated(request.param, tmp_path, "inbox") as db:
        yield db


def receive(database: Database, *update_ids: int, chat: int = CHAT) -> list[bool]:
    """Receive updates (payload: their id); whether each was new."""
    with database.transaction() as tx:
        return [
            inbox.receive(tx, update_id=u, chat_hash=chat, chat=None, payload=f"p{u}")
            for u in update_ids
        ]


def claim(database: Database, update_id: int, chat: int = CHAT) -> inbox.Claim:
    """Claim one update in its own transaction."""
    with database.transaction() as tx:
        return inbox.claim(tx, update_id=update_id, chat_hash=chat)


def test_an_update_is_received_once(database: Database) -> None:
    """The same update id again is a duplicate; the payload is kept until it is applied."""
    assert receive(database, 1, 2, 1) == [True, True, False]
    with database.reading() as tx:
        assert inbox.pending_before(tx, chat_hash=CHAT, update_id=3) == [(1, "p1"), (2, "p2")]
        assert inbox.count_pending(tx) == 2


def test_updates_of_a_dead_instance_are_adopted_once(database: Database) -> None:
    """Pending updates of an instance that stopped beating go to one other instance; a live
    instance keeps its own; an instance restarting takes back its own."""
    with database.transaction() as tx:
        for owner, update_id in (("dead", 1), ("live", 2), ("me", 3), (None, 4)):
            inbox.receive(
                tx, update_id=update_id, chat_hash=update_id, chat=None, payload="p", owner=owner
            )
        inbox.heartbeat(tx, instance="live")
        inbox.heartbeat(tx, instance="me")
        inbox.heartbeat(tx, instance="dead")
    with database.transaction() as tx:  # "dead" was last seen before this moment
        tx.execute(inbox.INSTANCES.update().where(inbox.INSTANCES.c.id == "dead")
                   .values(seen_at=utcnow() - timedelta(minutes=5)))  # fmt: skip
    since = utcnow() - timedelta(seconds=30)

    def adopt(instance: str, *, own: bool = False) -> list[int]:
        with database.transaction() as tx:
            inbox.heartbeat(tx, instance=instance)  # as an instance does before adopting
            rows = inbox.adopt(tx, instance=instance, alive_since=since, own=own)
        return [u for u, _ in rows]

    assert adopt("other") == [1, 4]
    assert adopt("another") == []  # "other" holds them now, and is alive
    assert adopt("me") == []
    assert adopt("me", own=True) == [3]


def test_updates_of_one_chat_are_claimed_in_order(database: Database) -> None:
    """A newer update waits for the older one; each is claimed once; other chats are free."""
    receive(database, 10, 11)
    receive(database, 12, chat=CHAT + 1)
    assert claim(database, 11) is inbox.Claim.DEFERRED
    assert claim(database, 12, CHAT + 1) is inbox.Claim.CLAIMED
    assert claim(database, 10) is inbox.Claim.CLAIMED
    assert claim(database, 10) is inbox.Claim.DUPLICATE
    assert claim(database, 11) is inbox.Claim.CLAIMED
    with database.reading() as tx:
        rows = tx.exec(select(InboxUpdate)).all()
    assert {r.status for r in rows} == {"applied"}  # replies owed until delivered
    assert {r.payload for r in rows} == {None}  # the patient's words go once applied
    with database.transaction() as tx:
        inbox.delivered(tx, update_ids=[10, 11])
    with database.reading() as tx:
        statuses = {r.update_id: r.status for r in tx.exec(select(InboxUpdate))}
    assert statuses == {10: "done", 11: "done", 12: "applied"}


def test_a_claim_without_a_received_row_is_remembered(database: Database) -> None:
    """Callers without the inbox (the terminal, tests) still get idempotency."""
    assert claim(database, 500) is inbox.Claim.CLAIMED
    assert claim(database, 500) is inbox.Claim.DUPLICATE


def test_closing(database: Database) -> None:
    """An update no turn claimed is closed (done or failed), once; the closed rows stay (the
    retention purge removes them, see tests/flows/test_retention.py)."""
    receive(database, 20, 21, 22)
    with database.transaction() as tx:
        assert inbox.finish(tx, update_id=20)
        assert inbox.finish(tx, update_id=21, status=inbox.FAILED)
        assert not inbox.finish(tx, update_id=20)  # once
        assert inbox.pending_before(tx, chat_hash=CHAT, update_id=99) == [(22, "p22")]
    with database.reading() as tx:
        assert inbox.status_of(tx, update_id=20) == inbox.DONE
        assert inbox.status_of(tx, update_id=21) == inbox.FAILED
        assert inbox.status_of(tx, update_id=22) == inbox.PENDING


def test_one_active_intake_per_patient(database: Database) -> None:
    """A second active session for a patient is refused by the database; ended ones are fine."""
    with database.transaction() as tx:
        patient = Patient(telegram_id_hash=5, telegram_id="p1:5")
        tx.add(patient)
        tx.flush()
        assert patient.id is not None
        tx.add(IntakeSession(patient_id=patient.id, flow_id="f", flow_version=1,
                             state="p1:{}", status="completed"))  # fmt: skip
        tx.add(IntakeSession(patient_id=patient.id, flow_id="f", flow_version=1, state="p1:{}"))
        patient_id = patient.id
    with pytest.raises(IntegrityError), database.transaction() as tx:
        tx.add(IntakeSession(patient_id=patient_id, flow_id="f", flow_version=1, state="p1:{}"))


@requires_postgres
def test_an_older_update_held_by_another_process_defers_the_next(tmp_path: Path) -> None:
    """While one instance's turn holds update 1 (uncommitted), another's claim of update 2 is
    deferred; once it commits, update 2 is claimed; the same update never twice."""
    with fresh_schema("order") as url:
        first, second = Database(url), Database(url)
        upgrade(first)
        try:
            receive(first, 1, 2)
            with first.transaction() as tx:
                assert inbox.claim(tx, update_id=1, chat_hash=CHAT) is inbox.Claim.CLAIMED
                assert claim(second, 2) is inbox.Claim.DEFERRED
                outcome: list[inbox.Claim] = []
                racer = threading.Thread(target=lambda: outcome.append(claim(second, 1)))
                racer.start()
                racer.join(0.5)
                assert racer.is_alive()  # waits for the row lock, not a second claim
            racer.join(5)
            assert outcome == [inbox.Claim.DUPLICATE]
            assert claim(second, 2) is inbox.Claim.CLAIMED
        finally:
            first.dispose()
            second.dispose()


@requires_postgres
def test_a_doubled_consent_tap_on_two_instances_opens_one_intake() -> None:
    """Returning patients (a first intake restarted, so the patient row exists) tap 'I agree'
    and both taps reach two instances at the same moment: one active intake each, no failed
    turn. (Without the unique index this race left 18 of 20 patients with two.)"""
    with fresh_schema("consent") as url:
        settings = make_settings(url)
        one, two = build_services(settings), build_services(settings)
        ids = itertools.count(1)
        try:
            for user in range(10):
                for action in (Action(ActionKind.TEXT, text="I agree"), Action(ActionKind.RESTART)):
                    one.intake.handle_sync(Inbound(user, action, update_id=next(ids)))
                barrier = threading.Barrier(2)

                def agree(
                    services: Services,
                    update_id: int,
                    user: int = user,
                    barrier: threading.Barrier = barrier,
                ) -> None:
                    barrier.wait()
                    action = Action(ActionKind.TEXT, text="I agree")
                    services.intake.handle_sync(Inbound(user, action, update_id=update_id))

                pair = [(one, next(ids)), (two, next(ids))]
                threads = [threading.Thread(target=agree, args=args) for args in pair]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            with one.database.reading() as tx:
                active = tx.exec(
                    select(IntakeSession.patient_id).where(IntakeSession.status == "active")
                ).all()
            assert sorted(active) == sorted(set(active))
            assert len(active) == 10
            assert one.intake.failures + two.intake.failures == 0
        finally:
            one.close()
            two.close()


def test_a_restart_resends_only_what_its_dead_process_applied(database: Database) -> None:
    """A restarting instance takes back its applied-but-unrecorded rows from before it started,
    never a row this process applied since (its reply is going out now: a resend doubles it)."""
    started = utcnow()
    with database.transaction() as tx:
        for update_id in (1, 2):
            inbox.receive(tx, update_id=update_id, chat_hash=update_id, chat=None, payload="p")
        inbox.claim(tx, update_id=1, chat_hash=1, owner="me")
        inbox.heartbeat(tx, instance="me")
    with database.transaction() as tx:  # claimed by the dead process, before "me" started
        tx.execute(inbox.INBOX.update().where(inbox.INBOX.c.update_id == 1)
                   .values(processed_at=started - timedelta(seconds=1)))  # fmt: skip
        inbox.claim(tx, update_id=2, chat_hash=2, owner="me")  # this process, just now
    since = utcnow() - timedelta(seconds=30)
    with database.transaction() as tx:
        owed = inbox.adopt_owed(
            tx, instance="me", alive_since=since, own=True, applied_before=started
        )
    assert [u for u, _, _ in owed] == [1]


@requires_postgres
def test_a_dead_instance_is_known_by_its_free_name_at_once() -> None:
    """A running instance holds its name; the moment its connection goes (a killed process),
    another finds the name free, whatever the heartbeat says, and holds it until its own
    transaction ends, so a restarting process of that name cannot take it halfway through."""
    with fresh_schema("names") as url:
        database = Database(url)
        upgrade(database)
        try:
            with database.transaction() as tx:
                inbox.heartbeat(tx, instance="a")
                inbox.heartbeat(tx, instance="b")
            holder = database.engine.connect()
            assert inbox.hold_name(holder, instance="a")
            holder.commit()
            with database.transaction() as tx:
                assert inbox.names_released(tx, instance="me") == ["b"]  # "a" runs
            holder.invalidate()  # the connection closes, as a killed process's does
            restarting = database.engine.connect()
            with database.transaction() as tx:
                assert inbox.names_released(tx, instance="me") == ["a", "b"]
                assert not inbox.hold_name(restarting, instance="a")  # taken over meanwhile
                restarting.rollback()
            assert inbox.hold_name(restarting, instance="a")  # and free again after
            restarting.close()
        finally:
            database.dispose()
