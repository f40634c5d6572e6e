"""What a patient is sent again when the reply to their last turn may have been lost: the red
flag's message first, then where their intake stands; read from the stored intake only."""

from __future__ import annotations

from datetime import timedelta

from flows.engine.conversation.values import PromptKind
from flows.intake.abandonment import IdleSweeper
from flows.intake.service import IntakeService
from storage.database import Database
from tests.conftest import BOOKING_URL, EMERGENCY_NUMBER, say
from tests.flows.test_abandonment import age_every_session
from tests.flows.test_intake_service import ROUTINE, USER, play


async def test_no_intake_yet_gets_the_first_question(service: IntakeService) -> None:
    """Nothing stored (the lost reply was to /start or a decline): the consent question."""
    turn = await service.replay(user_id=USER)
    assert [p.step for p in turn.prompts] == ["consent"]


async def test_an_intake_in_progress_gets_welcome_back_and_its_question(
    service: IntakeService,
) -> None:
    """Mid-intake: the resume notice and the current question, bound to the intake."""
    last = play(service, ROUTINE[:3])
    turn = await service.replay(user_id=USER)
    assert "Welcome back" in turn.prompts[0].text
    assert turn.prompts[-1].step == last.prompts[-1].step
    assert turn.session_id == last.session_id


async def test_a_completed_intake_gets_the_booking_link_again(service: IntakeService) -> None:
    """The lost reply was the last one: the reminder, then the end message with the link."""
    last = play(service, ROUTINE)
    turn = await service.replay(user_id=USER)
    assert "already been sent" in turn.prompts[0].text
    assert BOOKING_URL.format(intake_id=last.session_id) in turn.prompts[-1].text


async def test_an_emergency_is_told_again_first(service: IntakeService) -> None:
    """Escalated, or an emergency typed after the end: the emergency message comes first."""
    play(service, ROUTINE)
    say(service, USER, "I threw up blood this morning")
    turn = await service.replay(user_id=USER)
    first = turn.prompts[0]
    assert first.kind is PromptKind.ESCALATION
    assert EMERGENCY_NUMBER in first.text
    say(service, USER + 1, "I agree")
    say(service, USER + 1, "I vomit blood")
    escalated = await service.replay(user_id=USER + 1)
    assert [p.level for p in escalated.prompts] == ["emergency"]


async def test_an_abandoned_intake_gets_its_notice(
    service: IntakeService, database: Database
) -> None:
    """Closed for being idle: the notice saying so."""
    play(service, ROUTINE[:3])
    age_every_session(database, 25)
    IdleSweeper(database=database, idle=timedelta(hours=24)).sweep()
    turn = await service.replay(user_id=USER)
    assert "quiet for a while" in turn.prompts[0].text
