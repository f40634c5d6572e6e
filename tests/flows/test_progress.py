"""The progress total ("Question n of about total") on many random paths through the bundled
flow: it never goes down, and goes up only on the answer to a step that decides what comes
next (a routing step), so at most once per branch; it is exact at the last question."""

from __future__ import annotations

import itertools
import random
from functools import cache

import pytest

from flows.engine.conversation.alerts import Outcome
from flows.engine.conversation.machine import branches
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Prompt, PromptKind
from flows.engine.format.conditions import referenced_steps
from flows.engine.format.model import Flow
from flows.engine.format.steps import MultiAnswer, NumberAnswer, Step
from flows.engine.loading.loader import LoadedFlow
from tests.flows.bundled_scenarios import typed_lines_of
from tests.flows.engine_chat import EngineChat

PATHS = 400


@pytest.fixture(scope="module")
def bundled(bundled_flow: LoadedFlow) -> Conversation:
    """The bundled flow, compiled."""
    return Conversation(bundled_flow.flow)


def next_readers(flow: Flow) -> set[str]:
    """Steps whose answer a `next` condition reads (the answers that may shorten the path)."""
    return {
        compare.answer
        for step in flow.steps.values()
        for branch in branches(step)
        if branch.when is not None
        for compare in referenced_steps(branch.when)
    }


def answer(chat: EngineChat, rng: random.Random) -> Outcome:
    """A random valid answer to the current question (safe answers more often than not)."""
    prompt, step = chat.question(), chat.conversation.flow.steps[chat.state.step]
    if step.optional and rng.random() < 0.15:
        return chat.skip()
    if isinstance(step.answer, MultiAnswer):
        return pick_many(chat, prompt, step, rng)
    if prompt.choices:
        weights = [3 if c.value in ("none", "never", "no", "agree") else 1 for c in prompt.choices]
        return chat.press(rng.choices(range(len(prompt.choices)), weights)[0])
    return chat.say(typed(step, rng))


def pick_many(chat: EngineChat, prompt: Prompt, step: Step, rng: random.Random) -> Outcome:
    """Toggle a random set of options (often just "none"), then Done."""
    values = [choice.value for choice in prompt.choices]
    spec = step.answer
    assert isinstance(spec, MultiAnswer)
    if spec.none is not None and rng.random() < 0.6:
        chat.toggle(values.index(spec.none))
    else:
        others = [i for i, value in enumerate(values) if value != spec.none]
        for index in rng.sample(others, rng.randint(1, len(others))):
            chat.toggle(index)
    return chat.done()


def typed(step: Step, rng: random.Random) -> str:
    """A typed answer: a number in range, a duration, or plain words."""
    spec = step.answer
    if isinstance(spec, NumberAnswer):
        return str(rng.randint(spec.min, spec.max))
    if spec.kind == "duration":
        return f"{rng.randint(1, 30)} weeks"
    return "It has been like this for a while"


Seen = list[tuple[tuple[int, int], str | None]]


@cache
def walk(bundled: Conversation, seed: int) -> tuple[Seen, bool]:
    """One random path: each question's progress with the step answered just before it, and
    whether the path got to the review screen."""
    rng, chat = random.Random(seed), EngineChat(bundled)
    seen: Seen = []
    progress, answered = chat.question().progress, None
    while progress is not None:
        seen.append((progress, answered))
        outcome = answer(chat, rng)
        answered = outcome.answered_step
        asked = [p for p in outcome.prompts if p.kind == PromptKind.QUESTION]
        progress = asked[-1].progress if asked and not chat.state.ended else None
    return seen, chat.state.step == "review"


@pytest.mark.parametrize("batch", range(4))
def test_totals_only_go_up_on_routing_answers(bundled: Conversation, batch: int) -> None:
    """On every path: n goes up one by one; the total never goes down except on an answer a
    `next` reads; it goes up only on an answer to a routing step, once per step on a path."""
    routing = set(bundled.fm.routing_steps)
    shortening = next_readers(bundled.flow)
    for seed in range(batch * PATHS // 4, (batch + 1) * PATHS // 4):
        seen, _ = walk(bundled, seed)
        numbers = [n for (n, _), _ in seen]
        assert numbers == list(range(1, len(numbers) + 1)), seed
        raised_by: list[str] = []
        for ((_, before), _), ((_, after), step) in itertools.pairwise(seen):
            if after < before:
                assert step in shortening, (seed, step, before, after)
            if after > before:
                assert step in routing, (seed, step, before, after)
                raised_by.append(step or "")
        assert len(raised_by) == len(set(raised_by)), seed
        assert all(n <= total for (n, total), _ in seen), seed


def test_the_total_is_exact_at_the_last_question(bundled: Conversation) -> None:
    """On paths that reach the review screen, the last question says `n of n`."""
    reached = 0
    for seed in range(PATHS):
        seen, reviewed = walk(bundled, seed)
        if reviewed:
            reached += 1
            (n, total), _ = seen[-1]
            assert n == total, seed
    assert reached > PATHS // 4


def test_the_routine_path_totals_never_go_down(bundled: Conversation) -> None:
    """The path of the issue report (28, 29, 34, 36, 34): now they only go up, three times."""
    chat = EngineChat(bundled)
    totals = [chat.question().progress]
    for line in typed_lines_of("routine"):
        outcome = chat.skip() if line == "/skip" else chat.say(line)
        totals += [p.progress for p in outcome.prompts if p.progress]
    sequence = list(dict.fromkeys(total for _, total in filter(None, totals)))
    assert sequence == sorted(sequence)
    assert len(sequence) <= 5
