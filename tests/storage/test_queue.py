"""Tests of the review-queue, outbox and audit queries against a real SQLite file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import outbox as outbox_rows
from storage import queue
from storage.database import Database
from storage.migrate import upgrade
from storage.tables import IntakeSession, OutboxMessage, Patient, ReviewItem, utcnow


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A migrated SQLite database in a temporary file."""
    db = Database(f"sqlite:///{tmp_path / 'queue.db'}")
    upgrade(db)
    return db


def add_item(db: Database, *, user: int, priority: str, created_at: datetime | None = None) -> int:
    """A patient, a completed intake and its review item; the item id."""
    with db.transaction() as s:
        patient = Patient(
            telegram_id_hash=db.sealer.lookup_hash(user), telegram_id=db.sealer.seal(str(user))
        )
        s.add(patient)
        s.flush()
        assert patient.id is not None
        intake = IntakeSession(
            patient_id=patient.id, flow_id="f", flow_version=1, state=db.sealer.seal_json({})
        )
        s.add(intake)
        s.flush()
        assert intake.id is not None
        flags = db.sealer.seal_json([])
        item = queue.queue_review(s, session_id=intake.id, priority=priority, red_flags=flags)
        if created_at is not None:
            item.created_at = created_at
            s.add(item)
        assert item.id is not None
        return item.id


def test_list_orders_by_urgency_then_age(database: Database) -> None:
    """Emergency before same-day before soon before routine; within a level, oldest first."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    old_routine = add_item(database, user=1, priority="routine", created_at=base)
    soon = add_item(database, user=2, priority="soon", created_at=base + timedelta(hours=2))
    new_routine = add_item(database, user=3, priority="routine", created_at=base + timedelta(1))
    emergency = add_item(database, user=4, priority="emergency", created_at=base + timedelta(3))
    same_day = add_item(database, user=5, priority="same_day", created_at=base + timedelta(2))
    with database.transaction() as s:
        ids = [i.id for i in queue.list_review_items(s)]
    assert ids == [emergency, same_day, soon, old_routine, new_routine]


def test_list_filters_by_status_priority_and_dates(database: Database) -> None:
    """Filters narrow the list; the date range is [since, until)."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    a = add_item(database, user=1, priority="routine", created_at=base)
    b = add_item(database, user=2, priority="soon", created_at=base + timedelta(days=1))
    with database.transaction() as s:
        assert queue.claim_item(s, item_id=a, by="dr", name="n")
    with database.transaction() as s:
        assert [i.id for i in queue.list_review_items(s, status="pending")] == [b]
        assert [i.id for i in queue.list_review_items(s, priority="routine")] == [a]
        since = base + timedelta(hours=1)
        assert [i.id for i in queue.list_review_items(s, since=since)] == [b]
        assert [i.id for i in queue.list_review_items(s, until=since)] == [a]


def test_claim_release_review_reopen_cycle(database: Database) -> None:
    """Each state change happens only from the state it starts from."""
    item_id = add_item(database, user=1, priority="routine")
    with database.transaction() as s:
        assert not queue.release_item(s, item_id=item_id, by="dr a")
        assert not queue.reopen_item(s, item_id=item_id)
        assert queue.claim_item(s, item_id=item_id, by="dr a", name="n")
        assert not queue.claim_item(s, item_id=item_id, by="dr b", name="n")
        assert not queue.release_item(s, item_id=item_id, by="dr b")
        assert queue.release_item(s, item_id=item_id, by="dr a")
        assert queue.mark_reviewed(s, item_id=item_id, by="dr b", name="B", note="n")
        assert not queue.mark_reviewed(s, item_id=item_id, by="dr b", name="B", note="n")
    with database.transaction() as s:
        item = queue.get_review_item(s, item_id=item_id)
        assert item is not None
        assert (item.status, item.claimed_by, item.claimed_name) == ("reviewed", "dr b", "B")
        assert item.note == "n"
        assert item.reviewed_at is not None
        assert queue.reopen_item(s, item_id=item_id)
    with database.transaction() as s:
        item = queue.get_review_item(s, item_id=item_id)
        assert item is not None
        assert (item.status, item.claimed_by, item.reviewed_at) == ("pending", None, None)


def test_two_concurrent_claims_one_wins(database: Database) -> None:
    """Two threads claiming the same item at once: exactly one succeeds, and it is recorded."""
    item_id = add_item(database, user=1, priority="emergency")
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def claim(name: str) -> None:
        barrier.wait()
        with database.transaction() as s:
            results[name] = queue.claim_item(s, item_id=item_id, by=name, name="n")

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [False, True]
    winner = next(name for name, won in results.items() if won)
    with database.transaction() as s:
        item = s.get(ReviewItem, item_id)
        assert item is not None
        assert item.claimed_by == winner


def test_many_concurrent_claims_one_wins(database: Database) -> None:
    """Eight threads racing for one item: one winner, no errors."""
    item_id = add_item(database, user=1, priority="routine")
    barrier = threading.Barrier(8)
    wins: list[str] = []
    errors: list[BaseException] = []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            with database.transaction() as s:
                if queue.claim_item(s, item_id=item_id, by=name, name="n"):
                    wins.append(name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(f"dr{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(wins) == 1


def test_outbox_due_sent_and_backoff(database: Database) -> None:
    """Due rows come back until sent; a failure postpones the row and counts the attempt."""
    item_id = add_item(database, user=1, priority="routine")
    with database.transaction() as s:
        row = queue.enqueue(s, topic="review_item", ref_id=item_id)
        later = queue.enqueue(
            s, topic="review_item", ref_id=item_id, not_before=utcnow() + timedelta(hours=1)
        )
        row_id, later_id = row.id, later.id
    assert row_id is not None
    assert later_id is not None
    with database.transaction() as s:
        assert [r.id for r in outbox_rows.due_outbox(s)] == [row_id]
        attempts = outbox_rows.mark_failed(
            s, row_id=row_id, error="NetworkError", next_try_at=utcnow() + timedelta(minutes=5)
        )
        assert attempts == 1
    with database.transaction() as s:
        assert outbox_rows.due_outbox(s) == []
        assert [r.id for r in outbox_rows.due_outbox(s, now=utcnow() + timedelta(minutes=6))] == [
            row_id
        ]
        outbox_rows.mark_sent(s, row_id=row_id)
    with database.transaction() as s:
        assert outbox_rows.due_outbox(s, now=utcnow() + timedelta(days=1)) == [
            s.get(OutboxMessage, later_id)
        ]
        assert [r.id for r in outbox_rows.pending_outbox(s)] == [later_id]
        nxt = outbox_rows.next_outbox_time(s)
        assert nxt is not None
        assert nxt > utcnow()


def test_audit_events_are_filtered(database: Database) -> None:
    """Audit rows are kept in order and can be filtered by item, actor and action."""
    item_id = add_item(database, user=1, priority="routine")
    with database.transaction() as s:
        queue.audit(s, actor="clinician:1", action="review.viewed", review_item_id=item_id)
        queue.audit(s, actor="clinician:2", action="review.claimed", review_item_id=item_id)
        queue.audit(s, actor="clinician:2", action="access.denied")
    with database.transaction() as s:
        assert [e.action for e in queue.audit_events(s, review_item_id=item_id)] == [
            "review.viewed",
            "review.claimed",
        ]
        assert [e.action for e in queue.audit_events(s, actor="clinician:2")] == [
            "review.claimed",
            "access.denied",
        ]
        assert len(queue.audit_events(s, action="access.denied")) == 1


def test_counts_by_status_and_priority(database: Database) -> None:
    """Counts group items by status and priority."""
    a = add_item(database, user=1, priority="routine")
    add_item(database, user=2, priority="routine")
    add_item(database, user=3, priority="emergency")
    with database.transaction() as s:
        queue.claim_item(s, item_id=a, by="dr", name="n")
    with database.transaction() as s:
        counts = queue.count_review_items(s)
    assert counts == {
        ("claimed", "routine"): 1,
        ("pending", "routine"): 1,
        ("pending", "emergency"): 1,
    }


def test_reviewing_another_clinicians_claim_needs_force(database: Database) -> None:
    """Only the claimant marks a claimed item reviewed or releases it, unless forced."""
    item_id = add_item(database, user=1, priority="routine")
    with database.transaction() as s:
        assert queue.claim_item(s, item_id=item_id, by="dr a", name="A")
        assert not queue.mark_reviewed(s, item_id=item_id, by="dr b", name="B", note=None)
        assert queue.mark_reviewed(s, item_id=item_id, by="dr b", name="B", note=None, force=True)
        item = queue.get_review_item(s, item_id=item_id)
        assert item is not None
        assert (item.status, item.claimed_by, item.claimed_name) == ("reviewed", "dr b", "B")


def test_claim_next_takes_the_most_urgent_oldest_pending_item(database: Database) -> None:
    """Claiming the next item follows the queue order and skips claimed ones."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    routine = add_item(database, user=1, priority="routine", created_at=base)
    soon = add_item(database, user=2, priority="soon", created_at=base + timedelta(1))
    with database.transaction() as s:
        assert queue.claim_next(s, by="a", name="n") == soon
        assert queue.claim_next(s, by="b", name="n") == routine
        assert queue.claim_next(s, by="c", name="n") is None
        item = queue.get_review_item(s, item_id=soon)
    assert item is not None
    assert (item.status, item.claimed_by) == ("claimed", "a")


def test_concurrent_claim_next_never_hands_one_item_to_two(database: Database) -> None:
    """Six clinicians taking the next item at once get six different items."""
    for user in range(6):
        add_item(database, user=user + 1, priority="routine")
    barrier = threading.Barrier(6)
    got: list[int | None] = []

    def take(name: str) -> None:
        barrier.wait()
        with database.transaction() as s:
            got.append(queue.claim_next(s, by=name, name="n"))

    threads = [threading.Thread(target=take, args=(f"dr{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in got
    assert len(set(got)) == 6
