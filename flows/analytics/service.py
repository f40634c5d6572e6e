"""The stats service: reads the intake counts and open intakes of a flow, builds its report.

Two reads in one read-only transaction: the counts summed per version and step (a few rows
per step and day, however many intakes there were), and the intakes not finished, grouped by
version, status and step through the sessions' (status, flow) index. Step order comes from the
flow versions themselves (the active file, or the stored snapshot of an older version); their
step ids also name the keyed step hashes the sessions keep instead of the step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flows.analytics.report import build_report
from flows.engine.format.model import Flow
from storage.database import Database
from storage.intake_counts import OpenGroup, open_sessions, sum_counts

DEFAULT_IDLE_HOURS = 24.0  # an intake untouched this long counts as abandoned


class StatsService:
    """Intake statistics of a flow: counts only, never a patient's data."""

    def __init__(self, *, database: Database, flows: Callable[[str, int], Flow]) -> None:
        self.database = database
        self.flows = flows

    def report(
        self,
        flow_id: str,
        *,
        since: date | None = None,
        idle_hours: float = DEFAULT_IDLE_HOURS,
        now: datetime | None = None,
        versions: Iterable[int] = (),
    ) -> dict[str, Any]:
        """The stats of `flow_id` (from the day `since` on), as the JSON report gives them.

        `versions` are listed even when nothing was counted on them yet (the active one).
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(hours=idle_hours)
        start = datetime.combine(since, time(), tzinfo=UTC) if since is not None else None
        with self.database.reading() as session:
            sums = sum_counts(session, flow_id=flow_id, since=since)
            groups = open_sessions(session, flow_id=flow_id, idle_before=cutoff, since=start)
        seen = {int(row["flow_version"]) for row in sums} | {g.flow_version for g in groups}
        every = seen | set(versions)
        orders = {v: steps for v in sorted(every) if (steps := self._steps(flow_id, v))}
        return build_report(
            flow_id,
            sums,
            self._named(groups, orders),
            orders,
            since=since.isoformat() if since is not None else None,
            idle_hours=idle_hours,
        )

    def _named(self, groups: list[OpenGroup], orders: dict[int, list[str]]) -> list[OpenGroup]:
        """The groups with their step ids (the sessions keep only keyed hashes of steps)."""
        sealer = self.database.sealer
        names = {
            key: step
            for steps in orders.values()
            for step in steps
            for key in sealer.step_keys(step)
        }
        return [replace(g, step_id=names.get(g.step_key or 0, "?")) for g in groups]

    def _steps(self, flow_id: str, version: int) -> list[str]:
        """The step ids of a flow version in order (none when the version is unknown)."""
        try:
            return list(self.flows(flow_id, version).steps)
        except LookupError:
            return []
