"""Counting what one turn did, for `intake-bot stats`: numbers only, never what was said.

A turn compares the intake before and after it: a step reached for the first time, a step
answered or skipped for the first time (with the seconds since it was first shown), a Back
press, an intake completed (with its duration), cancelled (dropped at its step) or raising a
red-flag level. `Progress` is all an intake remembers for this (a bit per step reached and per
step answered, and when the current step was first shown), kept in its session row.

Before consent nothing about the patient is stored, so "started" counts the consent questions
opened (`/start`, `/restart`), not people: one person sending /start twice counts twice.
Seconds are kept as histogram buckets (`STEP_EDGES`, `COMPLETE_EDGES`), so medians are
estimates within a bucket.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flows.engine.conversation.state import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    DECLINED,
    ESCALATED,
    IntakeState,
)

INTAKE = ""  # the step id of whole-intake counts
STEP_EDGES = (2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600)
COMPLETE_EDGES = (
    60,
    120,
    180,
    300,
    420,
    600,
    900,
    1200,
    1800,
    2400,
    3600,
    5400,
    7200,
    14400,
    86400,
)
ENDINGS = {COMPLETED: "completed", CANCELLED: "cancelled", DECLINED: "declined"}


def bucket(seconds: float, edges: tuple[int, ...]) -> int:
    """The histogram bucket of a duration: 0 below the first edge, len(edges) above the last."""
    return bisect.bisect_right(edges, max(0.0, seconds))


@dataclass
class Progress:
    """What counting remembers of one intake (in its session row): no answer, no text."""

    seen: int = 0  # bit i: step i of the flow was reached
    done: int = 0  # bit i: step i was answered or skipped
    shown_at: float | None = None  # epoch seconds the current step was first shown

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Progress:
        """The progress kept in a session's state record (empty for older sessions)."""
        kept = (record or {}).get("progress") or {}
        return cls(int(kept.get("seen", 0)), int(kept.get("done", 0)), kept.get("shown_at"))

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form kept beside the state."""
        return {"seen": self.seen, "done": self.done, "shown_at": self.shown_at}


@dataclass(frozen=True, slots=True)
class Before:
    """The parts of an intake a turn's counts compare with."""

    step: str
    history: tuple[str, ...]
    levels: frozenset[str]
    status: str

    @classmethod
    def of(cls, state: IntakeState) -> Before:
        """The intake as it stands before the turn."""
        levels = frozenset(state.raised.values())
        return cls(state.step, tuple(state.history), levels, state.status)


@dataclass
class Tally:
    """The counts a turn adds, per step of one flow version, on one day."""

    flow_id: str
    flow_version: int
    day: date
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, step: str, column: str, n: int = 1) -> None:
        """Count `n` more of `column` at `step` (INTAKE for whole intakes)."""
        self.counts.setdefault(step, Counter())[column] += n

    def seconds(self, step: str, seconds: float, edges: tuple[int, ...]) -> None:
        """Count one duration in its bucket."""
        self.add(step, f"seconds_{bucket(seconds, edges)}")

    def rows(self) -> list[dict[str, Any]]:
        """The counts as rows of `storage.intake_counts.add_counts`."""
        key = {"day": self.day, "flow_id": self.flow_id, "flow_version": self.flow_version}
        return [{**key, "step_id": step, **c} for step, c in self.counts.items() if c]


def count_opening(tally: Tally, start_step: str) -> None:
    """A consent question opened for someone with no intake in progress."""
    tally.add(INTAKE, "started")
    tally.add(start_step, "reached")


def count_turn(
    tally: Tally,
    index: dict[str, int],
    before: Before,
    state: IntakeState,
    progress: Progress,
    *,
    now: float,
    started_at: float | None,
) -> None:
    """Count what the turn from `before` to `state` did, and update `progress`."""
    common = _common_prefix(before.history, state.history)
    for step in state.history[common:]:
        _passed(
            tally,
            index,
            step,
            step in state.skipped,
            progress,
            now if step == before.step else None,
        )
    if len(state.history) < len(before.history) and state.step != before.step and not state.editing:
        tally.add(before.step, "back")
    elif state.step != before.step and before.step not in state.history and not state.editing:
        _passed(tally, index, before.step, False, progress, now)  # the review screen, submitted
    if state.step != before.step:
        _reached(tally, index, state.step, progress, now)
    for level in sorted(frozenset(state.raised.values()) - before.levels):
        tally.add(INTAKE, f"escalated_{level}")
    if before.status != ACTIVE:
        return
    if state.status in ENDINGS:
        tally.add(INTAKE, ENDINGS[state.status])
    if state.status == CANCELLED:
        tally.add(state.step, "dropped")
    elif state.status == ESCALATED:
        tally.add(state.step, "escalated")  # where an emergency ended the intake
    elif state.status == COMPLETED and started_at is not None:
        tally.seconds(INTAKE, now - started_at, COMPLETE_EDGES)


def _passed(
    tally: Tally,
    index: dict[str, int],
    step: str,
    skipped: bool,
    progress: Progress,
    now: float | None,
) -> None:
    """A step answered (or skipped) for the first time, with its seconds when it was on screen."""
    bit = 1 << index[step]
    if progress.done & bit:
        return
    progress.done |= bit
    tally.add(step, "skipped" if skipped else "answered")
    if now is not None and progress.shown_at is not None:
        tally.seconds(step, now - progress.shown_at, STEP_EDGES)


def _reached(
    tally: Tally, index: dict[str, int], step: str, progress: Progress, now: float
) -> None:
    progress.shown_at = now
    bit = 1 << index[step]
    if not progress.seen & bit:
        progress.seen |= bit
        tally.add(step, "reached")


def _common_prefix(a: tuple[str, ...], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n
