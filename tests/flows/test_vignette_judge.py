"""The transport-neutral vignette judge: what it fails in a transcript, whoever produced it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine.conversation.values import ActionKind, PromptKind
from flows.engine.format.model import Flow
from flows.engine.loading.loader import load_flow_file
from tests.safety.player import (
    PLACES,
    BotMessage,
    Exchange,
    Move,
    Transcript,
    Vignette,
    judge,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "flows" / "definitions" / "gut_health.yaml"
EMERGENCY = BotMessage("Call now.", PromptKind.ESCALATION, level="emergency")
QUESTION = BotMessage("How long?", PromptKind.QUESTION, step="concern_duration")
NOTE = BotMessage("Thank you.", PromptKind.NOTICE)
TYPED = Move(ActionKind.TEXT, "I threw up blood")
STORY = Vignette(id="story", level="emergency", story="synthetic")


@pytest.fixture(scope="module")
def flow() -> Flow:
    """The bundled flow, loaded once."""
    return load_flow_file(BUNDLED).flow


def escalated(*replies: BotMessage) -> Transcript:
    """A transcript whose last move, typed at `concern`, got `replies` and ended the intake."""
    exchange = Exchange(TYPED, "concern", list(replies))
    return Transcript(exchanges=[exchange], status="escalated", level="emergency")


def test_an_escalation_first_with_nothing_asked_after_passes(flow: Flow) -> None:
    """Escalation first, then only a note: no problem, the recorded level stands."""
    run = judge(flow, STORY, None, escalated(EMERGENCY, NOTE), PLACES)
    assert (run.level, run.problems, run.leaks) == ("emergency", [], [])


@pytest.mark.parametrize(
    "replies", [(NOTE, EMERGENCY), (EMERGENCY, QUESTION), ()], ids=["late", "asked", "silent"]
)
def test_an_escalation_not_first_or_followed_by_a_question_fails(
    flow: Flow, replies: tuple[BotMessage, ...]
) -> None:
    """A note before the escalation, a question after it, or no reply at all is a problem."""
    run = judge(flow, STORY, None, escalated(*replies), PLACES)
    assert "the emergency message was not first, or a question followed" in run.problems


def test_a_recorded_level_the_messages_never_announced_fails(flow: Flow) -> None:
    """An intake recorded as emergency whose messages announced nothing is inconsistent."""
    run = judge(flow, STORY, None, escalated(NOTE), PLACES)
    assert "the messages announced routine, the intake recorded emergency" in run.problems


def test_a_refusal_that_moves_the_intake_on_fails(flow: Flow) -> None:
    """A refusal followed by the next step's question means the question counted as an answer."""
    refusal = BotMessage(PLACES.fill(flow.message("diagnosis_refusal")), PromptKind.NOTICE)
    asked = Move(ActionKind.TEXT, "is it celiac?", before=True)
    story = Vignette(id="r", level="routine", story="asks", expect=["diagnosis_refusal"])
    moved = Exchange(asked, "concern", [refusal, QUESTION])
    kept = Exchange(
        asked, "concern", [refusal, BotMessage("Tell me", PromptKind.QUESTION, "concern")]
    )

    bad = judge(flow, story, None, Transcript(exchanges=[moved], status="completed"), PLACES)
    good = judge(flow, story, None, Transcript(exchanges=[kept], status="completed"), PLACES)
    assert bad.problems == ["a refusal at concern counted as an answer"]
    assert good.problems == []


def test_diagnosis_words_leak_except_on_the_review_screen(flow: Flow) -> None:
    """A message tying a condition to the patient leaks; the review screen quotes the patient."""
    said = "It sounds like you have IBS."
    leaking = [BotMessage(said, PromptKind.NOTICE)]
    quoting = [BotMessage(said, PromptKind.REVIEW, step="review")]
    story = Vignette(id="r", level="routine", story="synthetic")

    leaked = judge(flow, story, None, Transcript(opening=leaking, status="completed"), PLACES)
    quoted = judge(flow, story, None, Transcript(opening=quoting, status="completed"), PLACES)
    assert leaked.leaks == ["sounds like you have IBS"]
    assert quoted.leaks == []


def test_an_unfinished_transcript_fails_at_its_last_step(flow: Flow) -> None:
    """A transcript left active reports the step it stopped at, and the player's own problems."""
    transcript = Transcript(
        exchanges=[Exchange(TYPED, "age", [QUESTION])], problems=["stuck at step age"]
    )
    run = judge(flow, Vignette(id="r", level="routine", story="s"), None, transcript, PLACES)
    assert run.problems == ["stuck at step age", "the intake did not finish (at age)"]
