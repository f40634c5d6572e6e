"""A patient's own data: a copy of their answers (/mydata), erasure (/delete), unreachable marks.

Erasure removes answers and personal fields and withdraws any queued review item (the review
chat is told through the outbox, without contents); the patient row becomes a tombstone so
the same person starting again begins afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.intake.sessions import restore_state
from flows.registry import FlowRegistry
from storage import intakes, queue
from storage.database import Database
from storage.tables import IntakeSession, ReviewItem, utcnow


@dataclass(frozen=True, slots=True)
class Deletion:
    """What /delete erased."""

    deleted: bool
    withdrawn_review_ids: tuple[int, ...] = ()


class PatientData:
    """Copies, erasure and reachability of one patient's data."""

    def __init__(
        self,
        *,
        database: Database,
        registry: FlowRegistry,
        places: Callable[[IntakeSession | None], Placeholders],
    ) -> None:
        self.database = database
        self.registry = registry
        self.places = places

    def delete(self, *, user_id: int) -> Deletion:
        """Erase a patient's answers and personal data; withdraw their queued intakes."""
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, telegram_user_id=user_id)
            if patient is None:
                return Deletion(deleted=False)
            session_ids = intakes.delete_patient(tx, patient=patient)
            withdrawn = _withdraw(tx, session_ids)
            patient.telegram_user_id = -_id(patient)  # a tombstone: the person starts afresh
            tx.add(patient)
            queue.audit(
                tx, actor="patient:deleted", action="patient.deleted", detail=str(patient.id)
            )
            return Deletion(deleted=True, withdrawn_review_ids=tuple(withdrawn))

    def copy(self, *, user_id: int) -> list[str]:
        """The patient's own answers of their latest intake, as lines to send them."""
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, telegram_user_id=user_id)
            record = None
            if patient is not None:
                record = intakes.current_session(tx, patient_id=_id(patient))
            if record is None or not record.state.get("history"):
                return [self._message("mydata_empty")]
            answers = intakes.load_answers(tx, session_id=_id(record), sealer=self.database.sealer)
            queue.audit(tx, actor=f"patient:{user_id}", action="patient.copy", session_id=record.id)
        conversation = self.registry.get(record.flow_id, record.flow_version)
        state = restore_state(record, answers, patient)
        builder = PromptBuilder(conversation.fm, self.places(record), state.language)
        lines = [f"{label}: {answer}" for _, label, answer in builder.answered(state)]
        return [builder.message("mydata_header"), *lines]

    def mark_unreachable(self, *, user_id: int) -> None:
        """Note that the patient blocked the bot; their intake stays for the clinician."""
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, telegram_user_id=user_id)
            if patient is not None and not patient.unreachable:
                patient.unreachable = True
                tx.add(patient)
                queue.audit(
                    tx, actor="system", action="patient.unreachable", detail=str(patient.id)
                )

    def _message(self, key: str) -> str:
        flow = self.registry.active
        return self.places(None).fill(flow.message(key, flow.default_language))


def _withdraw(tx: Session, session_ids: list[int]) -> list[int]:
    if not session_ids:
        return []
    items = tx.exec(select(ReviewItem).where(col(ReviewItem.session_id).in_(session_ids)))
    withdrawn = []
    for item in items:
        if item.status in ("pending", "claimed"):
            item.status, item.updated_at, item.note = "withdrawn", utcnow(), None
            tx.add(item)
            queue.enqueue(tx, topic="review_withdrawn", ref_id=_id(item))
            withdrawn.append(_id(item))
    return withdrawn


def _id(row: IntakeSession | ReviewItem | object) -> int:
    value = getattr(row, "id", None)
    assert isinstance(value, int)
    return value
