"""Rebuilding the engine's `IntakeState` from a stored session row and its answers."""

from __future__ import annotations

from typing import Any

from flows.engine.conversation.state import IntakeState
from storage.tables import IntakeSession, Patient


def restore_state(
    record: IntakeSession, answers: dict[str, Any], patient: Patient | None
) -> IntakeState:
    """The runtime state of a stored session."""
    return IntakeState.from_record(
        step=record.current_step,
        status=record.status,
        record=record.state,
        answers=answers,
        language=patient.language if patient else None,
    )
