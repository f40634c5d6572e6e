"""Idle intakes: closed as `abandoned` after a while; flagged ones reach the clinicians.

A patient can stop answering at any step. After `idle` without a turn (INTAKE_ABANDON_AFTER_HOURS,
24 hours by default) the running bot's sweeper closes the intake as `abandoned`. If it raised any
red flag, its review item is opened (or, for a same-day flag already queued, updated) as an
`incomplete` intake with what was answered; a routine abandoned intake is only counted (an
audit row and the sweep's figures), since no clinician needs to act on it. Each intake is closed
in its own transaction, re-checked under a row lock, so a patient answering at that moment
either keeps their intake or finds it closed, never half of each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.intake.referral import flags_of, refer
from flows.intake.sessions import open_state
from storage import intakes, queue
from storage.database import Database
from storage.tables import utcnow

log = logging.getLogger(__name__)
ABANDONED = "abandoned"
BATCH = 100


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one sweep closed."""

    abandoned: int = 0  # intakes closed
    queued: int = 0  # of which had flags and reached the review queue


class IdleSweeper:
    """Closes intakes idle for longer than `idle`."""

    def __init__(
        self, *, database: Database, idle: timedelta, notify: Callable[[], None] | None = None
    ) -> None:
        self.database = database
        self.idle = idle
        self.notify = notify

    def sweep(self, now: datetime | None = None) -> Sweep:
        """Close every intake idle since before `now - idle` (in batches)."""
        cutoff = (now or utcnow()) - self.idle
        abandoned = queued = 0
        while True:
            with self.database.reading() as tx:
                ids = intakes.idle_sessions(tx, updated_before=cutoff, limit=BATCH)
            for session_id in ids:
                closed, flagged = self._close(session_id, cutoff)
                abandoned += closed
                queued += flagged
            if len(ids) < BATCH:
                break
        if abandoned:
            log.info("intake.abandoned count=%s queued=%s", abandoned, queued)
        if queued and self.notify is not None:
            self.notify()
        return Sweep(abandoned, queued)

    def _close(self, session_id: int, cutoff: datetime) -> tuple[bool, bool]:
        """Close one intake if it is still idle; (closed, queued for review)."""
        with self.database.transaction() as tx:
            record = intakes.lock_idle(tx, session_id=session_id, updated_before=cutoff)
            if record is None:
                return False, False
            record.status, record.ended_at = ABANDONED, utcnow()
            tx.add(record)
            queue.audit(tx, actor="system", action="intake.abandoned", session_id=record.id)
            sealer = self.database.sealer
            state = open_state(record, None, sealer).state
            if not state.raised:
                return True, False
            refer(tx, session_id=session_id, flags=flags_of(state), sealer=sealer, actor="system")
            return True, True
