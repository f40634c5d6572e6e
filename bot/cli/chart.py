"""The funnel chart of `intake-bot stats --chart`: one bar per stage, drawn with matplotlib.

From the top: the consent question (opened, answered), consents given, then each question of
the flow in order (how many intakes reached it, how many answered or skipped it, how many
stopped there and how many an emergency ended there), then completed intakes. Steps asked only
on some answers are shorter by design, not by drop-off; the chart says so. The file type
follows the name (`.png` or `.svg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # after choosing the backend

BAR_HEIGHT = 0.36  # inches per bar
REACHED, ANSWERED, DROPPED, ENDED = "#9ecae1", "#3182bd", "#de2d26", "#e6550d"


def draw_funnel(report: dict[str, Any], path: Path) -> None:
    """Write the funnel of a stats report to `path` (.png or .svg)."""
    stages = _stages(report)
    figure, axes = plt.subplots(figsize=(10, 1.6 + BAR_HEIGHT * len(stages)))
    positions = list(range(len(stages)))
    axes.barh(positions, [s.reached for s in stages], color=REACHED, label="reached")
    answered = [s.answered for s in stages]
    axes.barh(positions, answered, height=0.5, color=ANSWERED, label="answered or skipped")
    top = max([s.reached for s in stages] + [1])
    for position, stage in enumerate(stages):
        axes.text(stage.reached + top * 0.01, position, stage.note(), va="center", fontsize=8,
                  color=stage.colour())  # fmt: skip
    axes.set_yticks(positions, [s.label for s in stages], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, top * 1.6)  # room for the words beside the longest bar
    axes.set_xlabel("intakes")
    axes.set_title(_title(report), fontsize=11)
    axes.legend(loc="lower right", fontsize=8)
    figure.text(0.01, 0.005, NOTE, fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    figure.savefig(path)
    plt.close(figure)


NOTE = "Steps asked only after some answers are reached by fewer intakes by design."
ENDS = ("submitted", "declined")  # the ends of the bundled flow repeat "completed", "declined"


@dataclass(frozen=True, slots=True)
class Stage:
    """One bar: its label and numbers."""

    label: str
    reached: int
    answered: int
    dropped: int = 0
    escalated: int = 0
    extra: str = ""

    def note(self) -> str:
        """The words beside the bar."""
        parts = [f"{self.reached}{self.extra}"]
        if self.dropped:
            parts.append(f"−{self.dropped} stopped here")
        if self.escalated:
            parts.append(f"−{self.escalated} ended by an emergency")
        return "  ".join(parts)

    def colour(self) -> str:
        """Red when intakes stopped here, orange when an emergency ended them, else grey."""
        return DROPPED if self.dropped else ENDED if self.escalated else "#333333"


def _stages(report: dict[str, Any]) -> list[Stage]:
    """The bars from the top of the funnel to the bottom."""
    steps = report["steps"] or [{"id": "consent", "answered": 0, "dropped": 0}]
    first, rest = steps[0], steps[1:]
    stages = [
        Stage(f"{first['id']} (opened)", report["started"], first["answered"], first["dropped"]),
        Stage("consented", report["consented"], report["consented"],
              extra=f"  ({report['declined']} declined)" if report["declined"] else ""),
    ]  # fmt: skip
    for step in rest:
        if (step["reached"] or step["dropped"]) and step["id"] not in ENDS:
            answered = step["answered"] + step["skipped"]
            stages.append(
                Stage(step["id"], step["reached"], answered, step["dropped"], step["escalated"])
            )
    stages.append(Stage("completed", report["completed"], report["completed"]))
    return stages


def _title(report: dict[str, Any]) -> str:
    since = f" since {report['since']}" if report.get("since") else ""
    versions = ", ".join(f"v{v['version']}" for v in report["versions"]) or "no versions"
    return f"{report['flow']} ({versions}){since}: intake funnel"
