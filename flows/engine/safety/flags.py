"""Red-flag evaluation: which rules hold, at which level after modifiers, and the priority.

Rules are the flow's data; flags confirmed from free text count as held. A modifier (e.g.
bleeding while on NSAIDs or blood thinners) raises its flags by whole levels. The highest
level raised is the intake's review priority.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flows.engine.format.conditions import holds
from flows.engine.format.model import Flow, Level

ROUTINE = "routine"
PRIORITIES = (Level.EMERGENCY.value, Level.SAME_DAY.value, Level.SOON.value, ROUTINE)


def held_flags(
    flow: Flow, answers: Mapping[str, Any], text_flags: Iterable[str] = ()
) -> dict[str, str]:
    """Every flag that holds now, with its level after modifiers, most urgent first."""
    from_text = set(text_flags)
    levels: dict[str, Level] = {
        rule.id: rule.level
        for rule in flow.red_flags
        if rule.id in from_text or holds(rule.when, answers)
    }
    for modifier in flow.modifiers:
        if holds(modifier.when, answers):
            for flag_id in modifier.flags:
                if flag_id in levels:
                    levels[flag_id] = _raise(levels[flag_id], modifier.raise_by)
    ordered = sorted(levels.items(), key=lambda item: item[1].rank)
    return {flag_id: level.value for flag_id, level in ordered}


def priority(raised: Mapping[str, str]) -> str:
    """The review priority: the most urgent level raised, or routine."""
    for level in PRIORITIES[:-1]:
        if level in raised.values():
            return level
    return ROUTINE


def _raise(level: Level, by: int) -> Level:
    order = list(Level)
    return order[max(0, level.rank - by)]
