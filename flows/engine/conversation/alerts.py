"""Red flags during a turn: facts said in free text, newly raised flags, "Just to check" questions.

Facts found in free text are kept with the patient's words; the flow's rules then decide which
flags hold. Newly raised flags are announced in the words of the level they reached (after
modifiers), each distinct message once; an emergency puts its message first and ends the
intake. Every raised flag keeps its evidence (see `evidence`). Vague free text queues
confirming questions, asked one at a time before the intake goes on; a confirmed fact counts
like a ticked box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.engine.conversation.evidence import CONFIRMED, FREE_TEXT, flag_record, text_evidence
from flows.engine.conversation.prompts import PromptBuilder
from flows.engine.conversation.state import ESCALATED, IntakeState
from flows.engine.conversation.values import Prompt
from flows.engine.format.safety_rules import Level
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import ScreenResult

URGENT = frozenset({Level.EMERGENCY.value, Level.SAME_DAY.value})


@dataclass
class Outcome:
    """What a turn produced."""

    prompts: list[Prompt] = field(default_factory=list)
    stale: bool = False
    escalation: str | None = None  # the most urgent level newly raised
    answered_step: str | None = None
    answer_text: str | None = None
    refresh: bool = False
    moves: list[tuple[str, str]] = field(default_factory=list)  # `next` followed: (from, to)
    passed_over: list[str] = field(default_factory=list)  # steps whose `ask_when` was false
    minor: bool = False  # under the minimum age: nothing of the intake may be kept
    flagged: dict[str, str] = field(default_factory=dict)  # after the end: flags raised/repeated


def note_facts(state: IntakeState, found: ScreenResult) -> None:
    """Keep the facts a text asserts (with the patient's words) and the words of vague ones."""
    for fact in found.facts:
        finding = found.evidence(fact)
        words = finding.words if finding is not None else ""
        entries = state.facts.setdefault(fact, [])
        if all(e.get("words") != words for e in entries):
            entries.append(text_evidence(FREE_TEXT, state.step, words))
    for fact in found.unsure:
        finding = found.evidence(fact)
        if fact not in state.unsure and finding is not None:
            state.unsure[fact] = text_evidence(FREE_TEXT, state.step, finding.words)


def raise_flags(
    rules: RuleBook,
    state: IntakeState,
    ui: PromptBuilder,
    out: Outcome,
    answered: str | None = None,
) -> bool:
    """Announce newly raised flags; True when an emergency ended the intake. `answered`, the
    step just answered, limits the check to the flags that answer can raise (`held_after`)."""
    if answered is None:
        held = rules.held(state.answers, state.facts)
    else:
        held = rules.held_after(answered, state.answers, state.facts)
    new = {f: lvl for f, lvl in held.items() if _more_urgent(lvl, state.raised.get(f))}
    if not new:
        return False
    said = {ui.escalation(f, lvl).text for f, lvl in state.raised.items()}
    state.raised.update(new)
    for flag, level in new.items():
        shown = ui.escalation(flag, level).text
        state.flags[flag] = flag_record(rules, state, flag, level, shown)
    top = min((Level(lvl) for lvl in new.values()), key=lambda lvl: lvl.rank)
    out.escalation = top.value
    if top == Level.EMERGENCY:
        first = next(f for f, lvl in new.items() if lvl == Level.EMERGENCY.value)
        out.prompts.insert(0, ui.escalation(first, top.value))
        state.status, state.pending_confirm, state.confirm_queue = ESCALATED, None, []
        return True
    for flag, level in new.items():
        prompt = ui.escalation(flag, level)
        if prompt.text not in said:  # flags of one level often share their message
            said.add(prompt.text)
            out.prompts.append(prompt)
    return False


def queue_confirms(state: IntakeState, unsure: tuple[str, ...]) -> bool:
    """Queue confirming questions for vague facts; True when one is newly asked now."""
    known = {*state.facts, *state.confirm_queue, state.pending_confirm}
    state.confirm_queue += [fact for fact in unsure if fact not in known]
    if state.pending_confirm is None and state.confirm_queue:
        state.pending_confirm = state.confirm_queue.pop(0)
        return True
    return False


def confirmed(
    rules: RuleBook, state: IntakeState, fact: str, yes: bool, ui: PromptBuilder, out: Outcome
) -> None:
    """Apply the answer to a confirming question, then ask the next one or the question."""
    state.pending_confirm = None
    words = state.unsure.pop(fact, None)
    if yes:
        entry = dict(words or text_evidence(CONFIRMED, state.step, ""))
        entry["source"] = CONFIRMED
        state.facts.setdefault(fact, []).append(entry)
        if raise_flags(rules, state, ui, out):
            return
    if state.confirm_queue:
        state.pending_confirm = state.confirm_queue.pop(0)
        out.prompts.append(ui.confirm(state, state.pending_confirm))
        return
    out.prompts.append(ui.question(state))


def _more_urgent(level: str, before: str | None) -> bool:
    return before is None or Level(level).rank < Level(before).rank
