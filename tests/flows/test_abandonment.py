"""Flags that must reach clinicians even when the intake does not end: a same-day flag queues the
review item at once (the end updates it, never a second one), an idle intake with flags is
closed and queued as incomplete, a routine idle one is only counted; and buttons, Back included,
belong to their intake."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from flows.engine.conversation.values import Action, ActionKind, Inbound
from flows.intake.abandonment import IdleSweeper
from flows.intake.referral import refer
from flows.intake.service import IntakeService
from flows.review.records import to_record
from storage.database import Database
from storage.queue import priority_of
from storage.tables import AuditEvent, IntakeSession, OutboxMessage, ReviewItem, utcnow
from tests.conftest import say
from tests.flows.test_intake_service import (
    ROUTINE,
    URGENT_TODAY,
    USER,
    WARNING_SIGNS,
    blob,
    item_flags,
    play,
    rows,
    with_line,
)

SAME_DAY_LINES = with_line(URGENT_TODAY, "Yellow skin or eyes")


def test_a_same_day_flag_is_queued_when_raised_and_the_end_updates_it(
    service: IntakeService, database: Database
) -> None:
    """The review item exists as soon as the same-day flag is raised (intake in progress); the
    completed intake, with a soon flag too, updates that item: same_day kept, flags merged."""
    play(service, SAME_DAY_LINES[: URGENT_TODAY + 1])
    [item] = rows(database, ReviewItem)
    assert (priority_of(item), [f["id"] for f in item_flags(database, item)]) == (
        "same_day",
        ["jaundice"],
    )
    with database.reading() as tx:
        assert to_record(tx, item, database.sealer).intake_status == "in_progress"

    rest = with_line(WARNING_SIGNS, "Food sticking")[URGENT_TODAY + 1 :]
    last = play(service, rest)
    assert last.ended
    [item] = rows(database, ReviewItem)
    assert priority_of(item) == "same_day"
    assert {f["id"] for f in item_flags(database, item)} == {
        "jaundice",
        "swallowing",
    }
    assert [m.topic for m in rows(database, OutboxMessage)] == ["review_item", "review_update"]


def test_priority_only_rises(service: IntakeService, database: Database) -> None:
    """Referring an emergency item again with a soon flag keeps it at emergency."""
    play(service, with_line(4, "Green vomit")[:5])
    [item] = rows(database, ReviewItem)
    assert priority_of(item) == "emergency"
    with database.transaction() as tx:
        referral = refer(
            tx,
            session_id=item.session_id,
            flags=[{"id": "swallowing", "level": "soon"}],
            sealer=database.sealer,
            actor="system",
        )
    assert not referral.raised
    assert not referral.opened
    [item] = rows(database, ReviewItem)
    assert priority_of(item) == "emergency"
    assert [f["id"] for f in item_flags(database, item)] == [
        "green_vomit",
        "swallowing",
    ]


def age_every_session(database: Database, hours: float) -> None:
    """Pretend every session's last turn was `hours` ago."""
    with database.transaction() as tx:
        for session in tx.exec(select(IntakeSession)):
            session.updated_at = utcnow() - timedelta(hours=hours)
            tx.add(session)


def test_idle_intakes_are_closed_flagged_ones_queued_as_incomplete(
    service: IntakeService, database: Database
) -> None:
    """Three intakes idle for a day: the routine one is closed and counted, the one with a soon
    flag is queued as incomplete with its answers, a fresh one is left alone."""
    play(service, ROUTINE[:6], user=1)  # routine so far
    play(service, with_line(WARNING_SIGNS, "Food sticking")[: WARNING_SIGNS + 2], user=2)
    age_every_session(database, 25)
    play(service, ROUTINE[:3], user=3)  # active a moment ago
    woken: list[int] = []
    sweeper = IdleSweeper(
        database=database, idle=timedelta(hours=24), notify=lambda: woken.append(1)
    )

    swept = sweeper.sweep()

    assert (swept.abandoned, swept.queued) == (2, 1)
    statuses = sorted(s.status for s in rows(database, IntakeSession))
    assert statuses == ["abandoned", "abandoned", "active"]
    [item] = rows(database, ReviewItem)
    assert priority_of(item) == "soon"
    with database.reading() as tx:
        record = to_record(tx, item, database.sealer)
    assert record.intake_status == "incomplete"
    assert woken == [1]
    assert [a.action for a in rows(database, AuditEvent)].count("intake.abandoned") == 2
    assert sweeper.sweep().abandoned == 0  # nothing twice


def test_a_patient_back_after_abandonment_is_told_and_can_start_again(
    service: IntakeService, database: Database
) -> None:
    """Typing into a closed intake says it was closed; /start begins a new one; a flag typed
    then still reaches the clinicians on the closed intake's item."""
    play(service, ROUTINE[:6])
    age_every_session(database, 25)
    IdleSweeper(database=database, idle=timedelta(hours=24)).sweep()
    turn = say(service, USER, "hello?")
    assert "quiet for a while" in turn.prompts[0].text
    say(service, USER, "I threw up blood")
    [item] = rows(database, ReviewItem)
    assert priority_of(item) == "emergency"
    opening = service.handle_sync(Inbound(user_id=USER, action=Action(ActionKind.START)))
    assert opening.prompts[-1].step == "consent"


def test_a_back_button_of_an_earlier_intake_changes_nothing(
    service: IntakeService, database: Database
) -> None:
    """After a restart, Back from the old intake's question is stale; the current one's works."""
    old = play(service, ROUTINE[:3])
    old_question = old.prompts[-1]
    service.handle_sync(Inbound(user_id=USER, action=Action(ActionKind.RESTART)))
    new = play(service, ROUTINE[:3])
    assert new.session_id != old.session_id

    def back(session: int | None, index: int | None) -> object:
        action = Action(ActionKind.BACK, session_id=session, step_index=index)
        return service.handle_sync(Inbound(user_id=USER, action=action))

    stale = back(old.session_id, old_question.step_index)
    assert getattr(stale, "stale", False)
    [current] = [s for s in rows(database, IntakeSession) if s.status == "active"]
    assert blob(database, current)["step"] == new.prompts[-1].step
    moved = back(new.session_id, new.prompts[-1].step_index)
    assert not getattr(moved, "stale", True)
    typed = service.handle_sync(Inbound(user_id=USER, action=Action(ActionKind.BACK)))
    assert not typed.stale  # /back typed carries no intake: it applies to the current one
