"""Red-flag evaluation over answers and facts: which rules hold, at which level, and why.

Rules are the flow's data. A fact holds when free text asserted it (the engine keeps those, with
the patient's words) or when the checklist answers its `answers` condition names hold, so a
fact from text and a ticked box meet in one rule. A modifier (e.g. bleeding while on NSAIDs
or blood thinners) raises its flags by whole levels. The highest level raised is the intake's
review priority. `RuleBook` is compiled once per flow version (conditions as closures, and the
index of which flags each answer can raise); `reasons` says what matched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.engine.format.conditions import (
    Check,
    Compare,
    FactCheck,
    FactView,
    Leaf,
    compiled,
    explain,
    holds,
)
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Fact, Level
from flows.engine.safety.rule_index import RuleIndex

ROUTINE = "routine"
_Rule = tuple[str, Check, Level]  # a red flag's id, its compiled `when` and its level
PRIORITIES = (Level.EMERGENCY.value, Level.SAME_DAY.value, Level.SOON.value, ROUTINE)


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing that made a flag hold: an answer, a fact, or a modifier that raised it."""

    kind: str  # "answer", "fact" or "modifier"
    ref: str  # the step id, fact id or modifier id
    via: tuple[Compare, ...] = field(default=())  # answers behind a fact or a modifier


class RuleBook:
    """A flow's facts, red-flag rules and modifiers, ready to evaluate."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.facts: dict[str, Fact] = {fact.id: fact for fact in flow.facts}
        self._fact_checks = {f.id: compiled(f.answers) for f in flow.facts if f.answers is not None}
        self._rules = tuple((r.id, compiled(r.when), r.level) for r in flow.red_flags)
        self._modifiers = tuple(
            (compiled(m.when), frozenset(m.flags), tuple(m.flags), m.raise_by)
            for m in flow.modifiers
        )
        self.index = RuleIndex(flow)
        self._after: dict[str, tuple[_Rule, ...]] = {}

    def view(self, answers: Mapping[str, Any], said: Collection[str]) -> FactView:
        """Whether a fact holds: said in free text, or asserted by the answers."""
        checks = self._fact_checks

        def fact_holds(fact_id: str) -> bool:
            if fact_id in said:
                return True
            check = checks.get(fact_id)
            return check is not None and check(answers, None)

        return fact_holds

    def held(self, answers: Mapping[str, Any], said: Collection[str] = ()) -> dict[str, str]:
        """Every flag that holds now, with its level after modifiers, most urgent first."""
        return self._levels(self._rules, answers, said)

    def held_after(
        self, step_id: str, answers: Mapping[str, Any], said: Collection[str] = ()
    ) -> dict[str, str]:
        """After an answer to `step_id`: `held`, but only among the flags that answer can newly
        raise or make more urgent (see `RuleIndex`); the others were checked before."""
        rules = self._after.get(step_id)
        if rules is None:
            wanted = self.index.after_answer(step_id)
            rules = self._after[step_id] = tuple(r for r in self._rules if r[0] in wanted)
        return self._levels(rules, answers, said)

    def _levels(
        self, rules: tuple[_Rule, ...], answers: Mapping[str, Any], said: Collection[str]
    ) -> dict[str, str]:
        facts = self.view(answers, said)
        levels = {flag_id: level for flag_id, check, level in rules if check(answers, facts)}
        if not levels:
            return {}
        for check, named, flags, raise_by in self._modifiers:
            if not named.isdisjoint(levels) and check(answers, facts):
                for flag_id in flags:
                    if flag_id in levels:
                        levels[flag_id] = _raise(levels[flag_id], raise_by)
        ordered = sorted(levels.items(), key=lambda item: item[1].rank)
        return {flag_id: level.value for flag_id, level in ordered}

    def reasons(
        self, flag_id: str, answers: Mapping[str, Any], said: Collection[str] = ()
    ) -> list[Reason]:
        """What made `flag_id` hold: its answers and facts, then the modifiers that raised it."""
        facts = self.view(answers, said)
        found = [
            self._reason(leaf, answers, said)
            for leaf in explain(self.flow.flag(flag_id).when, answers, facts)
        ]
        for modifier in self.flow.modifiers:
            if flag_id in modifier.flags and holds(modifier.when, answers, facts):
                leaves = explain(modifier.when, answers, facts)
                via = tuple(v for leaf in leaves for v in self._answers_of(leaf, answers, said))
                found.append(Reason("modifier", modifier.id, via))
        unique: dict[tuple[str, str], Reason] = {}
        for reason in found:
            unique.setdefault((reason.kind, reason.ref), reason)
        return list(unique.values())

    def _reason(self, leaf: Leaf, answers: Mapping[str, Any], said: Collection[str]) -> Reason:
        if isinstance(leaf, Compare):
            return Reason("answer", leaf.answer, (leaf,))
        return Reason("fact", leaf.fact, tuple(self._answers_of(leaf, answers, said)))

    def _answers_of(
        self, leaf: Leaf, answers: Mapping[str, Any], said: Collection[str]
    ) -> list[Compare]:
        """The answers behind a leaf: itself, or those asserting a fact."""
        if isinstance(leaf, Compare):
            return [leaf]
        assert isinstance(leaf, FactCheck)
        fact = self.facts.get(leaf.fact)
        if fact is None or fact.answers is None:
            return []
        return [c for c in explain(fact.answers, answers) if isinstance(c, Compare)]


def held_flags(
    flow: Flow, answers: Mapping[str, Any], said: Collection[str] = ()
) -> dict[str, str]:
    """Every flag that holds for `answers` and the facts `said` in free text (one-off use)."""
    return RuleBook(flow).held(answers, said)


def priority(raised: Mapping[str, str]) -> str:
    """The review priority: the most urgent level raised, or routine."""
    for level in PRIORITIES[:-1]:
        if level in raised.values():
            return level
    return ROUTINE


def _raise(level: Level, by: int) -> Level:
    order = list(Level)
    return order[max(0, level.rank - by)]
