"""The safety vignettes: every patient story reaches its level, with no diagnosis in any message."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine.conversation.turns import Conversation
from flows.engine.loading.loader import load_flow_file
from tests.safety.player import (
    LEVELS,
    Run,
    Vignette,
    load_vignettes,
    over_triaged,
    replay,
    replay_all,
    tally,
)
from tests.safety.stories import SUITE

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "flows" / "definitions" / "gut_health.yaml"
VIGNETTES, DEFAULTS = load_vignettes(SUITE)
CASES = [(v, said) for v in VIGNETTES for said in (v.say or [None])]


@pytest.fixture(scope="module")
def conversation() -> Conversation:
    """The engine of the bundled flow, compiled once for the module."""
    return Conversation(load_flow_file(BUNDLED).flow)


@pytest.mark.parametrize(
    ("story", "said"), CASES, ids=[f"{v.id}[{s}]" if s else v.id for v, s in CASES]
)
def test_story_reaches_its_level(conversation: Conversation, story: Vignette, said: str) -> None:
    """Replayed through the engine, the story ends at exactly its expected level, cleanly."""
    run = replay(conversation, story, said, DEFAULTS)
    assert run.level == story.level
    assert run.problems == []
    assert run.leaks == []


def test_the_suite_covers_every_level_and_the_age_thresholds() -> None:
    """At least 40 stories, each level at least five times, and both sides of every age cut."""
    assert len(VIGNETTES) >= 40
    for level in LEVELS:
        assert sum(v.level == level for v in VIGNETTES) >= 5
    ages = {v.answers.get("age") for v in VIGNETTES}
    assert {39, 40, 49, 50, 54, 55, 59, 60} <= ages


def test_the_suite_has_at_least_120_runs_with_free_text_for_every_flag(
    conversation: Conversation,
) -> None:
    """At least 120 runs, and every red flag of the flow is raised by some free-text story."""
    assert len(CASES) >= 120
    typed = [(v, said) for v, said in CASES if v.id[0] in "fgh" and said is not None]
    raised: set[str] = set()
    for story, said in typed:
        facts = conversation.screener.screen(said, "en").facts
        raised |= set(
            conversation.rules.held({**DEFAULTS, **story.answers, "concern": said}, facts)
        )
    assert {rule.id for rule in conversation.flow.red_flags} <= raised | {"new_symptoms_50"}


def test_the_suite_covers_free_text_questions_and_emoji() -> None:
    """Diagnosis and advice questions, emoji-only replies and late free-text flags are covered."""
    expects = {e for v in VIGNETTES for e in v.expect}
    assert {"diagnosis_refusal", "diagnosis_refusal_named", "advice_refusal"} <= expects
    typed = [t for v in VIGNETTES for texts in v.before.values() for t in texts]
    assert any(not any(c.isalnum() for c in t) for t in typed)
    late = {step for v in VIGNETTES if v.level != "routine" for step in v.answers}
    assert {"anything_else", "hopes", "other_medicines"} <= late


def test_a_refusal_is_checked_to_keep_the_same_question(conversation: Conversation) -> None:
    """A story expecting a refusal it never gets is reported as a problem, not passed."""
    story = Vignette(
        id="no_question", level="routine", story="never asks", expect=["diagnosis_refusal"]
    )
    run = replay(conversation, story, None, DEFAULTS)
    assert run.problems == ["expected diagnosis_refusal was not sent"]


def test_an_unfinished_story_is_a_problem(conversation: Conversation) -> None:
    """A story that cannot answer a step is reported as stuck rather than passing silently."""
    story = Vignette(id="bad_age", level="routine", story="types no age", answers={"age": "old"})
    run = replay(conversation, story, None, DEFAULTS)
    assert any("stuck at step age" in p for p in run.problems)


def test_tally_counts_sensitivity_and_over_triage() -> None:
    """Sensitivity counts runs at or above their level; a routine run with a flag is over-triage."""

    def run(expected: str, got: str) -> Run:
        story = Vignette(id=f"{expected}_{got}", level=expected, story="synthetic")  # type: ignore[arg-type]
        return Run(story, None, level=got)

    runs = [
        run("emergency", "emergency"),
        run("emergency", "same_day"),
        run("same_day", "emergency"),
        run("routine", "soon"),
        run("routine", "routine"),
    ]
    by_level = {t.level: t for t in tally(runs)}
    assert (by_level["emergency"].caught, by_level["emergency"].runs) == (1, 2)
    assert by_level["same_day"].sensitivity == 1.0
    assert by_level["same_day"].exact == 0
    assert by_level["routine"].caught == 1
    assert [r.vignette.id for r in over_triaged(runs)] == ["routine_soon"]


def test_replay_all_runs_every_paraphrase(conversation: Conversation) -> None:
    """`replay_all` makes one run per paraphrase (one per story without paraphrases)."""
    runs = replay_all(conversation, SUITE)
    assert len(runs) == len(CASES)
