"""A flow compiled to a `transitions` Machine: states are step ids, `advance` follows `next`.

One Machine per flow version, built once with `model=None` and `auto_transitions=False`.
Conditions are Python callables compiled from the validated condition data, never names that
`transitions` would import. A turn fires the machine's `advance` event on the runtime state
without attaching it: the event reads and sets the state's `state` attribute itself, so no
patient is ever listed on the shared machine (attaching and detaching every turn cost more
than the rest of a move, and `Machine.models` is shared by every turn in every thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from transitions import EventData, Machine

from flows.engine.conversation.state import IntakeState
from flows.engine.format.conditions import Check, Condition, compiled, referenced_steps
from flows.engine.format.model import Flow
from flows.engine.format.steps import Branch, Step

ADVANCE = "advance"

# `transitions` logs two INFO lines per state change: thousands per hour of intakes, and
# nothing an operator needs. Its warnings (a misconfigured machine) still show.
logging.getLogger("transitions").setLevel(logging.WARNING)


class _PlainMachine(Machine):
    """A Machine that gives attached models only their triggers.

    `transitions` also adds an `is_<step>()` helper per state to every attached model and
    binds `on_enter_<step>` methods it finds on it. The runtime state uses neither, and with
    one helper per step that was most of the cost of attaching a model each turn.
    """

    def _add_model_to_state(self, state: Any, model: Any) -> None:
        return None


class FlowMachine:
    """The compiled machine of one flow version, plus step lookups."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.step_ids = list(flow.steps)
        self.index = {step_id: i for i, step_id in enumerate(self.step_ids)}
        self.routing_steps = routing_steps(flow)  # the answers that decide the path
        self.remaining_cache: dict[tuple[object, ...], int] = {}
        self.question_cache: dict[tuple[str, str | None], object] = {}  # see prompts.py
        self._ahead: dict[str, frozenset[str]] = {}
        self.machine = _PlainMachine(
            model=None,
            states=self.step_ids,
            initial=flow.start,
            auto_transitions=False,
            send_event=True,
        )
        for step_id, step in flow.steps.items():
            for branch in branches(step):
                self.machine.add_transition(
                    ADVANCE, source=step_id, dest=branch.goto, conditions=_guard(branch.when)
                )
        self._advance = self.machine.events[ADVANCE] if self.machine.events else None
        self._sources = frozenset(s for s in self.step_ids if self.machine.get_triggers(s))
        self.asked_when: dict[str, Check] = {
            step_id: compiled(step.ask_when)
            for step_id, step in flow.steps.items()
            if step.ask_when is not None
        }

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return self.flow.steps[step_id]

    def ahead(self, step_id: str) -> frozenset[str]:
        """The step and every step its `next` can lead to (the answers still to come)."""
        found = self._ahead.get(step_id)
        if found is None:
            seen, todo = {step_id}, [step_id]
            while todo:
                for branch in branches(self.step(todo.pop())):
                    if branch.goto not in seen:
                        seen.add(branch.goto)
                        todo.append(branch.goto)
            found = self._ahead[step_id] = frozenset(seen)
        return found

    def advance(self, state: IntakeState) -> bool:
        """Follow the current step's `next`; False at an end. A step this flow version does
        not have raises ValueError, as `transitions` does."""
        if self._advance is None or state.state not in self._sources:
            self.machine.get_state(state.state)
            return False
        return bool(self._advance.trigger(state))


def routing_steps(flow: Flow) -> tuple[str, ...]:
    """Every step whose answer a `next` or `ask_when` condition reads, sorted."""
    found: set[str] = set()
    for step in flow.steps.values():
        conditions = [b.when for b in branches(step)] + [step.ask_when]
        for condition in conditions:
            if condition is not None:
                found.update(c.answer for c in referenced_steps(condition))
    return tuple(sorted(found))


def branches(step: Step) -> Iterator[Branch]:
    """The step's `next` as an ordered list of branches."""
    if step.next is None:
        return
    if isinstance(step.next, str):
        yield Branch(goto=step.next)
    else:
        yield from step.next


def _guard(condition: Condition | None) -> list[str | Callable[..., bool | None]]:
    if condition is None:
        return []
    test = compiled(condition)

    def check(event: EventData) -> bool:
        model: Any = event.model
        return test(model.answers, None)

    return [check]
