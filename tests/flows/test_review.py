"""Tests of the review service: the queue, claims, reviews, exports and their audit trail."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from flows.review.records import (
    BadFormat,
    ClaimedByOther,
    ReviewError,
    UnknownItem,
    WrongState,
)
from flows.review.service import ReviewService
from storage import outbox as outbox_rows
from storage import queue
from storage.database import Database
from storage.tables import ReviewItem
from tests.flows.review_seed import Wakeups, open_database, review_service, seed_intake

DR = "clinician:900"


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """A migrated, sealed SQLite database."""
    return open_database(tmp_path)


@pytest.fixture
def service(database: Database) -> tuple[ReviewService, Wakeups]:
    """The review service over the sample flow."""
    return review_service(database)


def actions(database: Database, item_id: int | None = None) -> list[str]:
    """The audit actions recorded (for one item), in order."""
    with database.transaction() as tx:
        return [e.action for e in queue.audit_events(tx, review_item_id=item_id)]


def test_list_is_urgent_first_and_audited(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """The queue lists emergency before routine, oldest first, and the listing is audited."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    routine = seed_intake(database, user=1, queued_at=base)
    flags = [{"id": "vomit_blood", "level": "emergency"}]
    emergency = seed_intake(
        database, user=2, priority="emergency", flags=flags, queued_at=base + timedelta(1)
    )
    records = service[0].queue(DR)
    assert [r.item_id for r in records] == [emergency, routine]
    assert records[0].red_flags[0].level == "emergency"
    assert records[0].display_name == "Pat Example"
    assert "review.listed" in actions(database)


def test_list_filters_are_checked(service: tuple[ReviewService, Wakeups]) -> None:
    """An unknown status or priority is a clear error, not an empty list."""
    with pytest.raises(ReviewError, match="unknown status 'done'"):
        service[0].list_items(DR, status="done")
    with pytest.raises(ReviewError, match="unknown priority 'urgent'"):
        service[0].list_items(DR, priority="urgent")


def test_show_renders_summary_and_audits_the_view(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Showing an item gives its summary and full answers and records who viewed it."""
    item_id = seed_intake(database, user=5)
    view = service[0].show(DR, item_id)
    assert view.summary.startswith("ROUTINE")
    assert "Digestive symptoms: Bloating, Diarrhoea" in view.summary
    assert "Patient: Pat Example (@pat_ex) · Telegram id 5" in view.summary
    assert "Consent: I agree" in view.full_answers
    with database.transaction() as tx:
        (event,) = queue.audit_events(tx, review_item_id=item_id)
    assert (event.actor, event.action) == (DR, "review.viewed")


def test_unknown_item_is_reported(service: tuple[ReviewService, Wakeups]) -> None:
    """Every item action on a missing id raises UnknownItem naming the id."""
    svc = service[0]
    calls = [
        lambda: svc.show(DR, 404),
        lambda: svc.claim(DR, 404, name="A"),
        lambda: svc.release(DR, 404),
        lambda: svc.done(DR, 404, name="A", note=None),
        lambda: svc.reopen(DR, 404),
        lambda: svc.export(DR, 404, "json"),
    ]
    for call in calls:
        with pytest.raises(UnknownItem, match="no review item #404"):
            call()


def test_claim_review_reopen_cycle_is_audited_and_wakes_delivery(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Claim, release, review and reopen each change the item, owe a card edit and are audited."""
    svc, wakeups = service
    item_id = seed_intake(database, user=7)
    claimed = svc.claim(DR, item_id, name="Dr Lee")
    assert (claimed.claimed_by, claimed.claimer) == (DR, "Dr Lee")
    assert svc.release(DR, item_id).status == "pending"
    svc.claim(DR, item_id, name="Dr Lee")
    done = svc.done(DR, item_id, name="Dr Lee", note="booked a call")
    assert (done.status, done.note) == ("reviewed", "booked a call")
    assert svc.reopen(DR, item_id).status == "pending"
    assert actions(database, item_id) == [
        "review.claimed",
        "review.released",
        "review.claimed",
        "review.reviewed",
        "review.reopened",
    ]
    assert wakeups.count == 5
    with database.transaction() as tx:
        topics = [r.topic for r in outbox_rows.pending_outbox(tx)]
    assert topics == ["review_item"] + ["review_update"] * 5


def test_second_claim_loses_and_is_audited(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """A claim on a claimed item fails naming who has it; the refusal is audited."""
    svc = service[0]
    item_id = seed_intake(database, user=8)
    svc.claim(DR, item_id, name="Dr Lee")
    with pytest.raises(WrongState, match=r"cannot claim review item #\d+: it is claimed by Dr Lee"):
        svc.claim("clinician:901", item_id, name="Dr Kim")
    assert actions(database, item_id) == ["review.claimed", "review.claim_refused"]


def test_concurrent_claims_through_the_service_one_wins(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Two clinicians claiming at the same moment: one gets it, the other a WrongState."""
    svc = service[0]
    item_id = seed_intake(database, user=9)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(name: str) -> None:
        barrier.wait()
        try:
            svc.claim(f"clinician:{name}", item_id, name=name)
            outcomes[name] = "won"
        except WrongState:
            outcomes[name] = "lost"

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["lost", "won"]


def test_note_is_sealed_at_rest(database: Database, service: tuple[ReviewService, Wakeups]) -> None:
    """The clinician's note is stored encrypted and read back in the clear."""
    item_id = seed_intake(database, user=10)
    service[0].done(DR, item_id, name="Dr Lee", note="call back Tuesday")
    with database.transaction() as tx:
        row = tx.get(ReviewItem, item_id)
        assert row is not None
        assert row.note is not None
        assert "Tuesday" not in row.note
    assert service[0].show(DR, item_id).record.note == "call back Tuesday"


def test_wrong_state_changes_are_refused(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Releasing a pending item or reopening an unreviewed one is refused."""
    item_id = seed_intake(database, user=11)
    with pytest.raises(WrongState, match="cannot release"):
        service[0].release(DR, item_id)
    with pytest.raises(WrongState, match="cannot reopen"):
        service[0].reopen(DR, item_id)


def test_exports_in_every_format_are_audited(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """JSON, CSV and FHIR exports carry the answers; each export is an audit event."""
    svc = service[0]
    item_id = seed_intake(database, user=12)
    data = json.loads(svc.export(DR, item_id, "json"))
    assert data["id"] == item_id
    assert {a["step_id"] for a in data["answers"]} >= {"gi_symptoms", "age"}
    rows = list(csv.DictReader(io.StringIO(svc.export(DR, item_id, "csv"))))
    assert {r["step_id"] for r in rows} >= {"gi_symptoms", "age"}
    bundle = Bundle.model_validate_json(svc.export(DR, item_id, "fhir"))
    assert bundle.entry is not None
    assert len(bundle.entry) == 2
    with pytest.raises(BadFormat, match="unknown export format 'xml'"):
        svc.export(DR, item_id, "xml")
    with database.transaction() as tx:
        details = [e.detail for e in queue.audit_events(tx, action="review.exported")]
    assert details == ["json", "csv", "fhir"]


def test_export_all(database: Database, service: tuple[ReviewService, Wakeups]) -> None:
    """A bulk export holds every item; FHIR is per item only."""
    first = seed_intake(database, user=13)
    second = seed_intake(database, user=14, priority="soon")
    items = json.loads(service[0].export_all(DR, "json"))
    assert [i["id"] for i in items] == [second, first]
    rows = list(csv.DictReader(io.StringIO(service[0].export_all(DR, "csv"))))
    assert {r["item_id"] for r in rows} == {str(first), str(second)}
    with pytest.raises(BadFormat):
        service[0].export_all(DR, "fhir")


def test_audit_never_holds_answer_contents(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """After every kind of action, no audit row mentions an answer or the patient's name."""
    svc = service[0]
    item_id = seed_intake(database, user=15)
    svc.show(DR, item_id)
    svc.claim(DR, item_id, name="Dr Lee")
    svc.done(DR, item_id, name="Dr Lee", note="secret note")
    svc.export(DR, item_id, "json")
    svc.stats(DR)
    svc.deny_user(66, "/show")
    with database.transaction() as tx:
        events = queue.audit_events(tx)
    text = " ".join(f"{e.actor} {e.action} {e.detail}" for e in events)
    for secret in ("Bloating", "every meal", "Pat Example", "secret note"):
        assert secret not in text
    assert events[-1].action == "access.denied"
    # named by a keyed hash of the Telegram id (erased with the person), never the id
    assert events[-1].actor == f"user:{database.sealer.lookup_hash(66)}"


def test_acting_on_another_clinicians_claim_needs_force_and_is_audited(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Reviewing or releasing an item another clinician claimed is refused unless forced; a
    forced review is audited as forced, naming whose claim it overrode."""
    svc = service[0]
    item_id = seed_intake(database, user=30)
    svc.claim(DR, item_id, name="Dr Lee")
    other = "cli:kim"
    with pytest.raises(ClaimedByOther, match=r"claimed by Dr Lee .*--force"):
        svc.done(other, item_id, name="Dr Kim", note=None)
    with pytest.raises(ClaimedByOther):
        svc.release(other, item_id)
    done = svc.done(other, item_id, name="Dr Kim", note="seen", force=True)
    assert done.status == "reviewed"
    with database.transaction() as tx:
        trail = [
            (e.actor, e.action, e.detail) for e in queue.audit_events(tx, review_item_id=item_id)
        ]
    assert trail[-1] == (other, "review.reviewed", f"forced over {DR}")
    assert (other, "review.review_refused", "claimed") in trail


def test_denied_attempts_are_rate_limited(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """A flood of denied commands from one person writes one audit row a minute, not one each;
    the next row counts what was held back."""
    svc = service[0]
    for _ in range(50):
        svc.deny_user(66, "/queue")
    svc.deny_user(67, "/show")
    with database.transaction() as tx:
        denied = queue.audit_events(tx, action="access.denied")
    assert [e.detail for e in denied] == ["/queue", "/show"]


def test_stats_count_by_status_and_priority(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Stats count items per status and priority."""
    a = seed_intake(database, user=16)
    seed_intake(database, user=17, priority="emergency")
    service[0].claim(DR, a, name="Dr Lee")
    counts = service[0].stats(DR)
    assert counts == {("claimed", "routine"): 1, ("pending", "emergency"): 1}


def test_claim_next_is_audited_and_wakes_delivery(
    database: Database, service: tuple[ReviewService, Wakeups]
) -> None:
    """Claiming the next item records the claim, owes a card edit and wakes the worker."""
    svc, wakeups = service
    seed_intake(database, user=20)
    urgent = seed_intake(database, user=21, priority="emergency")
    record = svc.claim_next(DR, name="Dr Lee")
    assert record is not None
    assert (record.item_id, record.claimed_by, record.claimer) == (urgent, DR, "Dr Lee")
    assert actions(database, urgent) == ["review.claimed"]
    assert wakeups.count == 1
    svc.claim_next(DR, name="Dr Lee")
    assert svc.claim_next(DR, name="Dr Lee") is None
