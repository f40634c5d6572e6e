"""Checks of a flow's step graph: the start, `next` targets, reachability and dead ends.

The graph has a node per step and an edge per `next` target (a step id or each branch's
`goto`). `dominators` tells which steps lie on every path from `start` to a step; the
condition checks use it to prove an answer is always given before it is tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flows.engine.format.model import Flow
from flows.engine.format.problems import Problem
from flows.engine.format.steps import Step
from flows.engine.validation.context import Context, YamlPath


def targets(step: Step) -> list[tuple[str, YamlPath]]:
    """The steps `step` may go to next, each with its path relative to the step."""
    if step.next is None:
        return []
    if isinstance(step.next, str):
        return [(step.next, ("next",))]
    return [(branch.goto, ("next", index, "goto")) for index, branch in enumerate(step.next)]


def successors(flow: Flow, step_id: str) -> list[str]:
    """The existing steps `step_id` may go to next."""
    return [target for target, _ in targets(flow.steps[step_id]) if target in flow.steps]


def reachable(flow: Flow, roots: Iterable[str] | None = None) -> set[str]:
    """The steps a patient can reach from `roots` (by default `start`), roots included."""
    queue = [flow.start] if roots is None else list(roots)
    queue = [step_id for step_id in queue if step_id in flow.steps]
    seen = set(queue)
    while queue:
        for target in successors(flow, queue.pop()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def dominators(flow: Flow) -> dict[str, set[str]]:
    """For each reachable step, the steps on every path from `start` to it (itself included)."""
    nodes = reachable(flow)
    predecessors: dict[str, set[str]] = {node: set() for node in nodes}
    for node in nodes:
        for target in successors(flow, node):
            predecessors[target].add(node)
    dom = {node: set(nodes) for node in nodes}
    dom[flow.start] = {flow.start}
    changed = True
    while changed:
        changed = False
        for node in nodes - {flow.start}:
            incoming = [dom[p] for p in predecessors[node]]
            new = set.intersection(*incoming) | {node} if incoming else {node}
            if new != dom[node]:
                dom[node], changed = new, True
    return dom


def check_start(ctx: Context) -> Iterator[Problem]:
    """`start` names an existing step."""
    if ctx.flow.start not in ctx.flow.steps:
        yield ctx.problem(("start",), f"start: unknown step '{ctx.flow.start}'")


def check_gotos(ctx: Context) -> Iterator[Problem]:
    """Every `next` target names an existing step."""
    for step_id, step in ctx.flow.steps.items():
        for target, path in targets(step):
            if target not in ctx.flow.steps:
                yield ctx.problem(("steps", step_id, *path), f"next: unknown step '{target}'")


def check_next_shape(ctx: Context) -> Iterator[Problem]:
    """Questions have a `next`, end steps have none, a branch list ends unconditionally."""
    for step_id, step in ctx.flow.steps.items():
        where: YamlPath = ("steps", step_id)
        if step.kind == "end" and step.next is not None:
            yield ctx.problem((*where, "next"), "an end step must not have a next")
        elif step.kind != "end" and step.next is None:
            yield ctx.problem(where, f"step '{step_id}' has no next (only end steps may stop)")
        elif isinstance(step.next, list):
            yield from _check_branches(ctx, step_id, step)


def _check_branches(ctx: Context, step_id: str, step: Step) -> Iterator[Problem]:
    assert isinstance(step.next, list)
    last = len(step.next) - 1
    for index, branch in enumerate(step.next):
        path: YamlPath = ("steps", step_id, "next", index)
        if branch.when is None and index != last:
            yield ctx.problem(path, "a branch without 'when' must be the last one")
        if branch.when is not None and index == last:
            yield ctx.problem(path, "the last branch must have no 'when' (the otherwise case)")


def check_unreachable(ctx: Context) -> Iterator[Problem]:
    """Every step can be reached from `start`; each unreachable region is reported once."""
    flow = ctx.flow
    if flow.start not in flow.steps:
        return
    found = reachable(flow)
    lost = [step_id for step_id in flow.steps if step_id not in found]
    while lost:
        entry = next((s for s in lost if not _led_to(flow, s, lost)), lost[0])
        region = reachable(flow, [entry]) & set(lost)
        message = f"step '{entry}' can never be reached"
        if len(region) > 1:
            message += f" (nor the {len(region) - 1} step(s) reached only through it)"
        yield ctx.problem(("steps", entry), message)
        lost = [step_id for step_id in lost if step_id not in region]


def _led_to(flow: Flow, step_id: str, others: list[str]) -> bool:
    """Whether a step of `others` (besides `step_id`) goes to `step_id`."""
    return any(step_id in successors(flow, other) for other in others if other != step_id)


def check_dead_ends(ctx: Context) -> Iterator[Problem]:
    """From every step some end step can be reached (loops need a way out)."""
    flow = ctx.flow
    finishing = _reaching(flow, {s for s, step in flow.steps.items() if step.kind == "end"})
    # Steps stuck because of a missing next or an unknown goto are reported at that mistake.
    broken = {
        step_id
        for step_id, step in flow.steps.items()
        if (step.next is None and step.kind != "end")
        or any(target not in flow.steps for target, _ in targets(step))
    }
    explained = _reaching(flow, broken)
    for step_id in flow.steps:
        if step_id not in finishing and step_id not in explained:
            message = f"no end step can be reached from step '{step_id}' (a loop with no way out)"
            yield ctx.problem(("steps", step_id, "next"), message)


def _reaching(flow: Flow, goals: set[str]) -> set[str]:
    """The steps from which some step of `goals` can be reached."""
    found = set(goals)
    changed = True
    while changed:
        changed = False
        for step_id in flow.steps:
            if step_id not in found and any(t in found for t in successors(flow, step_id)):
                found.add(step_id)
                changed = True
    return found
