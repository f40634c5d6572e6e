"""The runtime state of one intake, as the engine steps it and storage keeps it.

`IntakeState` is a plain object (never a table row: see PITFALLS.md) so a `transitions`
machine can use it as a model for one turn. `to_record` / `from_record` give the JSON kept in
the session's `state` column; answers are kept apart (the answers table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVE = "active"
COMPLETED = "completed"
DECLINED = "declined"
ESCALATED = "escalated"
CANCELLED = "cancelled"


@dataclass(eq=False)  # identity: the shared machine's model list must tell two patients apart
class IntakeState:
    """Where a patient is in a flow and what they have said."""

    state: str  # the current step id; the attribute name `transitions` uses
    answers: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # question steps passed, in order
    skipped: list[str] = field(default_factory=list)  # optional steps skipped (not re-asked)
    raised: dict[str, str] = field(default_factory=dict)  # flag id -> level announced
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)  # flag id -> its evidence
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # said in free text
    pending_confirm: str | None = None  # a fact awaiting "Just to check ...?"
    confirm_queue: list[str] = field(default_factory=list)  # vague facts to ask about next
    unsure: dict[str, dict[str, Any]] = field(default_factory=dict)  # words of vague facts
    selection: list[str] = field(default_factory=list)  # multi-select in progress
    editing: bool = False  # changing an answer from the review screen
    picking: bool = False  # on the review screen, choosing what to change
    status: str = ACTIVE
    language: str | None = None

    @property
    def step(self) -> str:
        """The current step id."""
        return self.state

    @property
    def ended(self) -> bool:
        """Whether the intake has finished one way or another."""
        return self.status != ACTIVE

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready record of everything but the answers and the step."""
        return {
            "history": list(self.history),
            "skipped": list(self.skipped),
            "raised": dict(self.raised),
            "flags": {k: dict(v) for k, v in self.flags.items()},
            "facts": {k: list(v) for k, v in self.facts.items()},
            "unsure": dict(self.unsure),
            "pending_confirm": self.pending_confirm,
            "confirm_queue": list(self.confirm_queue),
            "selection": list(self.selection),
            "editing": self.editing,
            "picking": self.picking,
        }

    @classmethod
    def from_record(
        cls,
        *,
        step: str,
        status: str,
        record: dict[str, Any],
        answers: dict[str, Any],
        language: str | None,
    ) -> IntakeState:
        """Rebuild a state from its stored parts."""
        return cls(
            state=step,
            answers=dict(answers),
            history=list(record.get("history", [])),
            skipped=list(record.get("skipped", [])),
            raised=dict(record.get("raised", {})),
            flags=dict(record.get("flags", {})),
            facts=dict(record.get("facts", {})),
            unsure=dict(record.get("unsure", {})),
            pending_confirm=record.get("pending_confirm"),
            confirm_queue=list(record.get("confirm_queue", [])),
            selection=list(record.get("selection", [])),
            editing=bool(record.get("editing", False)),
            picking=bool(record.get("picking", False)),
            status=status,
            language=language,
        )
