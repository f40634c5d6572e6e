"""Exports of review items as JSON-ready dicts and CSV rows (pure).

`item_row` is what a queue listing shows of an item (ids, priority, status, flags, times; no
answers). `export_record` adds the answers, each with its step id, label, stored value and
words, and every raised flag with its label, level, why and evidence (the patient's words).
CSV is long: one row per raised flag (`red_flag:<id>`) and per answer, the item's columns
repeated, so intakes of any flow or flow version share one header; an intake without answers
still has one row. Text cells
that a spreadsheet would run as a formula get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.engine.records.record import ReviewRecord, answer_text, step_label

if TYPE_CHECKING:
    from flows.engine.format.model import Flow

CSV_COLUMNS = (
    "item_id",
    "intake_id",
    "priority",
    "status",
    "flow_id",
    "flow_version",
    "intake_status",
    "telegram_user_id",
    "created_at",
    "red_flags",
    "step_id",
    "label",
    "value",
    "text",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def iso(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 UTC."""
    return value.isoformat() if value is not None else None


def item_row(record: ReviewRecord) -> dict[str, Any]:
    """The listing fields of a review item, JSON-ready."""
    return {
        "id": record.item_id,
        "intake_id": record.intake_id,
        "priority": record.priority,
        "status": record.status,
        "telegram_user_id": record.telegram_user_id,
        "created_at": iso(record.queued_at),
        "red_flags": [{"id": f.id, "level": f.level} for f in record.red_flags],
        "flow_id": record.flow_id,
        "flow_version": record.flow_version,
        "intake_status": record.intake_status,
        "claimed_by": record.claimed_by,
        "claimed_name": record.claimed_name,
        "claimed_at": iso(record.claimed_at),
        "reviewed_at": iso(record.reviewed_at),
    }


def answer_rows(flow: Flow, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each answer with its step id, label, stored value and words, in flow order."""
    order = [sid for sid in flow.steps if sid in answers]
    order += [sid for sid in answers if sid not in flow.steps]
    return [
        {
            "step_id": sid,
            "label": step_label(flow, sid),
            "value": answers[sid],
            "text": answer_text(flow, sid, answers[sid]),
        }
        for sid in order
    ]


def export_record(flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A whole review item with its patient and answers, JSON-ready."""
    return {
        **item_row(record),
        "started_at": iso(record.started_at),
        "ended_at": iso(record.ended_at),
        "telegram_name": record.display_name,
        "telegram_username": record.username,
        "note": record.note,
        "callback_phone": record.callback_phone,
        "red_flags": [flag.to_json() for flag in record.red_flags],
        "answers": answer_rows(flow, answers),
    }


def csv_rows(flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]) -> list[dict[str, str]]:
    """One CSV row per answer of an item (one bare row when there are none)."""
    base = item_row(record)
    fixed = {key: _cell(base[key.replace("item_id", "id")]) for key in CSV_COLUMNS[:10]}
    rows = [
        {**fixed, **{k: _cell(v) for k, v in answer.items()}}
        for answer in [*flag_rows(record), *answer_rows(flow, answers)]
    ]
    return rows or [{**fixed, "step_id": "", "label": "", "value": "", "text": ""}]


def flag_rows(record: ReviewRecord) -> list[dict[str, Any]]:
    """One row per raised flag: `red_flag:<id>`, its label, level, and why with the words."""
    rows = []
    for flag in record.red_flags:
        words = "; ".join(f'"{w}"' for w in flag.words())
        text = "; ".join(flag.why) + (f" | patient's words: {words}" if words else "")
        rows.append(
            {
                "step_id": f"red_flag:{flag.id}",
                "label": flag.label,
                "value": flag.level,
                "text": text,
            }
        )
    return rows


def write_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """CSV text with the export header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(f"{v['id']}:{v['level']}" if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # patient text must not run as a spreadsheet formula
    return str(value)
