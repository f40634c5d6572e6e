"""Hypothesis: random answer sequences never crash the engine and always leave it somewhere sane.

Random typed texts (free and meaningful), option presses and toggles (valid or not, on the
current step or another), Done, back, skip, confirms, help and status are applied to a fresh
intake. After every action the current step exists; an active intake is at a question or the
review screen and its last prompt (if any) asks that step; an ended intake is at an end step
(or escalated, with the escalation as the first message of the turn that ended it).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.engine.conversation.alerts import Outcome
from flows.engine.conversation.state import CANCELLED, COMPLETED, DECLINED, ESCALATED, IntakeState
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, PromptKind
from flows.engine.loading.loader import LoadedFlow
from tests.flows.bundled_scenarios import typed_lines_of
from tests.flows.engine_chat import PLACES, small_flow

SMALL = Conversation(small_flow())

Move = tuple[object, object, object]  # (action kind or "text", text or option, step index)
MEANINGFUL = [
    *("1", "2", "3", "4", "11", "0", "58", "49", "7/10", "3 weeks", "a year"),
    *("agree", "I agree", "yes", "no", "none", "None of these", "vegan", "pain, bloating"),
    *("submit", "change", "Send my answers", "Change an answer", "never", "weekly"),
    *("I threw up blood", "no blood at all", "do I have leaky gut?", "should I stop ibuprofen"),
]
BUTTONS = [ActionKind.CHOOSE, ActionKind.TOGGLE, ActionKind.DONE, ActionKind.SKIP]
OTHERS = [ActionKind.BACK, ActionKind.HELP, ActionKind.STATUS, ActionKind.START]

typed = st.one_of(st.sampled_from(MEANINGFUL), st.text(max_size=30)).map(
    lambda text: ("text", text, None)
)
pressed = st.tuples(
    st.sampled_from([*BUTTONS, ActionKind.CONFIRM]),
    st.integers(min_value=0, max_value=12),
    st.one_of(st.none(), st.integers(min_value=0, max_value=80)),  # None: the current step
)
other = st.sampled_from(OTHERS).map(lambda kind: (kind, None, None))
moves = st.lists(st.one_of(typed, typed, pressed, pressed, other), max_size=40)


def action_for(move: Move, conversation: Conversation, state: IntakeState) -> Action:
    """The engine action a drawn move stands for."""
    kind, value, index = move
    if kind == "text":
        return Action(ActionKind.TEXT, text=str(value))
    current = conversation.fm.index[state.step]
    step_index = current if index is None else int(index)  # type: ignore[call-overload]
    option = value if isinstance(value, int) else None
    assert isinstance(kind, ActionKind)
    return Action(kind, step_index=step_index, option_index=option)


def check(conversation: Conversation, state: IntakeState, outcome: Outcome) -> None:
    """The invariants that hold after every action."""
    assert state.step in conversation.flow.steps
    kind = conversation.fm.step(state.step).kind
    if state.status in (COMPLETED, DECLINED):
        assert kind == "end"
        assert set(state.answers) <= set(state.history)
        return
    if state.status in (ESCALATED, CANCELLED):
        return
    assert kind not in ("end", "info")
    if outcome.prompts and not outcome.stale:
        last = outcome.prompts[-1]
        assert last.step == state.step
        assert last.kind in (PromptKind.QUESTION, PromptKind.REVIEW)
    assert all(conversation.fm.step(s).is_question for s in state.history)


def run(conversation: Conversation, moves: list[Move]) -> None:
    """Apply every move to a fresh intake, checking the invariants after each."""
    state = conversation.new_state()
    for move in moves:
        was_active = not state.ended
        outcome = conversation.handle(state, action_for(move, conversation, state), PLACES)
        check(conversation, state, outcome)
        if was_active and state.status == ESCALATED:
            assert outcome.prompts[0].kind == PromptKind.ESCALATION
            assert outcome.prompts[0].level == "emergency"
            assert not [p for p in outcome.prompts if p.kind == PromptKind.QUESTION]


@pytest.fixture(scope="module")
def bundled(bundled_flow: LoadedFlow) -> Conversation:
    """The bundled flow, compiled once for every example."""
    return Conversation(bundled_flow.flow)


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(moves=moves)
def test_random_moves_on_the_small_flow(moves: list[Move]) -> None:
    """Any sequence of moves on the small flow keeps the engine at a question, review or end."""
    run(SMALL, moves)


@SETTINGS
@given(moves=moves)
def test_random_moves_on_the_bundled_flow(bundled: Conversation, moves: list[Move]) -> None:
    """Any sequence of moves on the bundled flow keeps the engine at a question, review or end."""
    run(bundled, moves)


ROUTINE = typed_lines_of("routine")


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(ROUTINE)), moves=moves)
def test_random_moves_part_way_through(bundled: Conversation, cut: int, moves: list[Move]) -> None:
    """The same, after a random part of the routine transcript (so review and edits are reached)."""
    skip: Move = (ActionKind.SKIP, 0, None)
    prefix = [skip if line == "/skip" else ("text", line, None) for line in ROUTINE[:cut]]
    run(bundled, [*prefix, *moves])
