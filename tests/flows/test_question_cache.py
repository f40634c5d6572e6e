"""Questions built once per flow version, step and language are the questions built afresh:
the same text and buttons for every step, language (and none), multi-select ticks and
placeholders, on the bundled flow, its typed variant, and a copy whose texts use the
placeholders (built for each patient, never shared)."""

from __future__ import annotations

import random

import pytest

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.turns import Conversation
from flows.engine.format.model import Flow
from flows.engine.format.steps import MultiAnswer
from flows.engine.loading.loader import LoadedFlow

PLACES = [
    Placeholders(booking_url="https://book.example/?ref=1", emergency_number="112"),
    Placeholders(booking_url="https://book.example/?ref=2", emergency_number="999"),
    Placeholders(),
]


def _with_placeholders(flow: Flow) -> Flow:
    """A copy where one question's prompt and one option's label use placeholders."""
    steps = dict(flow.steps)
    multi = next(sid for sid, s in steps.items() if isinstance(s.answer, MultiAnswer))
    step = steps[multi]
    assert isinstance(step.answer, MultiAnswer)
    first = step.answer.options[0]
    options = [first.model_copy(update={"label": "Call {emergency_number}"})]
    answer = step.answer.model_copy(update={"options": options + step.answer.options[1:]})
    steps[multi] = step.model_copy(
        update={"prompt": "See {booking_url} first. Which?", "answer": answer}
    )
    return flow.model_copy(update={"steps": steps})


@pytest.mark.parametrize("variant", ["bundled", "typed", "placeholders"])
def test_a_cached_question_is_the_question_built_afresh(
    variant: str, bundled_flow: LoadedFlow
) -> None:
    flow = bundled_flow.flow
    flow = {
        "bundled": flow,
        "typed": flow.typed_variant(),
        "placeholders": _with_placeholders(flow),
    }[variant]
    conversation = Conversation(flow)
    rng = random.Random(3)
    for _ in range(3):  # the first round fills the cache, the others read it
        for step_id, step in flow.steps.items():
            if not step.is_question or step.answer.kind == "review":
                continue
            options = [o.value for o in getattr(step.answer, "options", [])]
            for language in [None, *flow.languages]:
                for places in PLACES:
                    ticked = rng.sample(options, k=rng.randint(0, len(options)))
                    state = IntakeState(state=step_id, selection=ticked, language=language)
                    ui = PromptBuilder(conversation.fm, places, language)
                    asked = ui.question(state)
                    assert asked.text == ui._question_text(step)
                    assert asked.choices == ui.choices(step, ticked)
    if variant == "placeholders":
        assert "per patient" in conversation.fm.question_cache.values()
