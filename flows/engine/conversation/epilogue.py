"""Input after an intake ended: screened for red flags, never taken as an answer.

A fact said after the end is kept on the ended intake like any other (with the patient's words)
and the flags it raises, or raises again, are reported in `Outcome.flagged`: a patient who
writes again that they are vomiting blood is told again what to do, and the clinicians hear
of it again. Each such flag's record (see `evidence`) is renewed and marked as raised after
the end. The patient is told what to do and that a clinician will be told, never that more
questions follow: an emergency gives its own message first, other levels their `after_end`
text, then the flow's `flag_recorded`. Vague words ask the fact's confirming question; its
Yes/No buttons belong to the ended intake, and typing yes or no answers it too. Text that
raises nothing gets the reminder of how the intake ended (`REMINDERS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.engine.conversation.alerts import Outcome, note_facts, queue_confirms
from flows.engine.conversation.evidence import CONFIRMED, flag_record, text_evidence
from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import IntakeState
from flows.engine.conversation.values import Action, ActionKind
from flows.engine.format.safety_rules import Level

if TYPE_CHECKING:  # the conversation calls this module; it only needs the type here
    from flows.engine.conversation.turns import Conversation

AFTER_END = "after_end"  # `when` of a flag record raised by text sent after the end
REMINDERS = {"abandoned": "intake_closed", "cancelled": "cancelled"}  # else "finished"


def after_end(
    conversation: Conversation, state: IntakeState, action: Action, places: Placeholders
) -> Outcome:
    """Screen one input sent after `state` ended; flags raised or repeated are in `flagged`."""
    out = Outcome()
    ui = PromptBuilder(conversation.fm, places, state.language)
    if action.kind == ActionKind.CONFIRM:
        here = conversation.fm.index.get(state.step)
        pending = state.pending_confirm is not None and action.step_index == here
        if pending and action.option_index in (0, 1):
            _confirmed(conversation, state, action.option_index == 0, ui, out)
        else:
            out.stale = True
        return out
    text = action.text or ""
    if state.pending_confirm is not None:
        reply = conversation.typed.confirm_reply(state, text, ui)
        if reply is not None:
            _confirmed(conversation, state, reply == "yes", ui, out)
            return _reminded(state, ui, out)
    language = state.language or conversation.flow.default_language
    found = conversation.screener.screen(text, language)
    note_facts(state, found)
    if found.facts:
        _flag(conversation, state, set(found.facts), ui, out)
    if queue_confirms(state, found.unsure):
        out.prompts.append(ui.confirm(state, state.pending_confirm or ""))
    return _reminded(state, ui, out)


def _reminded(state: IntakeState, ui: PromptBuilder, out: Outcome) -> Outcome:
    if not out.prompts:
        out.prompts.append(ui.notice(REMINDERS.get(state.status, "finished")))
    return out


def _confirmed(
    conversation: Conversation, state: IntakeState, yes: bool, ui: PromptBuilder, out: Outcome
) -> None:
    fact = state.pending_confirm
    state.pending_confirm = None
    if fact is not None:
        words = state.unsure.pop(fact, None)
        if yes:
            entry = dict(words or text_evidence(CONFIRMED, state.step, ""))
            entry["source"] = CONFIRMED
            state.facts.setdefault(fact, []).append(entry)
            _flag(conversation, state, {fact}, ui, out)
    if state.confirm_queue:
        state.pending_confirm = state.confirm_queue.pop(0)
        out.prompts.append(ui.confirm(state, state.pending_confirm))


def _flag(
    conversation: Conversation,
    state: IntakeState,
    said: set[str],
    ui: PromptBuilder,
    out: Outcome,
) -> None:
    """Record the flags the facts `said` raise or hold again, and tell the patient."""
    rules = conversation.rules
    held = rules.held(state.answers, state.facts)
    flagged = {
        flag: level
        for flag, level in held.items()
        if _more_urgent(level, state.raised.get(flag))
        or any(r.kind == "fact" and r.ref in said for r in rules.reasons(flag, state.answers, said))
    }
    if not flagged:
        return
    ordered = sorted(flagged.items(), key=lambda item: Level(item[1]).rank)
    shown: set[str] = set()
    for flag, level in ordered:
        if _more_urgent(level, state.raised.get(flag)):
            state.raised[flag] = level
        prompt = ui.after_end(flag, level)
        record = flag_record(rules, state, flag, level, prompt.text)
        state.flags[flag] = {**record, "when": AFTER_END}
        if prompt.text not in shown:
            shown.add(prompt.text)
            out.prompts.append(prompt)
    out.flagged.update(flagged)
    out.escalation = ordered[0][1]
    out.prompts.append(ui.notice("flag_recorded"))


def _more_urgent(level: str, before: str | None) -> bool:
    return before is None or Level(level).rank < Level(before).rank
