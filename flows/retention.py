"""Retention: purging what has outlived its period, by the running bot and `intake-bot purge`.

Periods are in days; 0 keeps that kind of data until the patient deletes it:

- unfinished intakes (cancelled, abandoned, withdrawn: they never reached the queue);
- reviewed intakes (counted from the review; never less than a legal retention duty);
- audit events;
- applied inbox rows (processed updates) and delivered outbox rows (technical records of
  handled messages).

Intakes still waiting for a clinician are never purged, whatever their age. Intakes leave with
everything about them (`storage.erasure`): review items, notes, flags, and every review-chat
and clinician message about them is owed a retraction. Patients with no intake left are
removed. Each category is purged in short batches, one transaction each, so patients' turns go
on in between; on PostgreSQL one instance purges at a time (an advisory lock). A purge that
removed anything is audited with counts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from storage import purge, queue
from storage.database import Database
from storage.erasure import Erased
from storage.tables import utcnow

BATCH = 200
LOCK_ID = 0x1A7A_9E11  # the advisory lock several instances share for purging


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """How long each kind of data is kept, in days (0: until the patient deletes it)."""

    unfinished_days: int = 30
    reviewed_days: int = 365
    audit_days: int = 730
    updates_days: int = 7
    legal_days: int = 0

    @property
    def reviewed_effective_days(self) -> int:
        """The reviewed-intake period, never shorter than the legal duty."""
        if self.reviewed_days == 0:
            return 0
        return max(self.reviewed_days, self.legal_days)


@dataclass
class PurgeReport:
    """How many rows of each kind a purge removed (or would remove)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(n for key, n in self.counts.items() if key != "messages_retracted")

    def describe(self) -> str:
        """The counts as one line (also the audit detail)."""
        return " ".join(f"{key}={n}" for key, n in self.counts.items())


Remove = Callable[[Session, list[int], PurgeReport], int]


class Retention:
    """Purges data past its retention period."""

    def __init__(self, database: Database, periods: RetentionPeriods, *, batch: int = BATCH):
        self.database = database
        self.periods = periods
        self.batch = batch

    def purge(
        self, *, dry_run: bool = False, actor: str = "system", now: datetime | None = None
    ) -> PurgeReport:
        """Remove (or with `dry_run` count) everything past its period; audited with counts."""
        report = PurgeReport(counts={"messages_retracted": 0})
        for name, days, select, remove in self._categories():
            if days == 0:
                report.counts[name] = 0
                continue
            before = (now or utcnow()) - timedelta(days=days)
            report.counts[name] = self._run(before, select, remove, report, dry_run)
        if report.total and not dry_run:
            with self.database.transaction() as tx:
                queue.audit(tx, actor=actor, action="retention.purged", detail=report.describe())
        return report

    def _categories(self) -> list[tuple[str, int, Callable[..., list[int]], Remove]]:
        p = self.periods
        return [
            ("unfinished_intakes", p.unfinished_days, purge.unfinished_sessions, _erase),
            ("reviewed_intakes", p.reviewed_effective_days, purge.reviewed_sessions, _erase),
            ("patients", 1, _orphans, _delete_patients),
            ("audit_events", p.audit_days, purge.old_audit, _delete_audit),
            ("inbox", p.updates_days, purge.old_updates, _delete_updates),
            ("outbox", p.updates_days, purge.old_outbox, _delete_outbox),
        ]

    def _run(
        self,
        before: datetime,
        select: Callable[..., list[int]],
        remove: Remove,
        report: PurgeReport,
        dry_run: bool,
    ) -> int:
        if dry_run:
            with self.database.reading() as tx:
                return len(select(tx, before=before, limit=None))
        removed = 0
        while True:
            with self.database.transaction() as tx:
                if not _purge_lock(tx):
                    return removed
                ids = select(tx, before=before, limit=self.batch)
                removed += remove(tx, ids, report) if ids else 0
            if len(ids) < self.batch:
                return removed


def _purge_lock(tx: Session) -> bool:
    """On PostgreSQL, whether this instance may purge now (one at a time)."""
    if tx.get_bind().dialect.name != "postgresql":
        return True
    locked = tx.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_ID}).scalar()
    return bool(locked)


def _erase(tx: Session, session_ids: list[int], report: PurgeReport) -> int:
    erased: Erased = purge.erase(tx, session_ids=session_ids)
    report.counts["messages_retracted"] += erased.messages
    return erased.sessions


def _orphans(tx: Session, *, before: datetime, limit: int | None) -> list[int]:
    return purge.orphan_patients(tx, limit=limit)


def _delete_patients(tx: Session, ids: list[int], report: PurgeReport) -> int:
    return purge.delete_patients(tx, patient_ids=ids)


def _delete_audit(tx: Session, ids: list[int], report: PurgeReport) -> int:
    return purge.delete_audit(tx, ids=ids)


def _delete_updates(tx: Session, ids: list[int], report: PurgeReport) -> int:
    return purge.delete_updates(tx, ids=ids)


def _delete_outbox(tx: Session, ids: list[int], report: PurgeReport) -> int:
    return purge.delete_outbox(tx, ids=ids)
