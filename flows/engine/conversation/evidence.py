"""The evidence behind a raised flag, for the clinician: the patient's words, answers, why.

Each raised flag keeps, inside the session state (sealed at rest with it), its label and level,
the reasons that made it hold in words (answers, facts, modifiers), the evidence entries (the
patient's words with the step, the time and the source: a free-text message, a confirmed
"Just to check" question, or a checklist answer) and the message the patient was shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flows.engine.conversation.parsing import describe
from flows.engine.conversation.state import IntakeState
from flows.engine.format.conditions import Compare
from flows.engine.format.model import Flow
from flows.engine.safety.flags import Reason, RuleBook

FREE_TEXT, CONFIRMED, CHECKLIST = "free_text", "confirm", "checklist"


def now_iso() -> str:
    """The current time, ISO 8601 UTC (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_evidence(source: str, step: str, words: str) -> dict[str, Any]:
    """An evidence entry for something the patient typed."""
    return {"source": source, "step": step, "at": now_iso(), "words": words}


def flag_record(
    rules: RuleBook, state: IntakeState, flag_id: str, level: str, shown: str
) -> dict[str, Any]:
    """The clinician's record of a flag raised now: label, level, why, evidence, message shown."""
    flow = rules.flow
    reasons = rules.reasons(flag_id, state.answers, state.facts)
    evidence: list[dict[str, Any]] = []
    why: list[str] = []
    for reason in reasons:
        why.append(_why(flow, reason, state))
        if reason.kind == "fact":
            evidence += state.facts.get(reason.ref, [])
        if reason.kind != "modifier":
            evidence += [_answer_evidence(flow, c, state) for c in reason.via]
    return {
        "id": flag_id,
        "level": level,
        "label": flow.text(flow.flag(flag_id).label),
        "why": why,
        "evidence": _unique(evidence),
        "shown": shown,
        "step": state.step,
        "at": now_iso(),
    }


def _why(flow: Flow, reason: Reason, state: IntakeState) -> str:
    answers = "; ".join(_answer_words(flow, c, state) for c in reason.via)
    if reason.kind == "answer":
        return answers
    if reason.kind == "modifier":
        modifier = next(m for m in flow.modifiers if m.id == reason.ref)
        levels = "level" if modifier.raise_by == 1 else "levels"
        return f"raised {modifier.raise_by} {levels} by {modifier.id} ({answers})"
    label = flow.text(flow.fact(reason.ref).label) if reason.ref in _fact_ids(flow) else reason.ref
    said = [e["words"] for e in state.facts.get(reason.ref, [])]
    sources = [f'said: "{w}"' for w in said] + ([answers] if answers else [])
    return f"{label} ({'; '.join(sources)})" if sources else label


def _answer_words(flow: Flow, compare: Compare, state: IntakeState) -> str:
    step = flow.steps.get(compare.answer)
    value = state.answers.get(compare.answer)
    if step is None:
        return f"{compare.answer}: {value}"
    label = flow.text(step.label or step.prompt)
    return f"{label}: {describe(step, value, flow)}"


def _answer_evidence(flow: Flow, compare: Compare, state: IntakeState) -> dict[str, Any]:
    return {
        "source": CHECKLIST,
        "step": compare.answer,
        "words": _answer_words(flow, compare, state),
    }


def _fact_ids(flow: Flow) -> set[str]:
    return {fact.id for fact in flow.facts}


def _unique(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for entry in entries:
        key = (entry.get("source"), entry.get("step"), entry.get("words"))
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept
