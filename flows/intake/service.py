"""The intake service: one patient update in, one `Turn` out, in one database transaction.

Transport-neutral: the terminal chat and the Telegram bot both call `handle`. A repeated update
id changes nothing. Nothing is stored before the patient consents; the session row is created
when consent is given. When an intake ends (completed, or escalated by an emergency) exactly
one review item is queued with the most urgent level raised, and the review chat is owed a
message through the outbox. Blocking database work runs in a worker thread so the event loop
is never held for longer than one turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from flows.analytics.tally import Before, Progress
from flows.engine.conversation.alerts import URGENT, Outcome
from flows.engine.conversation.parsing import Accepted, parse
from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import ACTIVE, CANCELLED, ESCALATED, IntakeState
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, Inbound, Turn
from flows.engine.safety.flags import priority
from flows.intake.counting import TurnCounts, new_progress
from flows.intake.patient_data import Deletion, PatientData
from flows.intake.sessions import restore_state
from flows.registry import FlowRegistry
from storage import intakes, queue
from storage.database import Database
from storage.tables import IntakeSession, Patient, ProcessedUpdate, ReviewItem, utcnow

log = logging.getLogger(__name__)

ENDED_STATUSES = {"completed", "escalated"}


@dataclass
class _Context:
    """The loaded pieces of one turn."""

    tx: Session
    inbound: Inbound
    patient: Patient | None
    record: IntakeSession | None
    conversation: Conversation
    state: IntakeState
    stored: dict[str, object]  # the answers as loaded, to write only what changed
    progress: Progress  # what the intake counts remember of this intake
    counts: TurnCounts = field(default_factory=TurnCounts)


class IntakeService:
    """Runs patient turns against the flow registry and the database."""

    def __init__(
        self,
        *,
        database: Database,
        registry: FlowRegistry,
        booking_url: str,
        emergency_number: str,
    ) -> None:
        self.database = database
        self.registry = registry
        self.booking_url = booking_url
        self.emergency_number = emergency_number
        self.patients = PatientData(database=database, registry=registry, places=self._places)
        self.on_queued: Callable[[], None] | None = None  # wakes the review-chat delivery

    async def handle(self, inbound: Inbound) -> Turn:
        """Apply one patient update (in a worker thread)."""
        return await asyncio.to_thread(self.handle_sync, inbound)

    def handle_sync(self, inbound: Inbound) -> Turn:
        """Apply one patient update in one transaction."""
        try:
            return self._handle_once(inbound)
        except IntegrityError:
            # Another instance applied the same update id concurrently: a duplicate.
            if inbound.update_id is not None and self._seen(inbound.update_id):
                return Turn(duplicate=True)
            raise

    def _seen(self, update_id: int) -> bool:
        with self.database.transaction() as tx:
            return tx.get(ProcessedUpdate, update_id) is not None

    def _handle_once(self, inbound: Inbound) -> Turn:
        with self.database.transaction() as tx:
            if inbound.update_id is not None and not intakes.claim_update(
                tx, update_id=inbound.update_id
            ):
                return Turn(duplicate=True)
            ctx = self._load(tx, inbound)
            turn = self._apply(ctx)
            ctx.counts.save(tx)
            return turn

    @property
    def languages(self) -> list[str]:
        """The active flow's languages, the default first."""
        return list(self.registry.active.languages)

    def message(self, key: str, language: str | None = None) -> str:
        """A `messages` text of the active flow, placeholders filled."""
        places = self._places(None)
        return places.fill(self.registry.active.message(key, self._language(language)))

    # --- one turn --------------------------------------------------------------------------

    def _load(self, tx: Session, inbound: Inbound) -> _Context:
        patient, record = intakes.find_current(
            tx, telegram_user_id=inbound.user_id, for_update=True
        )
        stored: dict[str, object] = {}
        if record is not None and record.status == ACTIVE:
            conversation = self.registry.get(record.flow_id, record.flow_version)
            stored = intakes.load_answers(tx, session_id=_id(record), sealer=self.database.sealer)
            state = restore_state(record, stored, patient)
            state.language = conversation.flow.language_for(state.language)
            progress = Progress.from_record(record.state)
        else:
            conversation = self.registry.active_conversation()
            state = conversation.new_state(self._opening_language(inbound, patient))
            progress = new_progress(conversation)
        return _Context(tx, inbound, patient, record, conversation, state, stored, progress)

    def _opening_language(self, inbound: Inbound, patient: Patient | None) -> str:
        """The language of a patient with no intake in progress.

        The language the answered question was shown in, else the one the patient chose for an
        earlier intake, else their Telegram app's language, else the flow's default.
        """
        chosen = patient.language if patient is not None and patient.consented_at else None
        return self._language(inbound.action.language or chosen or inbound.profile.language)

    def _apply(self, ctx: _Context) -> Turn:
        action = ctx.inbound.action
        active = ctx.record is not None and ctx.record.status == ACTIVE
        if action.kind == ActionKind.RESTART:
            return self._restart(ctx, active)
        if not active:
            return self._before_consent(ctx)
        if _pressed(action) and action.session_id != ctx.record.id:  # type: ignore[union-attr]
            return Turn(stale=True, session_id=ctx.record.id)  # type: ignore[union-attr]
        places = self._places(ctx.record)
        before = Before.of(ctx.state)
        outcome = ctx.conversation.handle(ctx.state, action, places)
        if outcome.minor:
            self._erase(ctx)
            return _turn(outcome, ctx.state, None)
        ctx.counts.turn(ctx.conversation, before, ctx.state, ctx.progress, ctx.record)
        self._save(ctx)
        return _turn(outcome, ctx.state, ctx.record)

    def _erase(self, ctx: _Context) -> None:
        """Under the minimum age: keep nothing of this intake (nor a patient row made for it)."""
        record, patient = ctx.record, ctx.patient
        assert record is not None
        assert patient is not None
        intakes.erase_session(ctx.tx, session_id=_id(record), patient_id=_id(patient))
        log.info("intake.erased_minor")

    def _before_consent(self, ctx: _Context) -> Turn:
        """A patient with no intake in progress: nothing is stored until they consent."""
        action = ctx.inbound.action
        places = self._places(None)
        if _pressed(action) and action.session_id not in (None, 0):
            return Turn(stale=True)
        finished = ctx.record is not None and ctx.record.status in ENDED_STATUSES
        if action.kind == ActionKind.TEXT and finished and not self._answers_start(ctx):
            return self._after_end(ctx, places)
        if action.kind in (ActionKind.START, ActionKind.STATUS, ActionKind.BACK):
            if action.kind == ActionKind.START:
                ctx.counts.opening(ctx.conversation)
            prompts = tuple(ctx.conversation.opening(ctx.state, places))
            return Turn(prompts=prompts, language=ctx.state.language)
        if action.kind == ActionKind.TEXT:  # "Acepto" under an English question is Spanish
            ctx.state.language = self._answer_language(ctx)
        before = Before.of(ctx.state)
        outcome = ctx.conversation.handle(ctx.state, action, places)
        ctx.counts.turn(ctx.conversation, before, ctx.state, ctx.progress, None)
        if self._consented(ctx):
            self._open_session(ctx)
            self._save(ctx)
        elif action.kind == ActionKind.LANGUAGE:
            self._keep_language(ctx)
        return _turn(outcome, ctx.state, ctx.record)

    def _answers_start(self, ctx: _Context) -> bool:
        """Whether typed text answers the first question (a new intake after an ended one)."""
        flow = ctx.conversation.flow
        text = ctx.inbound.action.text or ""
        parsed = parse(flow.steps[flow.start], text, flow, self._answer_language(ctx))
        return isinstance(parsed, Accepted)

    def _answer_language(self, ctx: _Context) -> str:
        """The language typed text answers the first question in (the patient's, else another)."""
        conversation, text = ctx.conversation, ctx.inbound.action.text or ""
        language = ctx.state.language or conversation.flow.default_language
        return conversation.language_of_answer(conversation.flow.start, text, language)

    def _keep_language(self, ctx: _Context) -> None:
        """Remember a consenting patient's language choice (nobody else's is stored)."""
        patient = ctx.patient
        if patient is not None and patient.consented_at and patient.language != ctx.state.language:
            patient.language = ctx.state.language
            ctx.tx.add(patient)

    def _after_end(self, ctx: _Context, places: Placeholders) -> Turn:
        """Text after an intake ended: still screened for red flags, else a short reminder."""
        text = ctx.inbound.action.text or ""
        return _turn(ctx.conversation.after_end(ctx.state, text, places), ctx.state, None)

    def _restart(self, ctx: _Context, active: bool) -> Turn:
        if active and ctx.record is not None:
            ctx.record.status, ctx.record.ended_at = CANCELLED, utcnow()
            ctx.tx.add(ctx.record)
            self._audit(ctx, "intake.restarted")
            ctx.counts.cancelled(ctx.record)
        conversation = self.registry.active_conversation()
        ctx.counts.opening(conversation)
        state = conversation.new_state(ctx.state.language)
        places = self._places(None)
        builder = PromptBuilder(conversation.fm, places, state.language)
        prompts = (builder.notice("restarted"), *conversation.opening(state, places))
        return Turn(prompts=prompts, language=state.language)

    def _consented(self, ctx: _Context) -> bool:
        consent = ctx.conversation.flow.consent
        return ctx.state.answers.get(consent.step) == consent.accept

    def _open_session(self, ctx: _Context) -> None:
        profile, flow = ctx.inbound.profile, ctx.conversation.flow
        if ctx.patient is None:
            ctx.patient = intakes.create_patient(
                ctx.tx,
                telegram_user_id=ctx.inbound.user_id,
                language=ctx.state.language,
                display_name=profile.display_name,
                username=profile.username,
                sealer=self.database.sealer,
            )
        else:
            self._refresh_patient(ctx)
        ctx.record = IntakeSession(
            patient_id=_id(ctx.patient),
            flow_id=flow.id,
            flow_version=flow.version,
            current_step=ctx.state.step,
            source=ctx.inbound.source,
        )
        ctx.tx.add(ctx.record)
        ctx.tx.flush()
        self._audit(ctx, "intake.started")
        ctx.counts.consented(ctx.conversation)

    def _refresh_patient(self, ctx: _Context) -> None:
        patient, profile, sealer = ctx.patient, ctx.inbound.profile, self.database.sealer
        assert patient is not None
        patient.display_name = sealer.seal_optional(profile.display_name)
        patient.username = sealer.seal_optional(profile.username)
        patient.language, patient.consented_at = ctx.state.language, utcnow()
        patient.unreachable = False
        ctx.tx.add(patient)

    def _save(self, ctx: _Context) -> None:
        record, state = ctx.record, ctx.state
        assert record is not None
        intakes.save_answers(
            ctx.tx,
            session_id=_id(record),
            before=ctx.stored,
            after=state.answers,
            sealer=self.database.sealer,
        )
        record.current_step, record.status = state.step, state.status
        record.state = {**state.to_record(), "progress": ctx.progress.to_record()}
        record.updated_at = utcnow()
        self._keep_language(ctx)
        if state.ended and record.ended_at is None:
            record.ended_at = record.updated_at
            self._finish(ctx)
        ctx.tx.add(record)

    def _finish(self, ctx: _Context) -> None:
        record, state = ctx.record, ctx.state
        assert record is not None
        self._audit(ctx, f"intake.{state.status}")
        if state.status not in ENDED_STATUSES:
            return
        flags = [state.flags.get(f) or {"id": f, "level": lvl} for f, lvl in state.raised.items()]
        item = queue.queue_review(
            ctx.tx, session_id=_id(record), priority=priority(state.raised), red_flags=flags
        )
        queue.enqueue(ctx.tx, topic="review_item", ref_id=_id(item))
        log.info("intake.queued session=%s review=%s", record.id, item.id)
        notify = self.on_queued
        if notify is not None:  # after the commit, so the woken worker sees the new row
            event.listen(ctx.tx, "after_commit", lambda _tx: notify(), once=True)

    def _audit(self, ctx: _Context, action: str) -> None:
        queue.audit(
            ctx.tx,
            actor=f"patient:{ctx.inbound.user_id}",
            action=action,
            session_id=ctx.record.id if ctx.record else None,
        )

    def _places(self, record: IntakeSession | None) -> Placeholders:
        intake_id = str(record.id) if record is not None and record.id is not None else ""
        return Placeholders(
            booking_url=self.booking_url.replace("{intake_id}", intake_id),
            emergency_number=self.emergency_number,
        )

    def _language(self, wanted: str | None) -> str:
        return self.registry.active.language_for(wanted)

    # --- patient data (see flows.intake.patient_data) --------------------------------------------

    async def delete_patient(self, *, user_id: int) -> Deletion:
        """Erase a patient's answers and personal data; withdraw their queued intakes."""
        return await asyncio.to_thread(self.patients.delete, user_id=user_id)

    async def patient_copy(self, *, user_id: int) -> list[str]:
        """The patient's own answers of their latest intake, as lines to send them."""
        return await asyncio.to_thread(self.patients.copy, user_id=user_id)

    async def save_contact(self, *, user_id: int, phone: str) -> str | None:
        """Keep a call-back number the patient shared (sealed); the intake's status, or None."""
        return await asyncio.to_thread(self.save_contact_sync, user_id=user_id, phone=phone)

    def save_contact_sync(self, *, user_id: int, phone: str) -> str | None:
        """Keep a shared call-back number; None when the patient has no intake to attach it to."""
        with self.database.transaction() as tx:
            _, record = intakes.find_current(tx, telegram_user_id=user_id, for_update=True)
            if record is None or record.status not in (ACTIVE, ESCALATED, "completed"):
                return None
            record.callback_phone = self.database.sealer.seal(phone)
            tx.add(record)
            item = queue.review_item_of(tx, session_id=_id(record))
            if item is not None:
                queue.enqueue(tx, topic="review_update", ref_id=_id(item))
            queue.audit(
                tx, actor=f"patient:{user_id}", action="intake.contact_shared", session_id=record.id
            )
            return record.status

    async def mark_unreachable(self, *, user_id: int) -> None:
        """Note that the patient blocked the bot; their intake stays for the clinician."""
        await asyncio.to_thread(self.patients.mark_unreachable, user_id=user_id)


_BUTTONS = {
    ActionKind.CHOOSE,
    ActionKind.TOGGLE,
    ActionKind.DONE,
    ActionKind.SKIP,
    ActionKind.CONFIRM,
}


def _pressed(action: Action) -> bool:
    """Whether the action is a button press bound to a session (a /language pick included)."""
    picked = action.kind == ActionKind.LANGUAGE and action.option_index is not None
    return action.kind in _BUTTONS or picked


def _turn(outcome: Outcome, state: IntakeState, record: IntakeSession | None) -> Turn:
    return Turn(
        prompts=tuple(outcome.prompts),
        session_id=record.id if record is not None else None,
        ended=state.ended,
        escalation=outcome.escalation,
        stale=outcome.stale,
        answered_step=outcome.answered_step,
        answer_text=outcome.answer_text,
        refresh=outcome.refresh,
        language=state.language,
        offer_contact=outcome.escalation in URGENT,
    )


def _id(row: Patient | IntakeSession | ReviewItem) -> int:
    assert row.id is not None
    return row.id


__all__ = ["ESCALATED", "Deletion", "IntakeService"]
