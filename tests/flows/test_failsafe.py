"""Failed turns are never silent: the screened flag's message first, then the fallback with the
emergency number; counted, logged without the patient's words; the terminal chat alike."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator

import pytest

from flows.engine.conversation.values import PromptKind
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from flows.registry import FlowRegistry
from storage.database import Database
from storage.migrate import upgrade
from storage.sealing import SealError
from tests.conftest import BOOKING_URL, EMERGENCY_NUMBER, say

SECRET = "I threw up blood this morning"


@pytest.fixture
def quick(database_url: str, bundled_flow: LoadedFlow) -> Iterator[IntakeService]:
    """An intake service whose database waits only 200 ms for a lock."""
    database = Database(database_url, busy_timeout_ms=200)
    upgrade(database)
    registry = FlowRegistry(bundled_flow, database)
    yield IntakeService(
        database=database,
        registry=registry,
        booking_url=BOOKING_URL,
        emergency_number=EMERGENCY_NUMBER,
    )
    database.dispose()


@pytest.fixture
def locked(database_url: str) -> Iterator[None]:
    """Another connection holds the write lock, as another process would."""
    other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield
    other.rollback()
    other.close()


def test_an_emergency_typed_into_a_locked_database_is_still_answered(
    quick: IntakeService, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refuses the turn: the emergency message (with the number) goes first, then
    the fallback; the failure is counted and logged without the words."""
    say(quick, 7, "I agree", update_id=1)
    other = sqlite3.connect(quick.database.url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        turn = say(quick, 7, SECRET, update_id=2)
    finally:
        other.rollback()
        other.close()
    assert turn.failed
    first, second = turn.prompts
    assert first.kind is PromptKind.ESCALATION
    assert first.level == "emergency"
    assert EMERGENCY_NUMBER in first.text
    assert "has not received" in second.text
    assert EMERGENCY_NUMBER in second.text
    assert quick.failures == 1
    assert "turn.failed update_id=2 error=StorageError" in caplog.text
    assert SECRET not in caplog.text


def test_any_error_of_a_turn_gets_the_fallback(
    service: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only the database: a sealing error (or any bug) inside the turn is answered too."""
    say(service, 8, "I agree", update_id=1)

    def broken(*args: object, **kwargs: object) -> None:
        raise SealError("a sealed value could not be opened with this key")

    monkeypatch.setattr("flows.intake.service.open_state", broken)
    turn = say(service, 8, "34", update_id=2)
    assert turn.failed
    assert [p.kind for p in turn.prompts] == [PromptKind.NOTICE]  # no flag in "34"
    assert EMERGENCY_NUMBER in turn.prompts[0].text
    monkeypatch.undo()
    retried = say(service, 8, "34", update_id=2)  # nothing was stored: the same update applies
    assert retried.answered_step == "age"


def test_the_terminal_chat_answers_a_failed_turn(quick: IntakeService, locked: None) -> None:
    """The terminal chat prints the emergency message and the fallback, and keeps going."""
    from bot.terminal import TerminalChat

    out = io.StringIO()
    TerminalChat(quick, out=out).run(["I agree", SECRET, "/quit"])
    printed = out.getvalue()
    assert "!! Please call 999 now" in printed
    assert "has not received" in printed
    assert quick.failures >= 2  # the opening and each line failed; none crashed the chat
