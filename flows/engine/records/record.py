"""The facts of one queued intake that the clinician side renders: ids, priority, flags, people.

A `ReviewRecord` is a plain value built by the review service from the database; the summary,
the exports and the FHIR mapping read it and never touch storage. Answers travel beside it as
a dict step id -> value. `answer_text` turns one stored value into words for a clinician.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a record is read without the flow model (`review list` never loads one)
    from flows.engine.format.model import Flow
    from flows.engine.format.steps import Step

PRIORITY_WORDS = {
    "emergency": "EMERGENCY",
    "same_day": "SAME DAY",
    "soon": "SEE A DOCTOR SOON",
    "routine": "ROUTINE",
}


@dataclass(frozen=True, slots=True)
class RaisedFlag:
    """A red flag raised during an intake: its level, and for the clinician what made it hold.

    `why` lists the answers, facts and modifiers that matched; `evidence` the patient's words
    and answers behind them (each with its source, step and time); `shown` the message the
    patient was shown. Items queued before evidence was kept have only id and level.
    """

    id: str
    level: str
    label: str = ""
    why: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()
    shown: str = ""
    step: str = ""
    at: str = ""

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> RaisedFlag:
        """A flag from its stored form on a review item."""
        return cls(
            id=str(data["id"]),
            level=str(data["level"]),
            label=str(data.get("label") or ""),
            why=tuple(str(w) for w in data.get("why", [])),
            evidence=tuple(dict(e) for e in data.get("evidence", [])),
            shown=str(data.get("shown") or ""),
            step=str(data.get("step") or ""),
            at=str(data.get("at") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        """The flag as JSON-ready data (exports)."""
        return {
            "id": self.id,
            "level": self.level,
            "label": self.label,
            "why": list(self.why),
            "evidence": [dict(e) for e in self.evidence],
            "shown": self.shown,
            "step": self.step,
            "at": self.at,
        }

    def words(self) -> list[str]:
        """The patient's own words behind the flag (free text and confirmed questions)."""
        return [str(e["words"]) for e in self.evidence if e.get("source") != "checklist"]


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One review item with its intake and patient, as the clinician side sees them."""

    item_id: int
    intake_id: int
    priority: str
    status: str
    red_flags: tuple[RaisedFlag, ...]
    flow_id: str
    flow_version: int
    intake_status: str
    queued_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    telegram_user_id: int | None = None
    display_name: str | None = None
    username: str | None = None
    claimed_by: str | None = None  # the actor id of who claimed it
    claimed_name: str | None = None  # their name, as shown to colleagues
    claimed_at: datetime | None = None
    reviewed_at: datetime | None = None
    note: str | None = None
    callback_phone: str | None = None  # shared by the patient for a call-back (urgent levels)

    @property
    def claimer(self) -> str | None:
        """Who claimed the item, as colleagues read it."""
        return self.claimed_name or self.claimed_by


def priority_words(priority: str) -> str:
    """The priority as the first line of a summary says it."""
    return PRIORITY_WORDS.get(priority, priority.upper())


def step_label(flow: Flow, step_id: str) -> str:
    """A question's short label, or the start of its prompt when it has none."""
    step = flow.steps.get(step_id)
    if step is None:
        return step_id
    if step.label is not None:
        return flow.text(step.label)
    prompt = flow.text(step.prompt).strip().splitlines()[0] if flow.text(step.prompt) else step_id
    return prompt if len(prompt) <= 80 else prompt[:77] + "..."


def flag_label(flow: Flow, flag_id: str) -> str:
    """A red flag's clinician-facing name (its id when the flow no longer has it)."""
    try:
        return flow.text(flow.flag(flag_id).label)
    except KeyError:
        return flag_id


def timestamp(value: datetime | None) -> str:
    """A UTC timestamp as a clinician reads it."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def answer_text(flow: Flow, step_id: str, value: Any) -> str:
    """One stored answer in words: option labels, units, durations, yes or no."""
    from flows.engine.format.steps import ChoiceAnswer, MultiAnswer, NumberAnswer

    step = flow.steps.get(step_id)
    if step is None:
        return _plain(value)
    spec = step.answer
    if isinstance(spec, ChoiceAnswer):
        return _option_label(flow, step, str(value))
    if isinstance(spec, MultiAnswer):
        values = value if isinstance(value, list) else [value]
        return ", ".join(_option_label(flow, step, str(v)) for v in values) or "none"
    if spec.kind == "yes_no":
        return {"yes": "yes", "no": "no", True: "yes", False: "no"}.get(value, _plain(value))
    if spec.kind == "scale":
        return f"{value}/10"
    if isinstance(spec, NumberAnswer) and spec.unit is not None:
        return f"{value} {flow.text(spec.unit)}"
    if spec.kind == "duration" and isinstance(value, int):
        return duration_words(value)
    if spec.kind == "duration" and isinstance(value, dict):
        days = int(value.get("days", 0))
        return f'{duration_words(days)} (patient wrote: "{value.get("said", "")}")'

    return _plain(value)


def duration_words(days: int) -> str:
    """A number of days in words: '3 weeks', '2 months', '45 days (about 6 weeks)'."""
    for size, unit in ((365, "year"), (30, "month"), (7, "week")):
        if days >= size and days % size == 0:
            return _count(days // size, unit)
    if days >= 60:
        return f"{_count(days, 'day')} (about {_count(round(days / 30), 'month')})"
    if days >= 14:
        return f"{_count(days, 'day')} (about {_count(round(days / 7), 'week')})"
    return _count(days, "day")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _option_label(flow: Flow, step: Step, value: str) -> str:
    options = getattr(step.answer, "options", [])
    for option in options:
        if option.value == value:
            return flow.text(option.label)
    return value


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
