"""The intake service on a real SQLite file: idempotency, consent, the review item, restart,
erasure, the patient's copy, unreachable marks and sealing at rest."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel, select

from bot.composition import build_services
from flows.engine.conversation.prompts import Placeholders
from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile, PromptKind, Turn
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from storage.database import Database
from storage.queue import PRIORITY_RANK
from storage.sealing import new_key
from storage.tables import (
    AuditEvent,
    IntakeSession,
    OutboxMessage,
    Patient,
    ReviewItem,
)
from tests.conftest import BOOKING_URL, EMERGENCY_NUMBER, make_settings, say
from tests.flows.bundled_scenarios import typed_lines_of

ROUTINE = typed_lines_of("routine")
USER = 42


def rows(database: Database, table: type[SQLModel]) -> list[Any]:
    """Every row of a table."""
    with database.transaction() as tx:
        return list(tx.exec(select(table)))


def item_flags(database: Database, item: Any) -> list[dict[str, Any]]:
    """A review item's red flags, unsealed."""
    flags: list[dict[str, Any]] = database.sealer.unseal_json(item.red_flags)
    return flags


def blob(database: Database, session: IntakeSession) -> dict[str, Any]:
    """A session's state, unsealed."""
    opened: dict[str, Any] = database.sealer.unseal_json(session.state)
    return opened


def act(service: IntakeService, kind: ActionKind, **fields: Any) -> Turn:
    """One non-text action from USER."""
    return service.handle_sync(Inbound(user_id=USER, action=Action(kind, **fields)))


def play(service: IntakeService, lines: list[str], user: int = USER) -> Turn:
    """Type each line (a '/skip' line presses Skip on the current question); the last turn."""
    turn = Turn()
    for line in lines:
        if line == "/skip":
            index = turn.prompts[-1].step_index
            action = Action(ActionKind.SKIP, session_id=turn.session_id, step_index=index)
            turn = service.handle_sync(Inbound(user_id=user, action=action))
        else:
            turn = say(service, user, line)
    return turn


def test_a_repeated_update_id_changes_nothing(service: IntakeService, database: Database) -> None:
    """The same update id twice: the second turn is a duplicate and nothing changes."""
    say(service, USER, "I agree", update_id=1)
    first = say(service, USER, "34", update_id=2)
    assert first.answered_step == "age"
    again = say(service, USER, "35", update_id=2)
    assert again.duplicate
    assert again.prompts == ()
    [session] = rows(database, IntakeSession)
    assert blob(database, session)["step"] == first.prompts[-1].step
    assert blob(database, session)["answers"]["age"] == 34


def test_a_button_of_another_intake_or_step_is_stale(
    service: IntakeService, database: Database
) -> None:
    """A press carrying another session id or another step's index changes nothing."""
    turn = play(service, ROUTINE[:2])
    question = turn.prompts[-1]
    assert question.step == "sex_at_birth"
    other_session = act(
        service,
        ActionKind.CHOOSE,
        session_id=(turn.session_id or 0) + 1,
        step_index=question.step_index,
        option_index=0,
    )
    other_step = act(
        service,
        ActionKind.CHOOSE,
        session_id=turn.session_id,
        step_index=(question.step_index or 0) - 1,
        option_index=0,
    )
    assert other_session.stale
    assert other_step.stale
    [session] = rows(database, IntakeSession)
    assert blob(database, session)["step"] == "sex_at_birth"
    pressed = act(
        service,
        ActionKind.CHOOSE,
        session_id=turn.session_id,
        step_index=question.step_index,
        option_index=0,
    )
    assert pressed.answered_step == "sex_at_birth"


def test_nothing_is_stored_before_consent(service: IntakeService, database: Database) -> None:
    """Opening, re-asking and typing before consent store no patient, session or answer."""
    opening = act(service, ActionKind.START)
    assert opening.prompts[-1].step == "consent"
    assert say(service, USER, "what is this?").prompts[-1].step == "consent"
    for table in (Patient, IntakeSession, ReviewItem):
        assert rows(database, table) == []


def test_declining_stores_nothing_and_offers_the_booking_link(
    service: IntakeService, database: Database
) -> None:
    """Declining ends the intake, stores nothing, and still gives the booking link."""
    turn = say(service, USER, "No, thanks")
    assert turn.ended
    assert turn.prompts[-1].kind == PromptKind.END
    assert BOOKING_URL.split("{")[0] in turn.prompts[-1].text
    for table in (Patient, IntakeSession, ReviewItem, AuditEvent):
        assert rows(database, table) == []


def test_an_emergency_before_consent_is_escalated_but_not_stored(
    service: IntakeService, database: Database
) -> None:
    """Typing an emergency before consenting gets the escalation; still nothing is stored."""
    turn = say(service, USER, "I threw up blood this morning")
    assert turn.prompts[0].kind == PromptKind.ESCALATION
    assert EMERGENCY_NUMBER in turn.prompts[0].text
    assert rows(database, Patient) == []


def with_line(index: int, value: str) -> list[str]:
    """The routine transcript with one line replaced."""
    return [*ROUTINE[:index], value, *ROUTINE[index + 1 :]]


URGENT_NOW, URGENT_TODAY, WARNING_SIGNS = 4, 7, 8  # lines of routine.txt


@pytest.mark.parametrize(
    ("lines", "priority", "flags"),
    [
        (ROUTINE, "routine", []),
        (with_line(WARNING_SIGNS, "Food sticking"), "soon", ["swallowing"]),
        (with_line(URGENT_TODAY, "Yellow skin or eyes"), "same_day", ["jaundice"]),
        (with_line(URGENT_NOW, "Green vomit")[: URGENT_NOW + 1], "emergency", ["green_vomit"]),
    ],
)
def test_an_ended_intake_queues_exactly_one_review_item(
    service: IntakeService, database: Database, lines: list[str], priority: str, flags: list[str]
) -> None:
    """Completed or escalated: one review item, with the most urgent level raised.

    A same-day flag queues the item when it is raised; the end then updates that item.
    """
    last = play(service, lines)
    assert last.ended
    [item] = rows(database, ReviewItem)
    assert item.priority_rank == PRIORITY_RANK[priority]
    assert [flag["id"] for flag in database.sealer.unseal_json(item.red_flags)] == flags
    [session] = rows(database, IntakeSession)
    assert item.session_id == session.id
    assert session.status == ("escalated" if priority == "emergency" else "completed")
    owed = [("review_item", item.id)]
    if priority == "same_day":
        owed.append(("review_update", item.id))
    assert [(m.topic, m.ref_id) for m in rows(database, OutboxMessage)] == owed
    say(service, USER, "thanks!")  # text after the end queues nothing more
    assert len(rows(database, ReviewItem)) == 1


def test_a_completed_intake_links_the_booking_page_with_its_id(service: IntakeService) -> None:
    """The last message has the booking link with this intake's id filled in."""
    last = play(service, ROUTINE)
    assert BOOKING_URL.format(intake_id=last.session_id) in last.prompts[-1].text


def test_an_emergency_is_queued_at_once(service: IntakeService, database: Database) -> None:
    """The emergency turn itself leaves the escalated session's review item in the queue."""
    play(service, ROUTINE[:URGENT_NOW])
    assert rows(database, ReviewItem) == []
    turn = say(service, USER, "1")
    assert turn.escalation == "emergency"
    assert turn.prompts[0].kind == PromptKind.ESCALATION
    assert [i.priority_rank for i in rows(database, ReviewItem)] == [PRIORITY_RANK["emergency"]]


def test_restart_cancels_the_intake_and_starts_afresh(
    service: IntakeService, database: Database
) -> None:
    """/restart cancels the intake in progress and asks for consent again; nothing is queued."""
    play(service, ROUTINE[:5])
    turn = act(service, ActionKind.RESTART)
    assert turn.prompts[-1].step == "consent"
    [old] = rows(database, IntakeSession)
    assert old.status == "cancelled"
    play(service, ROUTINE[:2])
    sessions = rows(database, IntakeSession)
    assert [s.status for s in sessions] == ["cancelled", "active"]
    assert blob(database, sessions[1])["step"] == "sex_at_birth"
    assert rows(database, ReviewItem) == []


async def test_delete_erases_the_patient_their_intakes_and_queued_item(
    service: IntakeService, database: Database
) -> None:
    """/delete removes the patient, every intake and the review item queued for the clinician
    (tests/flows/test_patient_data.py walks every table)."""
    play(service, with_line(URGENT_NOW, "1")[: URGENT_NOW + 1])
    assert len(rows(database, ReviewItem)) == 1
    deletion = await service.delete_patient(user_id=USER)
    assert deletion.deleted
    assert deletion.message == service.message("deleted")
    for table in (Patient, IntakeSession, ReviewItem):
        assert rows(database, table) == []
    assert say(service, USER, "hello").prompts[-1].step == "consent"  # starts afresh


async def test_patient_copy_lists_their_answers(service: IntakeService) -> None:
    """/mydata gives the patient's own answers of their intake, nothing before consent."""
    empty = await service.patient_copy(user_id=USER)
    assert empty == [service.message("mydata_empty")]
    play(service, ROUTINE[:3])
    lines = await service.patient_copy(user_id=USER)
    assert lines[0] == service.message("mydata_header")
    assert any(line.endswith(": 34 years") for line in lines)
    assert any(line.endswith(": Female") for line in lines)


async def test_mark_unreachable_keeps_the_intake(
    service: IntakeService, database: Database
) -> None:
    """A patient who blocked the bot is marked unreachable; their intake stays as it was."""
    play(service, ROUTINE[:3])
    await service.mark_unreachable(user_id=USER)
    [patient] = rows(database, Patient)
    assert patient.unreachable
    [session] = rows(database, IntakeSession)
    assert session.status == "active"
    assert "patient.unreachable" in [e.action for e in rows(database, AuditEvent)]


def test_an_encryption_key_seals_answers_at_rest(
    database_url: str, bundled_flow: LoadedFlow
) -> None:
    """With a key, answers, state and names are not stored as plain text, and still read back."""
    settings = make_settings(database_url, encryption_key=new_key())
    services = build_services(settings, active=bundled_flow)
    try:
        service = services.intake
        profile = Profile(display_name="Ada Lovelace", username="ada")
        start = Inbound(
            user_id=USER, action=Action(ActionKind.TEXT, text="I agree"), profile=profile
        )
        service.handle_sync(start)
        play(service, [*ROUTINE[1:9], "bloated after cheese"])
        with services.database.engine.connect() as conn:
            stored = [row[0] for row in conn.execute(text("SELECT state FROM intake_sessions"))]
            names = conn.execute(text("SELECT display_name, username FROM patients")).one()
        assert stored
        assert all(value.startswith("f1:") for value in stored)
        assert not any("cheese" in value for value in stored)
        assert names[0].startswith("f1:")
        assert names[1].startswith("f1:")
        copy = services.intake.patients.copy(user_id=USER)
        assert any(line.endswith(": bloated after cheese") for line in copy)
    finally:
        services.close()


TYPED = ["1", "2", "3", "11", "yes", "no", "None of these", "7/10", "3 weeks", "submit", "change"]
TYPED += ["Age", "abc", "never", "I threw up blood", "no blood", "do I have leaky gut?"]
KEYS = [ActionKind.CHOOSE, ActionKind.TOGGLE, ActionKind.DONE, ActionKind.SKIP, ActionKind.BACK]
engine_moves = st.lists(
    st.one_of(
        st.sampled_from(TYPED).map(lambda text: (ActionKind.TEXT, text)),
        st.tuples(st.sampled_from(KEYS), st.integers(min_value=0, max_value=11)),
    ),
    max_size=12,
)
users = itertools.count(10_000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=1, max_value=len(ROUTINE) - 1), moves=engine_moves)
def test_stored_every_turn_the_service_behaves_like_the_engine(
    shared_service: IntakeService, cut: int, moves: list[Any]
) -> None:
    """Saved and reloaded at every turn (as a new process would), an intake says exactly what
    the in-memory engine says for the same moves: nothing of the state is lost in storage."""
    user, conversation = next(users), shared_service.registry.active_conversation()
    state, session_id = conversation.new_state("en"), None
    lines = [(ActionKind.TEXT, line) for line in ROUTINE[:cut] if line != "/skip"]
    for kind, value in [*lines, *moves]:
        if state.ended:
            break
        action = (
            Action(kind, text=value)
            if kind == ActionKind.TEXT
            else Action(
                kind,
                session_id=session_id,
                step_index=conversation.fm.index[state.step],
                option_index=value,
            )
        )
        expected = conversation.handle(state, action, Placeholders(emergency_number="999"))
        turn = shared_service.handle_sync(Inbound(user_id=user, action=action))
        session_id = turn.session_id or session_id
        assert [p.text for p in turn.prompts] == [p.text for p in expected.prompts]
        assert turn.ended == state.ended


@pytest.fixture(scope="module")
def shared_service(
    tmp_path_factory: pytest.TempPathFactory, bundled_flow: LoadedFlow
) -> Iterator[IntakeService]:
    """One service for every example (each example is another patient); no booking link."""
    url = f"sqlite:///{tmp_path_factory.mktemp('property') / 'intake.db'}"
    services = build_services(
        make_settings(url, booking_url="", emergency_number="999"), active=bundled_flow
    )
    yield services.intake
    services.close()
