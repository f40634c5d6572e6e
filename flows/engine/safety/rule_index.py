"""Which red flags a new answer can raise: an index built once per flow version.

A flag's rule reads only the answers and facts it names (through the facts' own `answers`),
so between two checks a flag can newly hold, or a modifier newly raise it, only through an
answer or fact it reads. That holds for removals too when the rule has no `not` and no
`answered: false`: taking an answer away can then only make it false. Flags read through such
a rule (or raised by such a modifier) are checked on every turn; the others only when an
answer they read changes. Facts said in free text only ever add up, and the engine checks
every flag after each of them, and after every answer, and announces every flag that holds; so
a flag left out of the check after an answer is one that cannot have become newly held or more
urgent since the last check (see `RuleBook.held_after`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flows.engine.format.conditions import AllOf, AnyOf, Compare, Condition, NotOf, leaves
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Fact


class RuleIndex:
    """Per flow version: the flags an answer to each step can newly raise."""

    def __init__(self, flow: Flow) -> None:
        facts = {fact.id: fact for fact in flow.facts}
        known = {rule.id for rule in flow.red_flags}
        self.always: set[str] = set()  # flags a removal could raise: checked every time
        self.by_step: dict[str, set[str]] = {}
        for rule in flow.red_flags:
            self._add(rule.when, (rule.id,), facts)
        for modifier in flow.modifiers:
            self._add(modifier.when, [f for f in modifier.flags if f in known], facts)

    def after_answer(self, step_id: str) -> frozenset[str]:
        """The flags an answer to `step_id` can newly raise, with those checked every time."""
        return frozenset(self.always | self.by_step.get(step_id, set()))

    def _add(self, when: Condition, flags: Iterable[str], facts: Mapping[str, Fact]) -> None:
        steps, removable = _reads(when, facts)
        if not removable:
            self.always.update(flags)
            return
        for step_id in steps:
            self.by_step.setdefault(step_id, set()).update(flags)


def _reads(when: Condition, facts: Mapping[str, Fact]) -> tuple[set[str], bool]:
    """(the steps whose answers `when` reads, also through facts; whether removing answers
    can only make it false)."""
    steps: set[str] = set()
    removable = _removal_safe(when)
    for leaf in leaves(when):
        if isinstance(leaf, Compare):
            steps.add(leaf.answer)
            continue
        fact = facts.get(leaf.fact)
        if fact is not None and fact.answers is not None:
            steps.update(c.answer for c in leaves(fact.answers) if isinstance(c, Compare))
            removable = removable and _removal_safe(fact.answers)
    return steps, removable


def _removal_safe(when: Condition) -> bool:
    """No `not` and no `answered: false`: fewer answers can never make `when` true."""
    if isinstance(when, NotOf):
        return False
    if isinstance(when, AllOf | AnyOf):
        return all(_removal_safe(c) for c in (when.all if isinstance(when, AllOf) else when.any))
    return not (isinstance(when, Compare) and when.answered is False)
