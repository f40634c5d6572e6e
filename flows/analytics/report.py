"""The stats report: intake counts and open intakes summed into a funnel, per flow version.

Built from the rows of `storage.intake_counts` (counts per version and step) and the intakes
not finished (in progress, idle, abandoned or withdrawn, per version and step). An intake left
idle longer than the idle limit counts as abandoned, as does one the idle sweeper marked so;
both count as dropped at the step they stopped on, as do cancelled and withdrawn ones. Medians
and the 90th percentile are estimated from the histogram buckets of `flows.analytics.tally`.
Steps are listed in flow order (the newest version's, then steps only older versions have).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flows.analytics.tally import COMPLETE_EDGES, INTAKE, STEP_EDGES
from flows.engine.format.safety_rules import Level
from storage.intake_counts import SECONDS, OpenGroup

LEVELS = tuple(level.value for level in Level)
INTAKE_COUNTS = ("started", "consented", "declined", "completed", "cancelled")
STEP_COUNTS = ("reached", "answered", "skipped", "dropped", "escalated", "back")


@dataclass
class StepStats:
    """One step's funnel numbers."""

    id: str
    counts: Counter[str] = field(default_factory=Counter)
    seconds: list[int] = field(default_factory=lambda: [0] * len(SECONDS))

    def as_dict(self) -> dict[str, Any]:
        """The step as the JSON report writes it."""
        median = quantile(self.seconds, STEP_EDGES, 0.5)
        return {
            "id": self.id,
            **{name: self.counts[name] for name in STEP_COUNTS},
            "median_s": median,
        }


@dataclass
class VersionStats:
    """The funnel of one flow version (or of all of them: `version` None)."""

    version: int | None
    counts: Counter[str] = field(default_factory=Counter)
    seconds: list[int] = field(default_factory=lambda: [0] * len(SECONDS))
    steps: dict[str, StepStats] = field(default_factory=dict)

    def step(self, step_id: str) -> StepStats:
        """The numbers of one step (created empty)."""
        return self.steps.setdefault(step_id, StepStats(step_id))

    def as_dict(self, order: Sequence[str]) -> dict[str, Any]:
        """The version as the JSON report writes it, steps in `order` first."""
        counts = self.counts
        ordered = [*order, *(s for s in self.steps if s not in order)]
        return {
            **{name: counts[name] for name in INTAKE_COUNTS},
            "escalated": {level: counts[f"escalated_{level}"] for level in LEVELS},
            **{name: counts[name] for name in ("abandoned", "withdrawn", "in_progress")},
            "complete_median_s": quantile(self.seconds, COMPLETE_EDGES, 0.5),
            "complete_p90_s": quantile(self.seconds, COMPLETE_EDGES, 0.9),
            "steps": [self.step(step_id).as_dict() for step_id in ordered],
        }


def build_report(
    flow_id: str,
    sums: Iterable[Mapping[str, Any]],
    open_groups: Iterable[OpenGroup],
    orders: Mapping[int, Sequence[str]],
    *,
    since: str | None = None,
    idle_hours: float | None = None,
) -> dict[str, Any]:
    """The stats of one flow: totals and steps over every version, then each version."""
    versions: dict[int, VersionStats] = {}
    for row in sums:
        _add_sums(versions.setdefault(row["flow_version"], VersionStats(row["flow_version"])), row)
    for group in open_groups:
        _add_open(versions.setdefault(group.flow_version, VersionStats(group.flow_version)), group)
    for version in orders:
        versions.setdefault(version, VersionStats(version))
    total = _merged(versions.values())
    newest = sorted(orders, reverse=True)
    order = [step for version in newest for step in orders[version]]
    return {
        "flow": flow_id,
        "since": since,
        "idle_hours": idle_hours,
        **total.as_dict(list(dict.fromkeys(order))),
        "versions": [
            {"version": v, **versions[v].as_dict(orders.get(v, ()))} for v in sorted(versions)
        ],
    }


def _add_sums(stats: VersionStats, row: Mapping[str, Any]) -> None:
    counts = {name: int(value or 0) for name, value in row.items() if name not in _KEYS}
    seconds = [counts.pop(name, 0) for name in SECONDS]
    if row["step_id"] == INTAKE:
        stats.counts.update(counts)
        stats.seconds = [a + b for a, b in zip(stats.seconds, seconds, strict=True)]
        return
    step = stats.step(row["step_id"])
    step.counts.update({name: counts.get(name, 0) for name in STEP_COUNTS})
    step.seconds = [a + b for a, b in zip(step.seconds, seconds, strict=True)]


_KEYS = frozenset({"flow_version", "step_id"})


def _add_open(stats: VersionStats, group: OpenGroup) -> None:
    """Intakes not finished: in progress, or dropped (abandoned, idle too long, withdrawn)."""
    if group.status == "active" and not group.idle:
        stats.counts["in_progress"] += group.count
        return
    stats.counts["withdrawn" if group.status == "withdrawn" else "abandoned"] += group.count
    stats.step(group.step_id).counts["dropped"] += group.count


def _merged(versions: Iterable[VersionStats]) -> VersionStats:
    total = VersionStats(None)
    for stats in versions:
        total.counts.update(stats.counts)
        total.seconds = [a + b for a, b in zip(total.seconds, stats.seconds, strict=True)]
        for step_id, step in stats.steps.items():
            merged = total.step(step_id)
            merged.counts.update(step.counts)
            merged.seconds = [a + b for a, b in zip(merged.seconds, step.seconds, strict=True)]
    return total


def quantile(buckets: Sequence[int], edges: Sequence[int], q: float) -> float | None:
    """The `q` quantile of a histogram, interpolated within its bucket (None when empty).

    In the last, open-ended bucket the answer is its lower edge (at least that long).
    """
    total = sum(buckets)
    if total == 0:
        return None
    target, seen = q * total, 0
    for index, count in enumerate(buckets):
        if count and seen + count >= target:
            lower = edges[index - 1] if index else 0
            if index >= len(edges):
                return float(lower)
            share = (target - seen) / count
            return round(lower + (edges[index] - lower) * share, 1)
        seen += count
    return float(edges[-1])
