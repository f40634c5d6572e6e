"""Text after an intake ended: red flags are stored with their evidence, raise (or open) the one
review item, are audited and owe the review chat a fresh card; the patient is told what to do and
that a clinician will be told, never that more questions follow."""

from __future__ import annotations

import pytest

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.values import Action, ActionKind, Inbound, PromptKind
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from storage import queue
from storage.database import Database
from storage.queue import priority_of
from storage.tables import AuditEvent, IntakeSession, OutboxMessage, ReviewItem
from tests.conftest import EMERGENCY_NUMBER, say
from tests.flows.test_intake_service import ROUTINE, USER, blob, item_flags, play, rows

EMERGENCY_TEXT = "I threw up blood this morning"
SAME_DAY_TEXT = "my skin and eyes have gone yellow"


def item_of(database: Database) -> ReviewItem:
    """The one review item."""
    [item] = rows(database, ReviewItem)
    return item


def test_an_emergency_after_the_end_raises_the_item_and_is_audited(
    service: IntakeService, database: Database
) -> None:
    """A completed routine intake, then an emergency phrase: the emergency message first (with
    the number), then that a clinician will be told; the item is raised to emergency with the
    evidence, audited, and the review chat is owed a new card."""
    play(service, ROUTINE)
    assert priority_of(item_of(database)) == "routine"

    turn = say(service, USER, EMERGENCY_TEXT)

    first, last = turn.prompts[0], turn.prompts[-1]
    assert first.kind is PromptKind.ESCALATION
    assert first.level == "emergency"
    assert EMERGENCY_NUMBER in first.text
    assert "clinician" in last.text
    assert "question" not in last.text.lower()
    assert turn.escalation == "emergency"
    item = item_of(database)
    assert (priority_of(item), item.status) == ("emergency", "pending")
    [flag] = [f for f in item_flags(database, item) if f["id"] == "vomit_blood"]
    assert flag["when"] == "after_end"
    [evidence] = flag["evidence"]
    assert evidence["source"] == "free_text"
    assert "threw up blood" in evidence["words"]
    [session] = rows(database, IntakeSession)
    assert session.status == "completed"
    assert blob(database, session)["raised"]["vomit_blood"] == "emergency"
    audits = [a for a in rows(database, AuditEvent) if a.action == "intake.flag_after_end"]
    assert [(a.review_item_id, a.detail) for a in audits] == [(item.id, "emergency")]
    topics = [m.topic for m in rows(database, OutboxMessage)]
    assert topics == ["review_item", "review_raised"]


def test_a_same_day_flag_after_the_end_promises_no_more_questions(
    service: IntakeService, database: Database
) -> None:
    """Same-day words after the end: the flag's after-end text (see a doctor today, the number),
    no 'we'll carry on with the questions'; the item rises to same_day."""
    play(service, ROUTINE)
    turn = say(service, USER, SAME_DAY_TEXT)

    texts = [p.text for p in turn.prompts]
    assert any("today" in t and EMERGENCY_NUMBER in t for t in texts)
    assert not any("carry on" in t or "questions" in t for t in texts)
    assert priority_of(item_of(database)) == "same_day"


def test_after_end_texts_of_the_bundled_flow_never_promise_questions(
    bundled_flow: LoadedFlow,
) -> None:
    """Every red flag's after-end message, at its own level and raised by a modifier."""
    from flows.engine.conversation.turns import Conversation

    conversation = Conversation(bundled_flow.flow)
    ui = PromptBuilder(conversation.fm, Placeholders(emergency_number="999"), "en")
    for rule in bundled_flow.flow.red_flags:
        for level in ("emergency", "same_day", "soon"):
            text = ui.after_end(rule.id, level).text.lower()
            assert "carry on" not in text, (rule.id, level)
            assert "questions" not in text, (rule.id, level)


def test_repeated_and_lower_flags_never_lower_the_item(
    service: IntakeService, database: Database
) -> None:
    """The same emergency again, in other words, is told again and its evidence added; a later
    same-day flag leaves the priority at emergency, and no second item is ever made."""
    play(service, ROUTINE)
    say(service, USER, EMERGENCY_TEXT)
    again = say(service, USER, "I vomited blood again just now")
    say(service, USER, SAME_DAY_TEXT)

    assert again.prompts[0].level == "emergency"
    item = item_of(database)
    assert priority_of(item) == "emergency"
    [flag] = [f for f in item_flags(database, item) if f["id"] == "vomit_blood"]
    assert len(flag["evidence"]) == 2
    assert {f["id"] for f in item_flags(database, item)} >= {
        "vomit_blood",
        "jaundice",
    }


def test_a_reviewed_item_goes_back_to_pending_with_a_new_flag(
    service: IntakeService, database: Database
) -> None:
    """A clinician already marked the intake reviewed: a flag after the end reopens it."""
    play(service, ROUTINE)
    item = item_of(database)
    with database.transaction() as tx:
        assert queue.mark_reviewed(tx, item_id=item.id or 0, by="cli:dr", name="dr", note=None)
    say(service, USER, EMERGENCY_TEXT)
    assert item_of(database).status == "pending"
    actions = [a.action for a in rows(database, AuditEvent)]
    assert "review.reopened" in actions


def test_plain_text_after_the_end_changes_nothing(
    service: IntakeService, database: Database
) -> None:
    """Thanks after the end: the usual reminder; the item and outbox stay as they were."""
    play(service, ROUTINE)
    before = [m.topic for m in rows(database, OutboxMessage)]
    turn = say(service, USER, "thank you so much!")
    assert "already been sent" in turn.prompts[0].text
    assert priority_of(item_of(database)) == "routine"
    assert [m.topic for m in rows(database, OutboxMessage)] == before


def test_vague_words_after_the_end_ask_and_a_yes_raises_the_flag(
    service: IntakeService, database: Database
) -> None:
    """Unsure words ask the flag's confirming question with buttons bound to the ended intake;
    a stale confirm changes nothing, and Yes raises the flag."""
    play(service, ROUTINE)
    asked = say(service, USER, "I've been feeling a bit dizzy and dry")
    question = asked.prompts[-1]
    assert question.answer_kind == "confirm"
    assert priority_of(item_of(database)) == "routine"

    def press(option: int, session: int | None) -> object:
        action = Action(
            ActionKind.CONFIRM,
            session_id=session,
            step_index=question.step_index,
            option_index=option,
        )
        return service.handle_sync(Inbound(user_id=USER, action=action))

    stale = press(0, 999)
    assert getattr(stale, "stale", False)
    turn = press(0, asked.session_id)
    assert getattr(turn, "escalation", None) == "same_day"
    assert priority_of(item_of(database)) == "same_day"


@pytest.mark.parametrize("text", ["I agree"])
def test_an_answer_to_the_first_question_starts_a_new_intake(
    service: IntakeService, database: Database, text: str
) -> None:
    """After the end, the consent answer starts afresh: that is not 'text after the end'."""
    play(service, ROUTINE)
    turn = say(service, USER, text)
    assert turn.prompts[-1].step == "age"
    assert len(rows(database, IntakeSession)) == 2


def test_a_flag_after_cancelling_reaches_the_clinicians(
    service: IntakeService, database: Database
) -> None:
    """After /cancel, a red flag is stored on the cancelled intake and queued; other text
    starts a new intake as before."""
    play(service, ROUTINE[:4])
    service.handle_sync(Inbound(user_id=USER, action=Action(ActionKind.CANCEL)))
    assert rows(database, ReviewItem) == []
    turn = say(service, USER, EMERGENCY_TEXT)
    assert turn.prompts[0].level == "emergency"
    assert priority_of(item_of(database)) == "emergency"
    again = say(service, USER, "I agree")
    assert again.prompts[-1].step == "age"
