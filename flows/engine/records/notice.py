"""The review chat's content-free notice of a queued intake (pure).

A Telegram group is read by every member and stored by Telegram, so by default it learns only
that an intake is waiting: its level, its item number, how long it has waited, who took it, and
whether the intake is still going on or was left unfinished (a process status, not an answer).
Nothing the patient said, no name, no Telegram id. The clinician opens the intake in their
private chat with the bot (the Open button, or /show N there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.engine.records.record import priority_words, timestamp

WITHDRAWN_TEXT = "Review #{id}: withdrawn. The intake's data has been deleted."
RETRACTED_TEXT = "Withdrawn: the intake's data has been deleted."
INTAKE_WORDS = {"incomplete": "intake incomplete", "in_progress": "intake in progress"}


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What a notice may say about an item: nothing about the patient."""

    item_id: int
    priority: str
    status: str
    queued_at: datetime
    intake: str | None = None  # the intake's status as clinicians read it (incomplete, ...)
    claimer: str | None = None
    claimed_at: datetime | None = None
    reviewed_at: datetime | None = None


def notice_text(facts: NoticeFacts, now: datetime) -> str:
    """The notice: level, number, age, where to read it, and its status."""
    unfinished = INTAKE_WORDS.get(facts.intake or "")
    lines = [
        f"{priority_words(facts.priority)} · review #{facts.item_id}"
        + (f" · {unfinished}" if unfinished else ""),
        f"Queued {timestamp(facts.queued_at)} ({age_words(now - facts.queued_at)} ago)",
        f"Open it in your private chat with me: the Open button, or /show {facts.item_id} there.",
    ]
    if facts.status == "claimed":
        lines.append(f"Claimed by {facts.claimer} at {timestamp(facts.claimed_at)}")
    elif facts.status == "reviewed":
        lines.append(f"Reviewed by {facts.claimer} at {timestamp(facts.reviewed_at)}")
    return "\n".join(lines)


def age_words(age: timedelta) -> str:
    """A waiting time in words: 'under a minute', '12 min', '3 h 5 min', '2 days'."""
    seconds = int(age.total_seconds())
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
