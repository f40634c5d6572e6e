"""The figures of a chaos run, read from the database and from what the patients saw.

- answers lost: updates Telegram was told were received (a 200) that were never applied
  (missing from the inbox, still pending, or given up as failed), plus patients who never got
  to the end;
- failed turns: updates answered with the fallback (counted among the lost above);
- duplicate rows: patients with more than one intake or more than one review item;
- duplicate replies: a bot message sent twice in a row to one patient (same text, same
  buttons), which only applying one update twice would do;
- two active intakes: patients with more than one active intake;
- out-of-order turns: within one patient, an update applied after a later one (by the time
  each was applied).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import select

from storage.database import Database
from storage.tables import InboxUpdate, IntakeSession, Patient, ReviewItem
from tests.bot.fake_bot_api import FakeBotApi
from tests.chaos.crowd import Crowd, Telegram


@dataclass
class Figures:
    """One run's outcome."""

    patients: int
    completed: int
    updates: int
    posts: int
    repeats: int
    kills: int
    seconds: float
    answers_lost: int
    failed_turns: int
    answers_differing: int
    duplicate_rows: int
    duplicate_replies: int
    two_active: int
    out_of_order: int
    nudges: int
    bursts: int
    notes: list[str] = field(default_factory=list)  # what a non-zero figure was made of

    @property
    def clean(self) -> bool:
        """Whether every must-be-zero figure is zero and every patient completed."""
        return self.completed == self.patients and not (
            self.answers_lost
            or self.answers_differing
            or self.duplicate_rows
            or self.duplicate_replies
            or self.two_active
            or self.out_of_order
        )

    def line(self) -> str:
        """The figures as one JSON line."""
        return json.dumps(asdict(self))


def figures(
    database: Database,
    fake: FakeBotApi,
    crowd: Crowd,
    telegram: Telegram,
    *,
    kills: int,
    seconds: float,
) -> Figures:
    """Count everything the run must show."""
    with database.reading() as tx:
        rows = {r.update_id: r for r in tx.exec(select(InboxUpdate))}
        stored = tx.exec(select(Patient.telegram_id, IntakeSession)
                         .where(IntakeSession.patient_id == Patient.id)).all()  # fmt: skip
        items = tx.exec(select(ReviewItem.session_id)).all()
    sealer = database.sealer
    blobs = {session.id: sealer.unseal_json(session.state) for _, session in stored}
    sessions = [(int(sealer.unseal(sealed_id)), session) for sealed_id, session in stored]
    answers = [(i, blob["answers"]) for i, blob in blobs.items()]
    lost = [u for u in telegram.acked if u not in rows or rows[u].status in ("pending", "failed")]
    failed = sum(1 for r in rows.values() if r.status == "failed")
    by_patient: dict[int, list[IntakeSession]] = defaultdict(list)
    for user, session in sessions:
        by_patient[user].append(session)
    items_per = Counter(items)
    notes = [
        f"patient {user}: intakes {[(x.id, x.status, blobs[x.id]['step']) for x in s]}"
        for user, s in by_patient.items()
        if len(s) > 1
    ]
    notes += [f"update {u}: {rows[u].status if u in rows else 'never stored'}" for u in lost]
    duplicate_rows = sum(len(s) - 1 for s in by_patient.values() if len(s) > 1)
    duplicate_rows += sum(n - 1 for n in items_per.values() if n > 1)
    repeated = [
        line
        for user, p in crowd.patients.items()
        for line in _repeats(fake, user, p.nudged_at, p.sent)
    ]
    two_active = sum(1 for s in by_patient.values() if sum(x.status == "active" for x in s) > 1)
    return Figures(
        patients=crowd.size,
        completed=crowd.finished,
        updates=len(telegram.sent_at),
        posts=telegram.posts,
        repeats=telegram.repeats,
        kills=kills,
        seconds=round(seconds, 1),
        answers_lost=len(lost) + crowd.size - crowd.finished,
        failed_turns=failed,
        answers_differing=_differing(answers),
        duplicate_rows=duplicate_rows,
        duplicate_replies=len(repeated),
        two_active=two_active,
        out_of_order=sum(_inversions(rows, p.updates) for p in crowd.patients.values()),
        nudges=sum(p.nudges for p in crowd.patients.values()),
        bursts=crowd.bursts,
        notes=(notes + repeated)[:20],
    )


def _differing(answers: Sequence[Any]) -> int:
    """Intakes whose answers differ from what most intakes hold (all patients answer alike)."""
    shapes = Counter(json.dumps(a, sort_keys=True) for _, a in answers)
    if not shapes:
        return 0
    usual, _ = shapes.most_common(1)[0]
    return sum(n for shape, n in shapes.items() if shape != usual)


def _repeats(
    fake: FakeBotApi, user: int, nudged_at: list[float], patient_sent: list[tuple[float, str]]
) -> list[str]:
    """sendMessage calls to `user` identical to the one just before, with no /start of the
    patient's own in between (a resumed intake asks its question again, rightly): one line
    each, saying when and what (for the run's log)."""
    calls = fake.calls_of("sendMessage", user)
    sent = [
        (c.at, c.params.get("text"), json.dumps(c.params.get("reply_markup"), sort_keys=True))
        for c in calls
    ]
    return [
        f"patient {user}: sent twice, {now[0] - before[0]:.2f} s apart: {str(now[1])[:60]!r}; "
        f"the patient sent meanwhile: {[w for t, w in patient_sent if before[0] - 3 < t < now[0]]}"
        for before, now in itertools.pairwise(sent)
        if before[1:] == now[1:] and not any(before[0] < t < now[0] for t in nudged_at)
    ]


def _inversions(rows: dict[int, InboxUpdate], updates: list[int]) -> int:
    """Updates of one patient applied after a later update of theirs."""
    applied = sorted(
        (rows[u].processed_at, u)
        for u in dict.fromkeys(updates)
        if u in rows and rows[u].processed_at is not None
    )
    order = [u for _, u in applied]
    return sum(1 for before, after in itertools.pairwise(order) if after < before)
