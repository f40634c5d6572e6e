"""How raised red flags are announced: level-true wording, no repeats, every vague flag asked."""

from __future__ import annotations

from functools import cache

from bot.settings import BUNDLED_FLOWS
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import PromptKind
from flows.registry import load_active
from tests.flows.engine_chat import PLACES, EngineChat


@cache
def conversation() -> Conversation:
    """The bundled flow, compiled once."""
    return Conversation(load_active(flows_dir=BUNDLED_FLOWS, flow_id="gut_health").flow)


def chat_at_same_day_signs(*, blood_thinner: str) -> EngineChat:
    """A patient answered up to the same-day signs question."""
    chat = EngineChat(conversation())
    chat.say("I agree", "45", "Male", "No")
    chat.say("none of these", "never", blood_thinner)
    assert chat.state.step == "urgent_today"
    return chat


def test_a_flag_raised_to_emergency_by_a_modifier_speaks_as_an_emergency() -> None:
    """Bloody diarrhoea on a blood thinner is an emergency, announced in emergency words."""
    chat = chat_at_same_day_signs(blood_thinner="yes")
    outcome = chat.say("bloody diarrhoea")
    first = outcome.prompts[0]
    assert first.kind == PromptKind.ESCALATION
    assert first.level == "emergency"
    flow = conversation().flow
    emergency_words = PLACES.fill(flow.text(flow.flag("vomit_blood").message))
    same_day_words = PLACES.fill(flow.text(flow.flag("bloody_diarrhoea").message))
    assert emergency_words != same_day_words
    assert first.text == emergency_words
    assert chat.state.status == "escalated"
    assert len(outcome.prompts) == 1


def test_the_same_flag_without_the_modifier_stays_same_day() -> None:
    """Without NSAIDs or blood thinners bloody diarrhoea is same-day and the intake goes on."""
    chat = chat_at_same_day_signs(blood_thinner="no")
    outcome = chat.say("bloody diarrhoea")
    assert outcome.prompts[0].level == "same_day"
    assert outcome.prompts[-1].kind == PromptKind.QUESTION
    assert chat.state.status == "active"


def test_two_flags_with_one_message_are_announced_once() -> None:
    """Two same-day flags raised together share one message, sent once."""
    chat = chat_at_same_day_signs(blood_thinner="no")
    outcome = chat.say("bloody diarrhoea, yellow skin or eyes")
    escalations = [p for p in outcome.prompts if p.kind == PromptKind.ESCALATION]
    assert set(chat.state.raised) >= {"bloody_diarrhoea", "jaundice"}
    assert len(escalations) == len({p.text for p in escalations})


def test_every_vague_flag_in_one_message_gets_its_own_question() -> None:
    """Two vague flags in one text are confirmed one after the other, then the question returns."""
    chat = EngineChat(conversation())
    chat.say("I agree", "45")
    first = chat.say("my chest feels weird and my poo is quite dark")
    asked = [chat.state.pending_confirm]
    assert first.prompts[-1].answer_kind == "confirm"
    second = chat.say("no")
    asked.append(chat.state.pending_confirm)
    assert second.prompts[-1].answer_kind == "confirm"
    assert asked[0] != asked[1]
    last = chat.say("no")
    assert last.prompts[-1].step == "sex_at_birth"
    assert last.prompts[-1].answer_kind == "choice"
