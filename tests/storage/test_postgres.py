"""The intake on a real PostgreSQL: whole intakes, row locks, idempotency across instances.

Runs when INTAKE_TEST_POSTGRES_URL names a database (`.ci/run` starts one); in CI a missing
server is a failure, not a skip.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.composition import Services, build_services
from bot.settings import Settings
from bot.terminal import TerminalChat
from flows.engine.conversation.values import Action, ActionKind, Inbound
from storage import queue
from storage.tables import ReviewItem
from tests.flows.bundled_scenarios import typed_lines_of
from tests.storage.postgres import fresh_schema, requires_postgres

pytestmark = requires_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    with fresh_schema("t") as url:
        yield url


@pytest.fixture
def services(pg_url: str) -> Iterator[Services]:
    """Services on the PostgreSQL schema."""
    built = build_services(
        Settings(database_url=pg_url, booking_url="https://b.example/{intake_id}")
    )
    yield built
    built.close()


def replay(services: Services, name: str, user_id: int) -> str:
    """Type a bundled scenario into the terminal chat; the output."""
    out = io.StringIO()
    TerminalChat(services.intake, out=out, user_id=user_id).run(typed_lines_of(name))
    return out.getvalue()


def test_routine_and_emergency_intakes_on_postgres(services: Services) -> None:
    """Both scenarios run on PostgreSQL and queue one review item each, rightly prioritised."""
    routine = replay(services, "routine", user_id=101)
    emergency = replay(services, "emergency_vomit_blood", user_id=102)
    assert "https://b.example/" in routine
    assert "112" in emergency
    with services.database.transaction() as tx:
        items = tx.exec(select(ReviewItem).order_by(ReviewItem.id)).all()
    assert [queue.priority_of(i) for i in items] == ["routine", "emergency"]


def test_concurrent_turns_of_one_patient_are_serialised(services: Services) -> None:
    """Two instances toggling one patient's options at once lose none (row lock on the session)."""
    other = build_services(services.settings)
    try:
        turn = None
        for update_id, said in enumerate(["I agree", "44", "Female", "No"], start=1):
            action = Action(ActionKind.TEXT, text=said)
            turn = services.intake.handle_sync(
                Inbound(user_id=7, action=action, update_id=update_id)
            )
        assert turn is not None
        assert turn.prompts[-1].step == "urgent_now"
        session_id, step_index = turn.session_id, turn.prompts[-1].step_index
        barrier = threading.Barrier(2)

        def toggle(service: object, options: range) -> None:
            barrier.wait()
            for option in options:
                action = Action(ActionKind.TOGGLE, session_id=session_id,
                                step_index=step_index, option_index=option)  # fmt: skip
                service.handle_sync(  # type: ignore[attr-defined]
                    Inbound(user_id=7, action=action, update_id=100 + option)
                )

        threads = [
            threading.Thread(target=toggle, args=(services.intake, range(0, 5))),
            threading.Thread(target=toggle, args=(other.intake, range(5, 10))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        status = services.intake.handle_sync(Inbound(user_id=7, action=Action(ActionKind.STATUS)))
        selected = [c for c in status.prompts[-1].choices if c.selected]
        assert len(selected) == 10
    finally:
        other.close()


def test_a_repeated_update_is_applied_once_across_instances(services: Services) -> None:
    """The same update id delivered to two instances changes the intake once."""
    other = build_services(services.settings)
    try:
        inbound = Inbound(user_id=8, action=Action(ActionKind.TEXT, text="I agree"), update_id=50)
        first = services.intake.handle_sync(inbound)
        second = other.intake.handle_sync(inbound)
        assert not first.duplicate
        assert second.duplicate
    finally:
        other.close()
