"""The clinician summary of one intake, rendered from the flow definition (pure).

First line: the priority in words. Then the red flags raised with their levels, the answers
grouped by the flow's `sections` (question labels and option labels, never step ids or
values), the flow's workup hints whose conditions hold (marked as for the clinician), the flow
id and version, timestamps and the patient's Telegram identity. Telegram caps a message at
4096 UTF-16 units: `split_text` cuts a long text at line breaks and `card_text` shortens a
summary to one message that points at the Full answers button.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flows.engine.format.conditions import Compare, explain, holds
from flows.engine.format.model import Flow, WorkupHint
from flows.engine.format.safety_rules import Level
from flows.engine.records.record import (
    RaisedFlag,
    ReviewRecord,
    answer_text,
    flag_label,
    priority_words,
    step_label,
    timestamp,
)

TELEGRAM_LIMIT = 4096
MORE_NOTE = "… (shortened: press Full answers for everything)"
OTHER_SECTION = "Other answers"
LEVEL_ORDER = {level.value: level.rank for level in Level}
SOURCE_WORDS = {"free_text": "typed", "confirm": "typed, then confirmed"}


def render_summary(flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]) -> str:
    """The whole clinician summary as plain text."""
    parts = [
        _headline(record),
        _flags(flow, record),
        *_sections(flow, answers),
        _workup(flow, answers),
        _provenance(record),
        _status(record),
    ]
    return "\n\n".join(p for p in parts if p)


def render_full_answers(flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]) -> str:
    """Every stored answer of the intake in flow order, labelled, for the Full answers button."""
    lines = [f"Full answers · review #{record.item_id} · intake #{record.intake_id}"]
    for step_id in _answered_in_order(flow, answers):
        lines.append(f"{step_label(flow, step_id)}: {answer_text(flow, step_id, answers[step_id])}")
    if len(lines) == 1:
        lines.append("(no answers stored)")
    return "\n".join(lines)


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut a text into pieces of at most `limit` UTF-16 units, at line breaks where possible."""
    pieces: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while utf16_units(line) > limit:
            if current is not None:
                pieces.append(current)
                current = None
            cut = _fit(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = line if current is None else f"{current}\n{line}"
        if current is not None and utf16_units(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current is not None:
        pieces.append(current)
    return pieces or [""]


def card_text(summary: str, limit: int = TELEGRAM_LIMIT) -> str:
    """The summary as one message: whole when it fits, else its start and a pointer."""
    if utf16_units(summary) <= limit:
        return summary
    head = split_text(summary, limit - len(MORE_NOTE) - 2)[0]
    return f"{head}\n\n{MORE_NOTE}"


def utf16_units(text: str) -> int:
    """The length of a text as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units (at least one)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return max(1, index)
    return len(text)


def _headline(record: ReviewRecord) -> str:
    return (
        f"{priority_words(record.priority)} · review #{record.item_id} · intake #{record.intake_id}"
    )


def _flags(flow: Flow, record: ReviewRecord) -> str:
    if not record.red_flags:
        return "Red flags: none raised"
    lines = ["Red flags raised:"]
    ordered = sorted(record.red_flags, key=lambda f: LEVEL_ORDER.get(f.level, len(LEVEL_ORDER)))
    for flag in ordered:
        lines.append(f"• {priority_words(flag.level)}: {flag.label or flag_label(flow, flag.id)}")
        lines += [f"  {line}" for line in flag_lines(flow, flag)]
    return "\n".join(lines)


def flag_lines(flow: Flow, flag: RaisedFlag) -> list[str]:
    """Why a flag was raised, the patient's words behind it, and what they were shown."""
    lines = [f"why: {'; '.join(flag.why)}"] if flag.why else []
    for entry in flag.evidence:
        if entry.get("source") == "checklist":
            continue
        source = SOURCE_WORDS.get(str(entry.get("source")), str(entry.get("source")))
        where = step_label(flow, str(entry.get("step"))) if entry.get("step") else "-"
        lines.append(
            f'patient\'s words: "{entry.get("words")}" ({source} at {where}, '
            f"{_when(entry.get('at'))})"
        )
    if flag.shown:
        lines.append(f'shown to the patient: "{flag.shown}"')
    return lines


def _when(value: object) -> str:
    try:
        return timestamp(datetime.fromisoformat(str(value)))
    except ValueError:
        return "-"


def _sections(flow: Flow, answers: Mapping[str, Any]) -> list[str]:
    known = {section.id for section in flow.sections}
    grouped: dict[str, list[str]] = {}
    for step_id in _answered_in_order(flow, answers):
        step = flow.steps.get(step_id)
        section = step.section if step is not None else None
        key = section if section in known and section is not None else ""
        line = f"{step_label(flow, step_id)}: {answer_text(flow, step_id, answers[step_id])}"
        grouped.setdefault(key, []).append(line)
    blocks = []
    for heading in flow.sections:
        if heading.id in grouped:
            title = flow.text(heading.title).upper()
            blocks.append("\n".join([title, *grouped[heading.id]]))
    if "" in grouped:
        blocks.append("\n".join([OTHER_SECTION.upper(), *grouped[""]]))
    return blocks


def _workup(flow: Flow, answers: Mapping[str, Any]) -> str:
    hints = [h for h in flow.workup if holds(h.when, answers)]
    if not hints:
        return ""
    lines = ["Workup hints (for the clinician; the patient is not shown these):"]
    for hint in hints:
        lines.append(f"• {flow.text(hint.label)}: matched {workup_matches(flow, hint, answers)}")
        lines.append(f"  ({flow.text(hint.reason)})")
    return "\n".join(lines)


def workup_matches(flow: Flow, hint: WorkupHint, answers: Mapping[str, Any]) -> str:
    """What actually matched a workup hint: each answer that made its condition hold."""
    parts = [
        f"{step_label(flow, leaf.answer)}: {answer_text(flow, leaf.answer, answers[leaf.answer])}"
        for leaf in explain(hint.when, answers)
        if isinstance(leaf, Compare) and leaf.answer in answers
    ]
    return "; ".join(dict.fromkeys(parts)) or "-"


def _provenance(record: ReviewRecord) -> str:
    who = record.display_name or "(no name)"
    if record.username:
        who += f" (@{record.username})"
    telegram_id = record.telegram_user_id if record.telegram_user_id is not None else "-"
    phone = [f"Call-back number (shared by the patient): {record.callback_phone}"]
    return "\n".join(
        [
            *(phone if record.callback_phone else []),
            f"Flow {record.flow_id} v{record.flow_version} · intake "
            f"{record.intake_status.replace('_', ' ')}",
            f"Started {timestamp(record.started_at)} · ended {timestamp(record.ended_at)}"
            f" · queued {timestamp(record.queued_at)}",
            f"Patient: {who} · Telegram id {telegram_id}",
        ]
    )


def _status(record: ReviewRecord) -> str:
    if record.status == "claimed":
        return f"Claimed by {record.claimer} at {timestamp(record.claimed_at)}"
    if record.status == "reviewed":
        return f"Reviewed by {record.claimer} at {timestamp(record.reviewed_at)}" + (
            f"\nNote: {record.note}" if record.note else ""
        )
    if record.status == "withdrawn":
        return "Withdrawn: the patient deleted their data"
    return "Status: pending"


def _answered_in_order(flow: Flow, answers: Mapping[str, Any]) -> list[str]:
    in_flow = [s for s, step in flow.steps.items() if step.is_question and s in answers]
    return in_flow + [s for s in answers if s not in flow.steps]
