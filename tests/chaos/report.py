"""The figures of a chaos run, read from the database and from what the patients saw.

- answers lost: updates Telegram was told were received (a 200) that were never applied
  (missing from the inbox, still pending, or given up as failed), plus patients who never got
  to the end;
- failed turns: updates answered with the fallback (counted among the lost above);
- duplicate rows: patients with more than one intake or more than one review item, except
  a new intake the patient opened with a /start applied after the previous one ended (a
  patient whose closing reply died with a killed instance sends /start after the silence, and
  /start after an ended intake rightly starts a new one): counted apart as `restarted_intakes`;
- duplicate replies: a bot message sent to a patient again (same text, same buttons) with no
  update of the patient's own since the first copy, whatever came between (a resend puts
  "welcome back" before the question) and whatever sent the copies (a live turn, a resend
  after a takeover, one crossing the other); each is traced (`trace`). Earlier rounds counted
  only identical messages one right after the other (`consecutive_duplicates`);
- two active intakes: patients with more than one active intake;
- out-of-order turns: within one patient, an update applied after a later one (by the time
  each was applied).
"""

from __future__ import annotations

import bisect
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
from tests.chaos.fleet import Fleet
from tests.chaos.trace import Doubled, Tracer


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
    restarted_intakes: int = 0
    consecutive_duplicates: int = 0  # last round's narrower count of duplicate replies
    silence_p50: float = 0.0  # seconds a patient waited for the bot after a kill (see run)
    silence_p95: float = 0.0
    silence_max: float = 0.0
    doubled_kinds: dict[str, int] = field(default_factory=dict)  # live/resent/... -> count
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
    fleet: Fleet,
    seconds: float,
    origin: float,
) -> tuple[Figures, list[Doubled]]:
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
    restarted = sum(_restarted(s, rows, crowd.patients[u].sent) for u, s in by_patient.items())
    duplicate_rows = sum(len(s) - 1 for s in by_patient.values() if len(s) > 1) - restarted
    duplicate_rows += sum(n - 1 for n in items_per.values() if n > 1)
    what = {int(w.split(" ", 1)[0]): (t, w) for p in crowd.patients.values() for t, w in p.sent}
    tracer = Tracer(fleet.trace, fleet.events, rows, origin, what)
    doubled = [
        tracer.doubled(user, text, first, second, p.updates)
        for user, p in crowd.patients.items()
        for first, second, text in _repeats(fake, user, p.sent)
    ]
    repeated = [d.lines(origin)[0] for d in doubled]
    notes += _differing_notes(blobs)
    inverted = [line for p in crowd.patients.values() for line in _inversions(rows, p.updates)]
    notes += inverted
    two_active = sum(1 for s in by_patient.values() if sum(x.status == "active" for x in s) > 1)
    figures = Figures(
        patients=crowd.size,
        completed=crowd.finished,
        updates=len(telegram.sent_at),
        posts=telegram.posts,
        repeats=telegram.repeats,
        kills=sum(i.kills for i in fleet.instances),
        seconds=round(seconds, 1),
        answers_lost=len(lost) + crowd.size - crowd.finished,
        failed_turns=failed,
        answers_differing=_differing(answers),
        duplicate_rows=duplicate_rows,
        duplicate_replies=len(repeated),
        consecutive_duplicates=sum(
            _consecutive(fake, u, p.nudged_at) for u, p in crowd.patients.items()
        ),
        two_active=two_active,
        out_of_order=len(inverted),
        nudges=sum(p.nudges for p in crowd.patients.values()),
        bursts=crowd.bursts,
        restarted_intakes=restarted,
        doubled_kinds=dict(Counter(d.kind for d in doubled) + Counter(d.senders for d in doubled)),
        notes=(notes + repeated)[:20],
    )
    return figures, doubled


def _starts(patient_sent: list[tuple[float, str]]) -> list[int]:
    """The update ids of the /start messages a patient sent."""
    starts = []
    for _, what in patient_sent:
        update_id, kind, text = what.split(" ", 2)
        if kind == "message" and text == repr("/start"):
            starts.append(int(update_id))
    return starts


def _restarted(
    intakes: list[IntakeSession], rows: dict[int, InboxUpdate], sent: list[tuple[float, str]]
) -> int:
    """Intakes after a patient's first that a /start of theirs, applied after the previous
    intake ended, opened (not duplicates: what /start after the end does)."""
    applied = [rows[u].processed_at for u in _starts(sent) if u in rows]
    ordered = sorted(intakes, key=lambda x: x.started_at)
    return sum(
        1
        for before, after in itertools.pairwise(ordered)
        if before.ended_at is not None
        and any(t is not None and before.ended_at <= t <= after.started_at for t in applied)
    )


def _differing_notes(blobs: dict[int | None, Any]) -> list[str]:
    """For each intake whose answers differ from the usual ones: its status, step and the
    steps whose answers differ (step ids only: no answers)."""
    shapes = Counter(json.dumps(b["answers"], sort_keys=True) for b in blobs.values())
    if not shapes:
        return []
    usual = json.loads(shapes.most_common(1)[0][0])
    notes = []
    for session, blob in blobs.items():
        answers = blob["answers"]
        steps = sorted(k for k in usual.keys() | answers.keys() if usual.get(k) != answers.get(k))
        if steps:
            notes.append(f"intake {session} differs at {steps} (step {blob['step']})")
    return notes


def _differing(answers: Sequence[Any]) -> int:
    """Intakes whose answers differ from what most intakes hold (all patients answer alike)."""
    shapes = Counter(json.dumps(a, sort_keys=True) for _, a in answers)
    if not shapes:
        return 0
    usual, _ = shapes.most_common(1)[0]
    return sum(n for shape, n in shapes.items() if shape != usual)


def _repeats(
    fake: FakeBotApi, user: int, patient_sent: list[tuple[float, str]]
) -> list[tuple[float, float, str]]:
    """sendMessage calls to `user` identical (text and buttons) to one sent earlier with no
    update of the patient's own in between, whatever came between them (a resend of "welcome
    back" and the question the patient already has is one): (when the first copy went out,
    when the second did, the text). A /start, or any other update, starts afresh: what answers
    it may rightly ask the question again."""
    updates = sorted(t for t, _ in patient_sent)
    repeats: list[tuple[float, float, str]] = []
    since: dict[tuple[str, str], float] = {}
    window = -1
    for call in fake.calls_of("sendMessage", user):
        index = bisect.bisect_right(updates, call.at)
        if index != window:
            since, window = {}, index
        key = (str(call.params.get("text")), json.dumps(call.params.get("reply_markup")))
        if key in since:
            repeats.append((since[key], call.at, key[0]))
        since[key] = call.at
    return repeats


def _consecutive(fake: FakeBotApi, user: int, nudged_at: list[float]) -> int:
    """The figure of earlier rounds: identical sendMessage calls one right after the other
    with no /start between (misses a resend with "welcome back" in front of the question)."""
    calls = fake.calls_of("sendMessage", user)
    sent = [(c.at, c.params.get("text"), json.dumps(c.params.get("reply_markup"))) for c in calls]
    return sum(
        1
        for before, now in itertools.pairwise(sent)
        if before[1:] == now[1:] and not any(before[0] < t < now[0] for t in nudged_at)
    )


def _inversions(rows: dict[int, InboxUpdate], updates: list[int]) -> list[str]:
    """Updates of one patient applied after a later update of theirs: a line each."""
    applied = sorted(
        (rows[u].processed_at, u)
        for u in dict.fromkeys(updates)
        if u in rows and rows[u].processed_at is not None
    )
    return [
        f"update {after} ({rows[after].status}) applied at {at} after {before}"
        for (_, before), (at, after) in itertools.pairwise(applied)
        if after < before
    ]
