"""Tests of the review outbox: what the review chat is owed (content-free notices, or full
cards when the clinic chose them), retractions, and backoff after failures."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from flows.review.outbox import BACKOFF_CAP, LEASE_SECONDS, Wakeup, backoff
from storage import intakes, messages, queue
from storage import outbox as outbox_rows
from storage.database import Database
from storage.erasure import erase_patient
from storage.tables import ReviewItem, ReviewMessage, utcnow
from tests.flows.review_seed import open_database, review_outbox, review_service, seed_intake
from tests.flows.sample_flow import sample_flow


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A migrated, sealed SQLite database."""
    return open_database(tmp_path)


REVIEW_CHAT = -100


def test_new_item_is_a_content_free_notice_with_open_and_claim(database: Database) -> None:
    """A queued intake becomes a notice: level, number, age; no answer, name or id."""
    flags = [{"id": "vomit_blood", "level": "soon"}]
    item_id = seed_intake(database, user=1234567, priority="soon", flags=flags)
    (delivery,) = review_outbox(database).due()
    assert (delivery.kind, delivery.item_id, delivery.message_id) == ("send", item_id, None)
    lines = delivery.text.splitlines()
    assert lines[0] == f"SEE A DOCTOR SOON · review #{item_id}"
    assert lines[1].startswith("Queued ")
    assert lines[1].endswith("(under a minute ago)")
    assert f"/show {item_id}" in lines[2]
    for secret in ("Pat Example", "pat_ex", "1234567", "Bloating", "vomit", "Vomited"):
        assert secret not in delivery.text
    assert delivery.buttons == ("open", "claim")


def test_full_cards_mode_sends_the_summary(database: Database) -> None:
    """A clinic that chose full cards gets the clinician summary in the review chat."""
    seed_intake(database, user=1, priority="soon")
    (delivery,) = review_outbox(database, full_cards=True).due()
    assert delivery.text.startswith("SEE A DOCTOR SOON")
    assert "Patient: Pat Example" in delivery.text
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
    outbox.delivered(card, message_id=555, chat_id=REVIEW_CHAT)
    assert outbox.due() == []
    review_service(database)[0].claim("clinician:1", item_id, name="Dr Lee")
    (edit,) = outbox.due()
    assert (edit.kind, edit.message_id, edit.chat_id) == ("edit", 555, REVIEW_CHAT)
    assert edit.buttons == ("open", "done")
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


def test_an_erased_items_messages_are_retracted(database: Database) -> None:
    """When the patient deletes their data, the notice is edited to 'withdrawn' and the
    clinician's private summary is deleted; then nothing about them is remembered."""
    item_id = seed_intake(database, user=1)
    outbox = review_outbox(database)
    (notice,) = outbox.due()
    outbox.delivered(notice, message_id=77, chat_id=REVIEW_CHAT)
    review_service(database)[0].sent_privately(item_id, 900, [88, 89], "summary")
    hashes = database.sealer.lookup_hashes(1)
    with database.transaction() as tx:
        patient = intakes.find_patient(tx, hashes=hashes)
        erased = erase_patient(tx, patient=patient, hashes=hashes)
    assert erased.messages == 3
    deliveries = sorted(outbox.due(), key=lambda d: d.message_id or 0)
    assert [(d.kind, d.chat_id, d.message_id) for d in deliveries] == [
        ("edit", REVIEW_CHAT, 77),
        ("delete", 900, 88),
        ("delete", 900, 89),
    ]
    assert (
        deliveries[0].text == f"Review #{item_id}: withdrawn. The intake's data has been deleted."
    )
    assert deliveries[0].buttons == ()
    for delivery in deliveries:
        outbox.delivered(delivery)
    with database.transaction() as tx:
        assert tx.exec(select(ReviewMessage)).all() == []
        assert tx.get(ReviewItem, item_id) is None


def test_a_notice_sent_while_its_item_was_erased_is_retracted(database: Database) -> None:
    """A notice already on its way when the patient deleted their data is withdrawn next."""
    seed_intake(database, user=1)
    outbox = review_outbox(database)
    (notice,) = outbox.due()
    hashes = database.sealer.lookup_hashes(1)
    with database.transaction() as tx:
        erase_patient(tx, patient=intakes.find_patient(tx, hashes=hashes), hashes=hashes)
    outbox.delivered(notice, message_id=91, chat_id=REVIEW_CHAT)
    (retract,) = outbox.due()
    assert (retract.topic, retract.kind, retract.message_id) == (messages.RETRACT, "edit", 91)


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
    """In full-cards mode, an item whose flow version is gone still reaches the chat, without
    contents."""
    lost = seed_intake(database, user=1, flow=sample_flow().model_copy(update={"version": 99}))
    fine = seed_intake(database, user=2)
    deliveries = {d.item_id: d for d in review_outbox(database, full_cards=True).due()}
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
