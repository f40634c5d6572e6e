"""The check after an answer (`RuleBook.held_after`, limited by `RuleIndex`) raises exactly what
the full check raises, and compiled conditions give what `holds` gives.

Proved three ways: every bundled scenario plays the same with the full check; random answer
orders with edits, removals and said facts (on the bundled flow, the sample flow, and a copy of
the bundled flow with rules and a modifier that a removal can make true) give the same newly
raised flags, in the same order, after every answer; and every condition of those flows
compiled agrees with `holds` over the same random answers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from flows.engine.format.conditions import Compare, Condition, compiled, holds, leaves
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Level, Modifier, RedFlag
from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, ScaleAnswer, YesNoAnswer
from flows.engine.loading.loader import LoadedFlow, load_flow_file
from flows.engine.safety.flags import RuleBook
from flows.workbench.runs import Run
from flows.workbench.suite import run_scenarios
from tests.flows.bundled_scenarios import BUNDLED_FILE, SCENARIO_ROOT
from tests.flows.sample_flow import sample_flow

SEEDS = range(150)


def test_every_bundled_scenario_plays_the_same_with_the_full_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Texts shown, flags raised (level and step), path, end and priority are the same."""
    loaded = load_flow_file(BUNDLED_FILE)
    quick = [_summary(run) for run in run_scenarios(loaded, SCENARIO_ROOT).runs]
    with monkeypatch.context() as patch:
        patch.setattr(RuleBook, "held_after", lambda self, _, a, s=(): self.held(a, s))
        full = [_summary(run) for run in run_scenarios(loaded, SCENARIO_ROOT).runs]
    assert len(quick) >= 40
    assert any(run[1] for run in quick)  # the scenarios raise flags
    assert quick == full


@pytest.mark.parametrize("which", ["bundled", "sample", "removable"])
def test_random_answers_raise_the_same_flags_as_the_full_check(
    which: str, bundled_flow: LoadedFlow
) -> None:
    flow = _flow(which, bundled_flow)
    rules, pool = RuleBook(flow), _values(flow)
    raised_any = 0
    for seed in SEEDS:
        raised_any += _play(rules, random.Random(seed), pool, [f.id for f in flow.facts])
    assert raised_any > len(SEEDS) // 2  # the random answers do raise flags


def test_rules_a_removal_can_make_true_are_checked_after_every_answer(
    bundled_flow: LoadedFlow,
) -> None:
    flow = _flow("removable", bundled_flow)
    index = RuleBook(flow).index
    assert {"unanswered_pain", "not_yet_urgent", flow.modifiers[-1].flags[0]} <= index.always
    assert "unanswered_pain" in RuleBook(flow).held_after("consent", {}, {})


@pytest.mark.parametrize("which", ["bundled", "sample", "removable"])
def test_compiled_conditions_agree_with_holds(which: str, bundled_flow: LoadedFlow) -> None:
    flow = _flow(which, bundled_flow)
    pool, conditions = _values(flow), list(_conditions(flow))
    facts = [f.id for f in flow.facts]
    rng = random.Random(7)
    for _ in range(300):
        answers = _random_answers(rng, pool)
        said = set(rng.sample(facts, k=min(len(facts), rng.randint(0, 3))))
        for condition in conditions:
            want = holds(condition, answers, said.__contains__)
            assert compiled(condition)(answers, said.__contains__) is want
            assert compiled(condition)(answers, None) is holds(condition, answers)


# --- playing random answers ------------------------------------------------------------------


def _play(rules: RuleBook, rng: random.Random, pool: dict[str, list[Any]], facts: list[str]) -> int:
    """Answers, removals and said facts in random order, as turns make them; after each
    answer the quick check must announce what the full check announces. The number raised."""
    answers: dict[str, Any] = {}
    said: dict[str, list[dict[str, Any]]] = {}
    raised: dict[str, str] = {}
    for _ in range(rng.randint(5, 60)):
        roll = rng.random()
        if roll < 0.6:
            step = rng.choice(list(pool))
            answers[step] = rng.choice(pool[step])
            full = _new(rules.held(answers, said), raised)
            assert _new(rules.held_after(step, answers, said), raised) == full
            raised.update(full)
        elif roll < 0.85 and answers:  # Back, a change from the review, a step passed over
            del answers[rng.choice(list(answers))]
        elif facts:  # a fact said in free text: turns check every flag after one
            said.setdefault(rng.choice(facts), []).append({"words": "..."})
            raised.update(_new(rules.held(answers, said), raised))
    return int(bool(raised))


def _new(held: dict[str, str], raised: dict[str, str]) -> list[tuple[str, str]]:
    """What `raise_flags` announces, in its order: flags newly held or now more urgent."""
    rank = {level.value: level.rank for level in Level}
    return [(f, lvl) for f, lvl in held.items() if f not in raised or rank[lvl] < rank[raised[f]]]


def _random_answers(rng: random.Random, pool: dict[str, list[Any]]) -> dict[str, Any]:
    chosen = rng.sample(list(pool), k=rng.randint(0, len(pool)))
    return {step: rng.choice(pool[step]) for step in chosen}


# --- the flows and their values --------------------------------------------------------------


def _flow(which: str, bundled_flow: LoadedFlow) -> Flow:
    if which == "sample":
        return sample_flow()
    flow = bundled_flow.flow
    if which == "bundled":
        return flow
    return _with_removable_rules(flow)


def _with_removable_rules(flow: Flow) -> Flow:
    """The bundled flow plus rules with `not` and `answered: false`, and such a modifier."""
    steps = sorted({c.answer for f in flow.facts if f.answers for c in _compares(f.answers)})
    message = flow.red_flags[-1].message
    extra = [
        RedFlag.model_validate(
            {
                "id": "unanswered_pain",
                "level": "soon",
                "label": "x",
                "message": message,
                "when": {"answer": steps[0], "answered": False},
            }
        ),
        RedFlag.model_validate(
            {
                "id": "not_yet_urgent",
                "level": "same_day",
                "label": "x",
                "message": message,
                "when": {
                    "all": [
                        {"answer": steps[1], "answered": True},
                        {"not": {"fact": flow.facts[0].id}},
                    ]
                },
            }
        ),
    ]
    modifier = Modifier.model_validate(
        {
            "id": "raise_when_unanswered",
            "when": {"not": {"answer": steps[2], "answered": True}},
            "flags": [flow.red_flags[-1].id],
            "raise_by": 1,
        }
    )
    return flow.model_copy(
        update={"red_flags": [*flow.red_flags, *extra], "modifiers": [*flow.modifiers, modifier]}
    )


def _conditions(flow: Flow) -> Iterator[Condition]:
    yield from (r.when for r in flow.red_flags)
    yield from (m.when for m in flow.modifiers)
    yield from (f.answers for f in flow.facts if f.answers is not None)
    for step in flow.steps.values():
        if step.ask_when is not None:
            yield step.ask_when
        if step.next is not None and not isinstance(step.next, str):
            yield from (b.when for b in step.next if b.when is not None)


def _compares(condition: Condition) -> Iterator[Compare]:
    return (leaf for leaf in leaves(condition) if isinstance(leaf, Compare))


def _values(flow: Flow) -> dict[str, list[Any]]:
    """Per step read by a condition: values that make its comparisons true and false."""
    pool: dict[str, list[Any]] = {}
    for condition in _conditions(flow):
        for cmp in _compares(condition):
            pool.setdefault(cmp.answer, [None, "other"]).extend(_around(cmp))
    rng = random.Random(1)
    for step_id, values in pool.items():
        spec = flow.steps[step_id].answer
        if isinstance(spec, ChoiceAnswer):
            values += [o.value for o in spec.options]
        elif isinstance(spec, MultiAnswer):
            options = [o.value for o in spec.options]
            values += [rng.sample(options, k=rng.randint(0, len(options))) for _ in range(12)]
        elif isinstance(spec, ScaleAnswer):
            values += list(range(11))
        elif isinstance(spec, YesNoAnswer):
            values += ["yes", "no"]
    return pool


def _around(cmp: Compare) -> list[Any]:
    """Values at and beside the comparison's operand (and a duration read from a phrase)."""
    if cmp.equals is not None:
        return [cmp.equals]
    if cmp.in_ is not None:
        return list(cmp.in_)
    if cmp.includes is not None:
        return [[cmp.includes], [cmp.includes, "other"], ["other"]]
    bound = next((b for b in (cmp.gt, cmp.gte, cmp.lt, cmp.lte) if b is not None), None)
    if bound is None:
        return []
    near = [int(bound) - 1, int(bound), int(bound) + 1]
    return [*near, *({"days": n, "said": "n days"} for n in near), True]


def _summary(run: Run) -> tuple[Any, ...]:
    return (run.loaded.name, run.raised, run.shown, run.asked, run.end, run.status, run.priority)
