"""Free text on the bundled flow: combined facts, answers that also ask, refusals by intent,
typed button labels, consent words, durations in phrases, minors and flag evidence."""

from __future__ import annotations

import pytest

from flows.engine.conversation.state import CANCELLED, ESCALATED
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import PromptKind
from flows.engine.loading.loader import LoadedFlow
from tests.flows.engine_chat import EngineChat


@pytest.fixture(scope="module")
def bundled(bundled_flow: LoadedFlow) -> Conversation:
    """The bundled gut-health flow, compiled."""
    return Conversation(bundled_flow.flow)


def texts(chat: EngineChat) -> list[str]:
    """Every message of the last outcome."""
    return [p.text for p in chat.outcomes[-1].prompts]


def at_concern(bundled: Conversation, age: str = "45") -> EngineChat:
    """A chat answered up to the main-concern question, nothing urgent ticked."""
    chat = EngineChat(bundled)
    chat.say("I agree", age, "Male", "None of these", "never", "no", "None of these")
    chat.say("None of these")
    if chat.state.step == "onset_after_50":
        chat.say("No, they started earlier")
    assert chat.state.step == "concern"
    return chat


def test_two_facts_in_one_message_reach_the_combined_emergency(bundled: Conversation) -> None:
    """Black stool (same day alone) plus tummy pain in one message is an emergency."""
    chat = at_concern(bundled)
    out = chat.say("my poo has been black for days and my tummy really hurts")
    assert chat.state.raised["black_stool_pain"] == "emergency"
    assert out.prompts[0].kind == PromptKind.ESCALATION
    assert chat.state.status == ESCALATED


def test_a_fact_from_text_meets_a_checklist_answer(bundled: Conversation) -> None:
    """'I'm diabetic' typed early, then 'vomiting for more than 2 days' ticked: an emergency."""
    chat = EngineChat(bundled)
    chat.say("I agree", "30", "Male", "None of these", "never", "no")
    assert chat.state.step == "urgent_today"
    chat.say("I'm diabetic")  # not an answer to the checklist: screened, kept, re-asked
    assert "diabetes" in chat.state.facts
    chat.say("Vomiting for more than 2 days")
    assert chat.state.raised.get("diabetic_vomiting") == "emergency"


def test_a_fact_from_text_meets_the_age(bundled: Conversation) -> None:
    """Blood in the poo typed at 55 raises the age rule (soon) from text alone."""
    chat = at_concern(bundled, age="55")
    chat.say("some blood in my poo now and then")
    assert chat.state.raised.get("rectal_bleeding_50") == "soon"


def test_an_answer_that_also_asks_is_kept_and_refused(bundled: Conversation) -> None:
    """'Bloating. Which supplement should I take?' stores 'Bloating.' and refuses the question."""
    chat = at_concern(bundled)
    chat.say("Bloating. Which supplement should I take?")
    assert chat.state.answers["concern"] == "Bloating."
    assert chat.state.step == "concern_duration"
    assert any("can't give advice about treatments" in t for t in texts(chat))


@pytest.mark.parametrize(
    ("question", "expected", "absent"),
    [
        ("Do I have SIBO?", "questions about SIBO", "leaky gut"),
        ("could it be cancer?", "can't judge how serious", "workup"),
        ("is this serious?", "call 999", "workup"),
        ("which test do I need?", "which tests you need", "leaky gut"),
        ("what's wrong with me?", "can't give a diagnosis", "coeliac"),
    ],
)
def test_refusals_fit_the_question(
    bundled: Conversation, question: str, expected: str, absent: str
) -> None:
    """Each kind of question gets its own refusal; none names a condition not asked about."""
    chat = at_concern(bundled)
    chat.say(question)
    refusal = texts(chat)[0]
    assert expected in refusal
    assert absent not in refusal.lower()
    assert chat.state.step == "concern"  # the same question again


def test_typed_confirm_label_answers_the_confirm_question(bundled: Conversation) -> None:
    """Typing the confirm button's label ("No, I didn't") answers it instead of re-asking."""
    chat = at_concern(bundled)
    chat.say("my chest feels weird")
    assert chat.state.pending_confirm == "chest_pain"
    chat.say("No, I didn't")
    assert chat.state.pending_confirm is None
    assert chat.state.raised == {}


@pytest.mark.parametrize("word", ["yes", "ok", "sure", "I agree", "yep", "Yes please"])
def test_consent_accepts_usual_yes_words(bundled: Conversation, word: str) -> None:
    """Typed yes-words at consent mean the consent option."""
    chat = EngineChat(bundled)
    chat.say(word)
    assert chat.state.answers.get("consent") == "agree"


@pytest.mark.parametrize("word", ["no", "nope", "no thanks"])
def test_consent_no_words_decline(bundled: Conversation, word: str) -> None:
    """Typed no-words at consent decline."""
    chat = EngineChat(bundled)
    chat.say(word)
    assert chat.state.answers.get("consent") == "decline"


def test_durations_in_phrases_are_stored_with_the_words(bundled: Conversation) -> None:
    """'since this morning' is read (1 day) and kept with the patient's words."""
    chat = at_concern(bundled)
    chat.say("Bloating", "since this morning")
    assert chat.state.answers["concern_duration"] == {"days": 1, "said": "since this morning"}


def test_typed_back_and_skip_labels_work(bundled: Conversation) -> None:
    """Typing a Back or Skip button's label does what the button does."""
    chat = EngineChat(bundled)
    chat.say("I agree", "40")
    assert chat.state.step == "sex_at_birth"
    chat.say("Skip")
    assert chat.state.step != "sex_at_birth"
    chat.say("Back")
    assert chat.state.step == "sex_at_birth"


def test_a_minor_is_stopped_and_nothing_is_kept(bundled: Conversation) -> None:
    """Under 16: a clear message about a parent or guardian; the intake ends, answers dropped."""
    chat = EngineChat(bundled)
    out = chat.say("I agree", "14")
    assert out.minor
    assert chat.state.status == CANCELLED
    assert chat.state.answers == {}
    assert "parent or guardian" in out.prompts[-1].text


def test_a_raised_flag_keeps_its_evidence(bundled: Conversation) -> None:
    """The flag records the patient's words, step, time, source, why and the message shown."""
    chat = at_concern(bundled)
    chat.say("I've been throwing up blood since this morning")
    record = chat.state.flags["vomit_blood"]
    [entry] = record["evidence"]
    assert entry["words"] == "I've been throwing up blood since this morning"
    assert (entry["source"], entry["step"]) == ("free_text", "concern")
    assert entry["at"]
    assert record["why"][0].startswith("Vomiting blood or coffee-ground vomit (said:")
    assert "999" in record["shown"]


def test_modifier_reasons_are_listed(bundled: Conversation) -> None:
    """On a blood thinner, black stool is raised to emergency and the why says so."""
    chat = EngineChat(bundled)
    chat.say("I agree", "40", "Male", "None of these", "never", "yes")
    chat.say("Black or dark red poo")
    why = chat.state.flags["black_stool"]["why"]
    assert chat.state.raised["black_stool"] == "emergency"
    assert any(w.startswith("raised 1 level by blood_thinner_bleeding") for w in why)


def test_a_past_event_raises_nothing(bundled: Conversation) -> None:
    """'I vomited blood years ago' is a past event: no flag, no question."""
    chat = at_concern(bundled)
    chat.say("I vomited blood years ago after a bad stomach bug")
    assert chat.state.raised == {}
    assert chat.state.pending_confirm is None
