"""The pure engine (`Conversation.handle`): back, review edits, multi-select, skip, stale buttons,
progress, and red flags, on a small flow built in code and on the bundled flow."""

from __future__ import annotations

import pytest

from flows.engine.conversation.state import ACTIVE, COMPLETED, DECLINED, ESCALATED
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, PromptKind
from flows.engine.loading.loader import LoadedFlow
from tests.flows.bundled_scenarios import typed_lines_of
from tests.flows.engine_chat import EngineChat, questions, small_flow, snapshot


@pytest.fixture(scope="module")
def small() -> Conversation:
    """The small flow, compiled."""
    return Conversation(small_flow())


@pytest.fixture(scope="module")
def bundled(bundled_flow: LoadedFlow) -> Conversation:
    """The bundled gut-health flow, compiled."""
    return Conversation(bundled_flow.flow)


def at_diet(small: Conversation, symptoms: str = "bloating") -> EngineChat:
    """A chat on the small flow that has reached the diet question."""
    chat = EngineChat(small)
    chat.say("agree", "40", symptoms)
    if "pain" in symptoms:
        chat.say("5")
    assert chat.state.step == "diet"
    return chat


def test_back_follows_the_branch_actually_taken(small: Conversation) -> None:
    """Back undoes the last answer and returns along the path taken, over skipped steps."""
    chat = at_diet(small)
    chat.say("vegan")
    assert chat.state.step == "b12"
    out = chat.back()
    assert chat.state.step == "diet"
    assert "diet" not in chat.state.answers
    assert out.prompts[-1].step == "diet"
    chat.say("omnivore")
    assert chat.state.step == "note"  # the other branch: b12 is not asked
    chat.back()
    chat.back()  # severity was never asked (no pain): back lands on symptoms
    assert chat.state.step == "symptoms"
    assert set(chat.state.answers) == {"consent", "age"}


def test_back_returns_to_an_ask_when_step_that_was_asked(small: Conversation) -> None:
    """With pain chosen, severity was asked, so back from diet returns to it."""
    chat = at_diet(small, "pain")
    chat.back()
    assert chat.state.step == "severity"
    assert "severity" not in chat.state.answers


def test_back_at_the_first_question_changes_nothing(small: Conversation) -> None:
    """Back with nothing to undo says so and asks the same question again."""
    chat = EngineChat(small)
    before = snapshot(chat.state)
    out = chat.back()
    assert [p.text for p in out.prompts[:1]] == ["<nothing_to_undo>"]
    assert out.prompts[-1].step == "consent"
    assert snapshot(chat.state) == before


def reach_review(chat: EngineChat, diet: str) -> None:
    """From diet, answer the rest up to the review screen."""
    chat.say(diet)
    if diet == "vegan":
        chat.say("yes")
    chat.say("a note")
    assert chat.state.step == "review"


def change(chat: EngineChat, step_id: str) -> None:
    """On the review screen, pick `step_id` to change."""
    chat.press(1)  # Change an answer
    assert chat.question().answer_kind == "review_pick"
    picks = [c.value for c in chat.question().choices]
    chat.press(picks.index(step_id))
    assert chat.state.step == step_id


def test_review_change_to_a_new_branch_asks_the_new_question(small: Conversation) -> None:
    """Changing diet to vegan asks b12, then returns to review without re-asking the rest."""
    chat = at_diet(small)
    reach_review(chat, "omnivore")
    change(chat, "diet")
    out = chat.say("vegan")
    assert [p.step for p in questions(out)] == ["b12"]
    out = chat.say("no")
    assert chat.state.step == "review"
    assert out.prompts[-1].kind == PromptKind.REVIEW
    assert "B12?: <no>" in out.prompts[-1].text
    assert "Anything else?: a note" in out.prompts[-1].text
    chat.press(0)  # submit
    assert chat.state.status == COMPLETED
    assert chat.state.answers["b12"] == "no"
    assert chat.state.answers["note"] == "a note"


def test_review_change_drops_answers_no_longer_on_the_path(small: Conversation) -> None:
    """Changing diet from vegan drops b12 from the review and, at submit, from the answers."""
    chat = at_diet(small, "pain")
    reach_review(chat, "vegan")
    change(chat, "diet")
    out = chat.say("omnivore")
    assert chat.state.step == "review"
    assert "B12?" not in out.prompts[-1].text
    change(chat, "symptoms")
    chat.say("bloating")  # severity no longer applies
    assert chat.state.step == "review"
    chat.press(0)
    assert chat.state.status == COMPLETED
    assert set(chat.state.answers) == {"consent", "age", "symptoms", "diet", "note"}


def test_multi_toggles_with_an_exclusive_none(small: Conversation) -> None:
    """Toggling selects and clears; 'none' clears the others and is cleared by them."""
    chat = EngineChat(small)
    chat.say("agree", "40")
    chat.toggle(0)
    out = chat.toggle(1)
    assert out.refresh
    assert [c.selected for c in out.prompts[0].choices] == [True, True, False]
    chat.toggle(2)
    assert chat.state.selection == ["none"]
    chat.toggle(0)
    assert chat.state.selection == ["bloating"]
    chat.toggle(0)
    out = chat.done()  # nothing selected
    assert out.prompts[0].text == "<invalid_multi>"
    assert chat.state.step == "symptoms"
    chat.toggle(1)
    chat.done()
    assert chat.state.answers["symptoms"] == ["pain"]
    assert chat.state.step == "severity"


def test_multi_ticks_and_unticks_as_shown_so_a_second_press_changes_nothing(
    small: Conversation,
) -> None:
    """A tick pressed twice (a double tap, or an older copy of the question) stays ticked; an
    untick pressed twice stays unticked; 'none' stays exclusive."""
    chat = EngineChat(small)
    chat.say("agree", "40")
    chat.press(0, ActionKind.SELECT)
    out = chat.press(0, ActionKind.SELECT)
    assert chat.state.selection == ["bloating"]
    assert out.refresh
    assert [c.selected for c in out.prompts[0].choices] == [True, False, False]
    chat.press(1, ActionKind.CLEAR)  # an untick of an option that is not ticked
    assert chat.state.selection == ["bloating"]
    chat.press(0, ActionKind.CLEAR)
    chat.press(0, ActionKind.CLEAR)
    assert chat.state.selection == []
    chat.press(1, ActionKind.SELECT)
    chat.press(2, ActionKind.SELECT)
    assert chat.state.selection == ["none"]
    chat.press(2, ActionKind.SELECT)
    assert chat.state.selection == ["none"]
    chat.done()
    assert chat.state.answers["symptoms"] == ["none"]


def test_skip_only_on_optional_steps(small: Conversation) -> None:
    """Skip on a required step is stale and changes nothing; on an optional one it moves on."""
    chat = at_diet(small)
    before = snapshot(chat.state)
    out = chat.skip()
    assert out.stale
    assert not out.prompts
    assert snapshot(chat.state) == before
    chat.say("omnivore")
    out = chat.skip()
    assert chat.state.step == "review"
    assert "note" not in chat.state.answers
    assert "Anything else?: <review_empty_answer>" in out.prompts[-1].text


def test_review_change_does_not_re_ask_a_skipped_question(small: Conversation) -> None:
    """A question skipped before the review is not asked again after another answer changes."""
    chat = at_diet(small)
    chat.say("omnivore")
    chat.skip()
    change(chat, "age")
    out = chat.say("41")
    assert chat.state.step == "review"
    assert not questions(out)
    assert "Anything else?: <review_empty_answer>" in out.prompts[-1].text


def test_an_ended_intake_takes_no_more_input(small: Conversation) -> None:
    """After an end, any action is stale and changes nothing (a new intake starts afresh)."""
    chat = EngineChat(small)
    chat.say("decline")
    before = snapshot(chat.state)
    for action in (ActionKind.BACK, ActionKind.START, ActionKind.HELP):
        assert chat.act(Action(action)).stale
    assert chat.say("agree").stale
    assert snapshot(chat.state) == before


def test_a_stale_button_changes_nothing(small: Conversation) -> None:
    """A press for another step, or an option that does not exist, is stale."""
    chat = at_diet(small)
    before = snapshot(chat.state)
    age_index = small.fm.index["age"]
    out = chat.act(Action(ActionKind.CHOOSE, step_index=age_index, option_index=0))
    assert out.stale
    assert not out.prompts
    out = chat.press(7)
    assert out.stale
    assert snapshot(chat.state) == before


def test_declining_consent_ends_declined(small: Conversation) -> None:
    """Declining consent ends at the declined end and asks nothing more."""
    chat = EngineChat(small)
    out = chat.say("decline")
    assert chat.state.status == DECLINED
    assert out.prompts[-1].kind == PromptKind.END
    assert not questions(out)


def test_progress_increases_through_a_whole_intake(bundled: Conversation) -> None:
    """'Question n of about total' goes up by one with each answer and n never exceeds total."""
    chat = EngineChat(bundled)
    seen = [chat.question().progress]
    for line in typed_lines_of("routine"):
        out = chat.skip() if line == "/skip" else chat.say(line)
        seen += [p.progress for p in questions(out) if p.progress]
    assert chat.state.status == COMPLETED
    numbers = [progress[0] for progress in seen if progress]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(progress[0] <= progress[1] for progress in seen if progress)


def safety_answers(
    chat: EngineChat, *, age: str, nsaids: str = "never", thinner: str = "no"
) -> None:
    """Answer the bundled flow up to the same-day question."""
    chat.say("I agree", age, "Male", "None of these", nsaids, thinner)
    assert chat.state.step == "urgent_today"


def test_emergency_ends_with_the_escalation_first(bundled: Conversation) -> None:
    """An emergency answer: the escalation (with the number) comes first; no question follows."""
    chat = EngineChat(bundled)
    chat.say("I agree", "58", "Male")
    out = chat.say("1")  # vomiting blood
    first = out.prompts[0]
    assert first.kind == PromptKind.ESCALATION
    assert first.level == "emergency"
    assert "999" in first.text
    assert not questions(out)
    assert out.escalation == "emergency"
    assert chat.state.status == ESCALATED


def test_same_day_flag_says_so_and_the_intake_goes_on(bundled: Conversation) -> None:
    """A same-day answer sends its message, then the next question."""
    chat = EngineChat(bundled)
    safety_answers(chat, age="40")
    out = chat.say("1")  # black or dark red poo
    kinds = [p.kind for p in out.prompts]
    assert kinds == [PromptKind.ESCALATION, PromptKind.QUESTION]
    assert out.prompts[0].level == "same_day"
    assert chat.state.status == ACTIVE
    assert chat.state.raised == {"black_stool": "same_day"}


@pytest.mark.parametrize(
    ("nsaids", "thinner", "level"),
    [("never", "no", "soon"), ("weekly", "no", "same_day"), ("never", "yes", "same_day")],
)
def test_nsaids_or_blood_thinners_raise_bleeding_one_level(
    bundled: Conversation, nsaids: str, thinner: str, level: str
) -> None:
    """Rectal bleeding at 55 is 'soon'; on NSAIDs or a blood thinner it is 'same_day'."""
    chat = EngineChat(bundled)
    safety_answers(chat, age="55", nsaids=nsaids, thinner=thinner)
    chat.say("None of these")
    out = chat.say("2")  # blood from the bottom
    assert chat.state.raised == {"rectal_bleeding_50": level}
    assert out.escalation == level


def test_the_modifier_turns_a_same_day_flag_into_an_emergency(bundled: Conversation) -> None:
    """Black stool (same day) on a blood thinner becomes an emergency and ends the intake."""
    chat = EngineChat(bundled)
    safety_answers(chat, age="40", thinner="yes")
    out = chat.say("1")
    assert out.prompts[0].level == "emergency"
    assert chat.state.status == ESCALATED
    assert not questions(out)


@pytest.mark.parametrize(("age", "raised"), [("49", False), ("50", True)])
def test_rectal_bleeding_age_threshold(bundled: Conversation, age: str, raised: bool) -> None:
    """rectal_bleeding_50 holds from age 50, not at 49."""
    chat = EngineChat(bundled)
    safety_answers(chat, age=age)
    chat.say("None of these", "2")
    assert ("rectal_bleeding_50" in chat.state.raised) is raised


def test_two_patients_in_the_same_state_share_the_machine_safely(bundled: Conversation) -> None:
    """Two patients at the same step with the same answers (every new patient at consent)
    move on the one compiled machine independently, and neither is ever listed on it (turns
    in several threads share it). (They once compared equal, so detaching one removed the
    other; turns no longer attach a patient at all.)"""
    first, second = bundled.new_state("en"), bundled.new_state("en")
    first.answers["consent"] = second.answers["consent"] = "agree"
    assert bundled.fm.advance(second)
    assert (first.step, second.step) == ("consent", "age")
    assert bundled.fm.advance(first)
    assert first.step == "age"
    assert bundled.fm.machine.models == []


def test_a_step_the_flow_does_not_have_is_refused(bundled: Conversation) -> None:
    """A state at a step this flow version lacks is refused as `transitions` refuses it."""
    state = bundled.new_state("en")
    state.state = "no_such_step"
    with pytest.raises(ValueError, match="no_such_step"):
        bundled.fm.advance(state)


def test_an_edited_answer_counts_only_while_its_question_is_current(small: Conversation) -> None:
    """Typed text bound to a step (an edit of the reply to that question) answers it while it
    is asked; once the intake has moved on (another process applied the next answer) the same
    text is only screened and changes nothing."""
    chat = EngineChat(small)
    chat.say("agree")
    assert chat.state.step == "age"
    moved_on = chat.act(Action(ActionKind.TEXT, text="40", step="consent"))
    assert moved_on.prompts == []
    assert chat.state.step == "age"
    answered = chat.act(Action(ActionKind.TEXT, text="40", step="age"))
    assert answered.answered_step == "age"
