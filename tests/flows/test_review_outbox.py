"""Tests of the review outbox: what the review chat is owed, and backoff after failures."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from flows.review.outbox import BACKOFF_CAP, LEASE_SECONDS, Wakeup, backoff
from storage import outbox as outbox_rows
from storage import queue
from storage.database import Database
from storage.tables import ReviewItem, utcnow
from tests.flows.review_seed import open_database, review_outbox, review_service, seed_intake
from tests.flows.sample_flow import sample_flow


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A migrated, sealed SQLite database."""
    return open_database(tmp_path)


def test_new_item_is_a_card_to_send_with_claim_and_full_buttons(database: Database) -> None:
    """A queued intake becomes a card to send: summary text, Claim and Full answers."""
    item_id = seed_intake(database, user=1, priority="soon")
    (delivery,) = review_outbox(database).due()
    assert (delivery.kind, delivery.item_id, delivery.message_id) == ("send", item_id, None)
    assert delivery.text.startswith("SEE A DOCTOR SOON")
    assert delivery.buttons == ("claim", "full")


def test_emergencies_are_handed_out_first(database: Database) -> None:
    """When several rows are due, emergency cards come before older routine ones."""
    seed_intake(database, user=1)
    seed_intake(database, user=2)
    urgent = seed_intake(database, user=3, priority="emergency")
    deliveries = review_outbox(database).due()
    assert deliveries[0].item_id == urgent
    assert deliveries[0].text.startswith("EMERGENCY")


def test_delivered_card_is_edited_after_a_claim(database: Database) -> None:
    """Once sent, a status change becomes an edit of the same message with new buttons."""
    item_id = seed_intake(database, user=1)
    outbox = review_outbox(database)
    (card,) = outbox.due()
    outbox.delivered(card, message_id=555)
    assert outbox.due() == []
    review_service(database)[0].claim("clinician:1", item_id, name="Dr Lee")
    (edit,) = outbox.due()
    assert (edit.kind, edit.message_id, edit.buttons) == ("edit", 555, ("done", "full"))
    assert "Claimed by Dr Lee" in edit.text
    with database.transaction() as tx:
        events = queue.audit_events(tx, action="review.review_item.delivered")
    assert [e.review_item_id for e in events] == [item_id]


def test_update_before_the_card_went_out_is_skipped(database: Database) -> None:
    """An edit owed for a card not yet sent is skipped; the card shows the new state itself."""
    item_id = seed_intake(database, user=1)
    outbox = review_outbox(database)
    (card,) = outbox.due()
    outbox.failed(card, "NetworkError")
    review_service(database)[0].claim("clinician:1", item_id, name="Dr Lee")
    (update,) = outbox.due()
    assert update.kind == "skip"


def test_withdrawn_item_edits_the_card_without_patient_data(database: Database) -> None:
    """When the patient deletes their data, the card is replaced by a content-free notice."""
    item_id = seed_intake(database, user=1)
    outbox = review_outbox(database)
    (card,) = outbox.due()
    outbox.delivered(card, message_id=77)
    with database.transaction() as tx:
        item = tx.get(ReviewItem, item_id)
        assert item is not None
        item.status = "withdrawn"
        tx.add(item)
        queue.enqueue(tx, topic="review_withdrawn", ref_id=item_id)
    (edit,) = outbox.due()
    assert (edit.kind, edit.message_id, edit.buttons) == ("edit", 77, ())
    assert edit.text == f"Review #{item_id}: withdrawn. The patient deleted their data."


def test_failed_attempts_back_off_and_honour_retry_after(database: Database) -> None:
    """Each failure postpones the row by a growing delay; Telegram's retry_after is a floor."""
    seed_intake(database, user=1)
    outbox = review_outbox(database)
    (card,) = outbox.due()
    before = utcnow()
    at = outbox.failed(card, "TimedOut")
    assert 1.5 <= (at - before).total_seconds() <= 3
    assert outbox.due() == []
    with database.transaction() as tx:
        (row,) = outbox_rows.pending_outbox(tx)
        assert (row.attempts, row.last_error) == (1, "TimedOut")
    later = utcnow()
    again = outbox.failed(replace(card, attempts=1), "RetryAfter", 40)
    assert (again - later).total_seconds() >= 40
    wait = outbox.seconds_to_next()
    assert wait is not None
    assert 35 < wait <= 40


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0), (20, BACKOFF_CAP)]
)
def test_backoff_grows_exponentially_to_a_cap(attempts: int, seconds: float) -> None:
    """Backoff doubles per attempt from two seconds and stops at the cap."""
    assert backoff(attempts) == seconds


def test_a_row_handed_out_is_not_handed_out_again(database: Database) -> None:
    """A due row is leased to the worker that took it; a second look finds nothing."""
    seed_intake(database, user=1)
    outbox = review_outbox(database)
    assert len(outbox.due()) == 1
    assert outbox.due() == []
    wait = outbox.seconds_to_next()
    assert wait is not None
    assert 25 < wait <= LEASE_SECONDS


def test_two_workers_never_take_the_same_row(database: Database) -> None:
    """Two instances asking at the same moment split the due rows without overlap."""
    for user in range(1, 11):
        seed_intake(database, user=user)
    barrier = threading.Barrier(2)
    taken: list[list[int]] = []

    def work() -> None:
        outbox = review_outbox(database)
        barrier.wait()
        taken.append([d.row_id for d in outbox.due()])

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = taken
    assert not set(first) & set(second)
    assert len(first) + len(second) == 10


def test_an_unrenderable_item_gets_a_plain_card_and_does_not_block_others(
    database: Database,
) -> None:
    """An item whose flow version is gone still reaches the chat, without contents."""
    lost = seed_intake(database, user=1, flow=sample_flow().model_copy(update={"version": 99}))
    fine = seed_intake(database, user=2)
    deliveries = {d.item_id: d for d in review_outbox(database).due()}
    assert deliveries[lost].text == (
        f"ROUTINE · review #{lost}\nThe summary could not be rendered (LookupError): "
        "ask an operator to check the flow files and the encryption key."
    )
    assert deliveries[lost].kind == "send"
    assert deliveries[fine].text.startswith("ROUTINE · review #")
    assert "Digestive symptoms" in deliveries[fine].text


async def test_wakeup_from_another_thread_ends_the_wait_at_once() -> None:
    """`notify` from a worker thread wakes the waiting loop long before its timeout."""
    wakeup = Wakeup()
    wakeup.bind()
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(wakeup.wait(10))
    await asyncio.sleep(0.01)
    await asyncio.to_thread(wakeup.notify)
    assert await waiting is True
    assert loop.time() - started < 1
    assert await wakeup.wait(0.01) is False


def test_wakeup_before_any_loop_is_harmless() -> None:
    """Services used from the CLI notify a worker that does not exist: nothing happens."""
    Wakeup().notify()
