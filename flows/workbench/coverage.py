"""What a flow's scenarios reach: every red flag, modifier, `next` branch and conditional step.

A flow is covered when some scenario raises each red flag, applies each modifier (a flag
raised above its own level), follows each branch of every conditional `next`, and both asks
and passes over each step with an `ask_when`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Level
from flows.workbench.runs import Run

RED_FLAG, MODIFIER, BRANCH, ASKED, PASSED_OVER = (
    "red flag",
    "modifier",
    "branch",
    "conditional step asked",
    "conditional step passed over",
)
PLURALS = {
    RED_FLAG: "red flags",
    MODIFIER: "modifiers",
    BRANCH: "branches",
    ASKED: "conditional steps asked",
    PASSED_OVER: "passed over",
}


@dataclass(frozen=True)
class Target:
    """One thing to reach and the scenarios that reach it."""

    kind: str
    name: str
    by: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """Every target of a flow, reached or not."""

    targets: tuple[Target, ...]

    @property
    def missing(self) -> list[Target]:
        """Targets no scenario reaches."""
        return [target for target in self.targets if not target.by]

    def summary(self) -> str:
        """`red flags 29/29, ...`: reached / all, per kind."""
        parts = []
        for kind, plural in PLURALS.items():
            of_kind = [t for t in self.targets if t.kind == kind]
            if of_kind:
                parts.append(f"{plural} {sum(bool(t.by) for t in of_kind)}/{len(of_kind)}")
        return ", ".join(parts) or "nothing to cover"


def measure(flow: Flow, runs: Iterable[Run]) -> Coverage:
    """What `runs` of scenarios on `flow` reach."""
    done = list(runs)
    targets = [*_flags(flow, done), *_branches(flow, done), *_conditional(flow, done)]
    return Coverage(tuple(targets))


def _flags(flow: Flow, runs: list[Run]) -> list[Target]:
    targets = [
        Target(RED_FLAG, rule.id, tuple(r.loaded.name for r in runs if rule.id in r.raised))
        for rule in flow.red_flags
    ]
    for modifier in flow.modifiers:
        base = {rule.id: rule.level for rule in flow.red_flags if rule.id in modifier.flags}
        by = tuple(r.loaded.name for r in runs if _raised_above(r, base))
        targets.append(Target(MODIFIER, modifier.id, by))
    return targets


def _branches(flow: Flow, runs: list[Run]) -> list[Target]:
    targets = []
    for step_id, step in flow.steps.items():
        for branch in step.next if isinstance(step.next, list) else []:
            edge = (step_id, branch.goto)
            by = tuple(r.loaded.name for r in runs if edge in r.edges)
            targets.append(Target(BRANCH, f"{step_id} -> {branch.goto}", by))
    return targets


def _conditional(flow: Flow, runs: list[Run]) -> list[Target]:
    targets = []
    for step_id, step in flow.steps.items():
        if step.ask_when is not None:
            asked = tuple(r.loaded.name for r in runs if step_id in r.asked)
            passed = tuple(r.loaded.name for r in runs if step_id in r.passed_over)
            targets += [Target(ASKED, step_id, asked), Target(PASSED_OVER, step_id, passed)]
    return targets


def _raised_above(run: Run, base: dict[str, Level]) -> bool:
    """Whether the run raised one of these flags above its own level (a modifier applied)."""
    return any(
        flag in run.raised and Level(run.raised[flag].level).rank < level.rank
        for flag, level in base.items()
    )
