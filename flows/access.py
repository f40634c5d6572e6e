"""A subject access export: everything the clinic holds about one person, as one JSON value.

What a clinic sends a patient who asks for their data (GDPR art. 15): their Telegram identity,
every intake with its answers, status and deep-link source, the review of each (flags, status,
who reviewed it, the clinician's note) and the audit events about them. /mydata gives the
patient what they told the bot; this adds what the clinic did with it. The export is audited.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, or_, select

from flows.engine.records.export import answer_rows, export_record, iso
from flows.intake.sessions import open_state
from flows.review.records import FlowLookup, load_answers, to_record
from storage import intakes, queue
from storage.database import Database
from storage.tables import AuditEvent, IntakeSession, Patient, ReviewItem

TELEGRAM_NOTE = (
    "Telegram also keeps the patient's chat with the bot (not end-to-end encrypted); "
    "the patient can delete it in their app, and Telegram answers requests about it."
)


def export_person(
    database: Database, flows: FlowLookup, *, telegram_id: int, actor: str
) -> dict[str, Any] | None:
    """Everything stored about a Telegram user, or None when nothing is."""
    sealer = database.sealer
    with database.transaction() as tx:
        patient = intakes.find_patient(tx, hashes=sealer.lookup_hashes(telegram_id))
        if patient is None or patient.id is None:
            return None
        records = intakes.patient_sessions(tx, patient_id=patient.id)
        found = {
            "telegram_user_id": telegram_id,
            "telegram_name": sealer.unseal_optional(patient.display_name),
            "telegram_username": sealer.unseal_optional(patient.username),
            "language": patient.language,
            "consented_at": iso(patient.consented_at),
            "unreachable": patient.unreachable,
            "intakes": [_intake(tx, database, flows, record, patient) for record in records],
            "audit_events": _audit(tx, patient, records),
            "telegram": TELEGRAM_NOTE,
        }
        queue.audit(tx, actor=actor, action="patient.exported", patient_id=patient.id)
    return found


def _intake(
    tx: Session, database: Database, flows: FlowLookup, record: IntakeSession, patient: Patient
) -> dict[str, Any]:
    opened = open_state(record, patient, database.sealer)
    item = tx.exec(select(ReviewItem).where(ReviewItem.session_id == record.id)).first()
    flow = flows(record.flow_id, record.flow_version)
    review = None
    if item is not None:
        review_record = to_record(tx, item, database.sealer)
        review = export_record(flow, review_record, load_answers(tx, item, database.sealer))
        review.pop("answers")
    return {
        "intake_id": record.id,
        "flow_id": record.flow_id,
        "flow_version": record.flow_version,
        "status": record.status,
        "started_at": iso(record.started_at),
        "ended_at": iso(record.ended_at),
        "source": opened.source,
        "answers": answer_rows(flow, opened.state.answers),
        "red_flags_raised": opened.state.raised,
        "red_flag_evidence": list(opened.state.flags.values()),
        "callback_phone": database.sealer.unseal_optional(record.callback_phone),
        "review": review,
    }


def _audit(tx: Session, patient: Patient, records: list[IntakeSession]) -> list[dict[str, Any]]:
    session_ids = [r.id for r in records if r.id is not None]
    query = select(AuditEvent).where(
        or_(
            col(AuditEvent.patient_id) == patient.id,
            col(AuditEvent.session_id).in_(session_ids or [-1]),
        )
    )
    return [
        {"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in tx.exec(query.order_by(col(AuditEvent.id)))
    ]
