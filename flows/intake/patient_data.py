"""A patient's own data: all of it (/mydata), its erasure (/delete), and unreachable marks.

/mydata lists what is stored about the patient: their Telegram name and username, then every
intake, oldest first, with its answers, their own words kept as evidence of red flags, and a
call-back number they shared. /delete erases every row about them
(`storage.erasure`): intakes with their answers and state, review items with flags and
notes, inbox rows (received and processed updates), denied-access rows and audit links;
every review-chat notice and clinician message about them is owed a retraction. Only a legal
retention duty (`legal_retention_days`) keeps something: intakes a clinician reviewed within
it stay, sealed and detached from the Telegram id, and the patient is told how many and until
when. The texts are the flow's messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import IntakeState
from flows.intake.sessions import open_state
from flows.registry import FlowRegistry
from storage import intakes, queue
from storage.database import Database
from storage.erasure import Erased, erase_patient
from storage.tables import IntakeSession, Patient, ReviewItem, utcnow


@dataclass(frozen=True, slots=True)
class Deletion:
    """What /delete did, and what to tell the patient."""

    deleted: bool
    message: str
    kept: int = 0
    counts: str = ""


class PatientData:
    """Copies, erasure and reachability of one patient's data."""

    def __init__(
        self,
        *,
        database: Database,
        registry: FlowRegistry,
        places: Callable[[IntakeSession | None], Placeholders],
        legal_retention_days: int = 0,
    ) -> None:
        self.database = database
        self.registry = registry
        self.places = places
        self.legal_retention_days = legal_retention_days

    def delete(
        self, *, user_id: int, language: str | None = None, actor: str = "patient"
    ) -> Deletion:
        """Erase everything about a patient but what a legal duty keeps; say what was kept."""
        hashes = self.database.sealer.lookup_hashes(user_id)
        duty = self.legal_retention_days
        since = utcnow() - timedelta(days=duty) if duty else None
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, hashes=hashes)
            erased = erase_patient(tx, patient=patient, hashes=hashes, keep_reviewed_since=since)
            queue.audit(tx, actor=actor, action="patient.deleted", detail=erased.describe())
            message = self._deletion_text(tx, erased, language)
        return Deletion(
            deleted=patient is not None,
            message=message,
            kept=len(erased.kept_items),
            counts=erased.describe(),
        )

    def copy(self, *, user_id: int, language: str | None = None) -> list[str]:
        """Everything stored about the patient, every intake included, as lines to send them."""
        sealer = self.database.sealer
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, hashes=sealer.lookup_hashes(user_id))
            if patient is None or patient.id is None:
                return [self._message("mydata_empty", language)]
            records = intakes.patient_sessions(tx, patient_id=patient.id)
            queue.audit(tx, actor="patient", action="patient.copy", patient_id=patient.id)
        lines = [self._message("mydata_header", language), self._profile(patient, language)]
        for record in records:
            lines += self._intake_lines(record, patient)
        return lines

    def mark_unreachable(self, *, user_id: int) -> None:
        """Note that the patient blocked the bot; their intake stays for the clinician."""
        hashes = self.database.sealer.lookup_hashes(user_id)
        with self.database.transaction() as tx:
            patient = intakes.find_patient(tx, hashes=hashes)
            if patient is not None and not patient.unreachable:
                patient.unreachable = True
                tx.add(patient)
                queue.audit(tx, actor="system", action="patient.unreachable", patient_id=patient.id)

    # --- texts -------------------------------------------------------------------------------

    def _deletion_text(self, tx: Session, erased: Erased, language: str | None) -> str:
        if not erased.kept_items:
            return self._message("deleted", language)
        reviewed = tx.exec(
            select(ReviewItem.reviewed_at).where(col(ReviewItem.id).in_(erased.kept_items))
        )
        last = max(at for at in reviewed if at is not None)
        until = (last + timedelta(days=self.legal_retention_days)).date().isoformat()
        count = len(erased.kept_items)
        return self._message("deleted_kept", language, count=count, until=until)

    def _profile(self, patient: Patient, language: str | None) -> str:
        sealer = self.database.sealer
        name = sealer.unseal_optional(patient.display_name) or "-"
        username = sealer.unseal_optional(patient.username)
        handle = f"@{username}" if username else "-"
        return self._message("mydata_profile", language, name=name, username=handle)

    def _intake_lines(self, record: IntakeSession, patient: Patient) -> list[str]:
        opened = open_state(record, patient, self.database.sealer)
        if not opened.state.history:
            return []
        conversation = self.registry.get(record.flow_id, record.flow_version)
        state = opened.state
        builder = PromptBuilder(conversation.fm, self.places(record), state.language)
        date = record.started_at.date().isoformat()
        lines = ["", builder.message("mydata_intake", date=date)]
        lines += [f"{label}: {answer}" for _, label, answer in builder.answered(state)]
        words = _flagged_words(state)
        if words:
            lines += [builder.message("mydata_words"), *words]
        phone = self.database.sealer.unseal_optional(record.callback_phone)
        if phone:
            lines.append(builder.message("mydata_callback", phone=phone))
        return lines

    def _message(self, key: str, language: str | None, **values: object) -> str:
        flow = self.registry.active
        lang = language if language in flow.languages else flow.default_language
        return self.places(None).fill(flow.message(key, lang, **values))


def _flagged_words(state: IntakeState) -> list[str]:
    """The patient's own words kept as evidence of red flags or facts, each once, with when."""
    entries = [e for flag in state.flags.values() for e in flag.get("evidence", [])]
    entries += [e for said in state.facts.values() for e in said]
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.get("source") == "checklist" or not entry.get("words"):
            continue
        key = (str(entry["words"]), str(entry.get("at", "")))
        seen.setdefault(key, f'"{key[0]}" ({key[1].replace("T", " ")[:16]})')
    return list(seen.values())
