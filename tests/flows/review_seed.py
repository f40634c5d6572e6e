"""Seeding finished intakes straight into a real database, for review-side tests."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flows.engine.conversation.state import IntakeState
from flows.engine.format.conditions import holds
from flows.engine.format.model import Flow
from flows.engine.loading.loader import load_flow_file
from flows.intake.sessions import seal_state
from flows.review.outbox import ReviewOutbox
from flows.review.service import ReviewService
from storage import intakes, queue
from storage.database import Database
from storage.migrate import upgrade
from storage.sealing import Sealer, new_key
from storage.tables import IntakeSession, utcnow
from tests.flows.sample_flow import sample_answers, sample_flow

BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"


@cache
def bundled_flow() -> Flow:
    """The bundled gut-health flow, loaded and validated (once: flows are immutable)."""
    return load_flow_file(BUNDLED).flow


def complete_answers(flow: Flow) -> dict[str, Any]:
    """An answer to every question a flow asks (`ask_when` respected), as the engine stores it."""
    answers: dict[str, Any] = {}
    for sid, step in flow.steps.items():
        spec: Any = step.answer
        if step.ask_when is not None and not holds(step.ask_when, answers):
            continue
        if step.kind == "choice":
            accept = flow.consent.accept if sid == flow.consent.step else None
            answers[sid] = accept or spec.options[-1].value
        elif step.kind == "multi":
            answers[sid] = [o.value for o in spec.options if o.value != spec.none][:2]
        elif step.kind == "scale":
            answers[sid] = 6
        elif step.kind == "number":
            answers[sid] = (spec.min + spec.max) // 2
        elif step.kind == "yes_no":
            answers[sid] = "no"
        elif step.kind == "text":
            answers[sid] = "free text"
        elif step.kind == "duration":
            answers[sid] = 42
    return answers


def open_database(tmp_path: Path, *, key: str | None = None) -> Database:
    """A migrated SQLite file in `tmp_path`, sealing values with `key` (a fresh one if None)."""
    database = Database(f"sqlite:///{tmp_path / 'review.db'}", sealer=Sealer(key or new_key()))
    upgrade(database)
    return database


def seed_intake(
    database: Database,
    *,
    user: int,
    priority: str = "routine",
    flags: list[dict[str, Any]] | None = None,
    answers: dict[str, Any] | None = None,
    flow: Flow | None = None,
    status: str = "completed",
    name: str | None = "Pat Example",
    username: str | None = "pat_ex",
    queued_at: datetime | None = None,
) -> int:
    """A patient with one ended intake, its answers, its review item and outbox row: the item id."""
    flow = flow or sample_flow()
    sealer = database.sealer
    with database.transaction() as tx:
        patient = intakes.find_patient(tx, hashes=sealer.lookup_hashes(user))
        if patient is None:
            patient = intakes.create_patient(
                tx,
                telegram_id=user,
                language="en",
                display_name=name,
                username=username,
                sealer=sealer,
            )
        assert patient.id is not None
        values = sample_answers() if answers is None else answers
        state = IntakeState(state="end", answers=dict(values), history=list(values), status=status)
        intake = IntakeSession(
            patient_id=patient.id,
            flow_id=flow.id,
            flow_version=flow.version,
            status=status,
            state=seal_state(state, None, sealer),
            ended_at=utcnow(),
        )
        tx.add(intake)
        tx.flush()
        assert intake.id is not None
        item = queue.queue_review(
            tx, session_id=intake.id, priority=priority, red_flags=sealer.seal_json(flags or [])
        )
        if queued_at is not None:
            item.created_at = queued_at
            tx.add(item)
        assert item.id is not None
        queue.enqueue(tx, topic="review_item", ref_id=item.id)
        return item.id


def flow_lookup(*flows: Flow) -> Any:
    """A flow lookup over the given flows (the sample flow when none are given)."""
    known = {(f.id, f.version): f for f in flows or (sample_flow(),)}

    def lookup(flow_id: str, version: int) -> Flow:
        if (flow_id, version) not in known:
            raise LookupError(flow_id)
        return known[(flow_id, version)]

    return lookup


class Wakeups:
    """Counts how often a service woke the delivery worker."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def review_service(database: Database, *flows: Flow) -> tuple[ReviewService, Wakeups]:
    """A review service over `database` and the flows, with a wake-up counter."""
    wakeups = Wakeups()
    return ReviewService(database=database, flows=flow_lookup(*flows), notify=wakeups), wakeups


def review_outbox(database: Database, *flows: Flow, full_cards: bool = False) -> ReviewOutbox:
    """The outbox side of the review service (notices, or full cards when asked)."""
    return ReviewOutbox(database=database, flows=flow_lookup(*flows), full_cards=full_cards)
