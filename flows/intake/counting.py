"""The counts of one patient turn, written with the turn: one statement, numbers only.

The intake service hands each turn's before and after to `TurnCounts` (see
`flows.analytics.tally` for what is counted and why); `save` adds them to the intake counts in
the turn's own transaction, so a turn that fails counts nothing and a repeated update (deduplicated
before this) counts once. A turn that changes nothing countable writes nothing.
"""

from __future__ import annotations

import time

from flows.analytics.tally import INTAKE, Before, Progress, Tally, count_opening, count_turn
from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.turns import Conversation
from storage import intake_counts, plain_sql
from storage.tables import IntakeSession, utcnow


class TurnCounts:
    """What one turn adds to the intake counts, per flow version."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, int], Tally] = {}

    def tally(self, flow_id: str, version: int) -> Tally:
        """The counts of one flow version in this turn."""
        key = (flow_id, version)
        if key not in self._tallies:
            self._tallies[key] = Tally(flow_id, version, utcnow().date())
        return self._tallies[key]

    def opening(self, conversation: Conversation) -> None:
        """The consent question opened for someone with no intake in progress."""
        flow = conversation.flow
        count_opening(self.tally(flow.id, flow.version), flow.start)

    def turn(
        self,
        conversation: Conversation,
        before: Before,
        state: IntakeState,
        progress: Progress,
        record: IntakeSession | None,
    ) -> None:
        """What the turn from `before` to `state` did in `conversation`'s flow."""
        flow = conversation.flow
        started = record.started_at.timestamp() if record is not None else None
        tally = self.tally(flow.id, flow.version)
        index = conversation.fm.index
        count_turn(tally, index, before, state, progress, now=time.time(), started_at=started)

    def consented(self, conversation: Conversation) -> None:
        """Consent given: an intake is stored from now on."""
        flow = conversation.flow
        self.tally(flow.id, flow.version).add(INTAKE, "consented")

    def cancelled(self, record: IntakeSession, step: str) -> None:
        """An intake in progress, at `step`, stopped by a new start (/restart)."""
        tally = self.tally(record.flow_id, record.flow_version)
        tally.add(INTAKE, "cancelled")
        tally.add(step, "dropped")

    def save(self, tx: plain_sql.Runner) -> None:
        """Add the turn's counts in the turn's transaction (nothing when there are none)."""
        rows = [row for tally in self._tallies.values() for row in tally.rows()]
        intake_counts.add_counts(tx, rows=rows)


def new_progress(conversation: Conversation) -> Progress:
    """The progress of an intake at its first step (reached when the consent was opened)."""
    return Progress(seen=1 << conversation.fm.index[conversation.flow.start])
