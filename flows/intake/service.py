"""The intake service: one patient update in, one `Turn` out, in one database transaction.

Transport-neutral: the terminal chat and the Telegram bot both call `handle`. The turn first
claims its update in the inbox (`storage.inbox.claim`): a repeated update changes nothing, and
an update whose patient has an older one still pending is deferred, so one patient's updates
apply in order across processes. Nothing is stored before the patient consents; the session row
is created when consent is given. When an intake ends (completed, or escalated by an
emergency) its one review item is queued with the most urgent level raised; a same-day flag
queues it at once, mid-intake, and the end then updates it (see `flows.intake.referral`). Text
after the end is still screened and its flags reach the clinicians (`flows.intake.after_end`).
Any failure answers the patient anyway, with the emergency number (`flows.intake.failsafe`).
Blocking database work runs in a worker thread so the event loop is never held for longer
than one turn.

The patient is found by the keyed hashes of their Telegram id, and so is their chat in the
inbox; the session's state (answers included) is opened once and sealed once per turn
(`flows.intake.sessions`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from flows.analytics.tally import Before, Progress
from flows.engine.conversation.alerts import URGENT, Outcome
from flows.engine.conversation.parsing import Accepted, parse
from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.state import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    DECLINED,
    ESCALATED,
    IntakeState,
)
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import ActionKind, Inbound, Turn
from flows.intake.after_end import ENDED_STATUSES, answer_after_end
from flows.intake.counting import TurnCounts, new_progress
from flows.intake.failsafe import FailSafe
from flows.intake.patient_data import Deletion, PatientData
from flows.intake.referral import Referral, refer
from flows.intake.replay import replay
from flows.intake.sessions import open_session, open_state, seal_state
from flows.registry import FlowRegistry
from storage import inbox, intakes, queue
from storage.database import Database
from storage.tables import IntakeSession, Patient, ReviewItem, utcnow
from storage.transactions import DriverTransaction

log = logging.getLogger(__name__)

QUEUED_AT_ONCE = frozenset({"same_day"})  # mid-intake levels the clinicians hear of at once


@dataclass
class _Context:
    """The loaded pieces of one turn."""

    tx: DriverTransaction
    inbound: Inbound
    hashes: tuple[int, ...]  # keyed hashes of the Telegram id, newest key first
    patient: Patient | None
    record: IntakeSession | None
    conversation: Conversation
    state: IntakeState
    source: str | None  # the deep-link source of the session
    progress: Progress  # what the intake counts remember of this intake
    raised: dict[str, str]  # the flags raised before this turn
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
        claimant: str | None = None,
        legal_retention_days: int = 0,
    ) -> None:
        self.database = database
        self.registry = registry
        self.booking_url = booking_url
        self.emergency_number = emergency_number
        self.claimant = claimant  # this process's name in the inbox (it sends the replies)
        self.patients = PatientData(
            database=database,
            registry=registry,
            places=self._places,
            legal_retention_days=legal_retention_days,
        )
        self.failsafe = FailSafe(
            registry=registry, places=lambda: self._places(None), language=self._language
        )
        self.on_queued: Callable[[], None] | None = None  # wakes the review-chat delivery

    async def handle(self, inbound: Inbound) -> Turn:
        """Apply one patient update (in one of the database's worker threads)."""
        return await self.database.run(self.handle_sync, inbound)

    def handle_sync(self, inbound: Inbound) -> Turn:
        """Apply one patient update in one transaction; a failure still answers the patient."""
        flags = self.failsafe.screen(inbound)  # before anything that can fail
        try:
            return self._handle(inbound)
        except Exception as exc:
            return self.failsafe.fallback(inbound, flags, exc)

    @property
    def failures(self) -> int:
        """Failed turns since start (each answered with the fallback)."""
        return self.failsafe.failures

    def fallback(self, inbound: Inbound) -> Turn:
        """The failed-turn reply for an update that could not even be stored (counted)."""
        return self.failsafe.fallback(inbound, self.failsafe.screen(inbound))

    def _handle(self, inbound: Inbound) -> Turn:
        try:
            return self._handle_once(inbound)
        except IntegrityError:
            # A concurrent turn of this patient committed first (one active intake, one row
            # per update): run again on what it committed.
            return self._handle_once(inbound)

    def _handle_once(self, inbound: Inbound) -> Turn:
        hashes = self.database.sealer.lookup_hashes(inbound.user_id)
        with self.database.driver_transaction() as tx:
            if inbound.update_id is not None:
                claim = inbox.claim(
                    tx, update_id=inbound.update_id, chat_hash=hashes[0], owner=self.claimant
                )
                if claim is not inbox.Claim.CLAIMED:
                    deferred = claim is inbox.Claim.DEFERRED
                    return Turn(duplicate=not deferred, deferred=deferred)
            ctx = self._load(tx, inbound, hashes)
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

    def _load(self, tx: DriverTransaction, inbound: Inbound, hashes: tuple[int, ...]) -> _Context:
        patient, record = intakes.find_current(tx, hashes=hashes, for_update=True)
        if patient is not None and patient.telegram_id_hash != hashes[0]:
            patient.telegram_id_hash = hashes[0]  # found under an older key: renew it
            tx.session.add(patient)
        source = inbound.source
        if record is not None and record.status == ACTIVE:
            conversation = self.registry.get(record.flow_id, record.flow_version)
            opened = open_state(record, patient, self.database.sealer)
            state, source = opened.state, opened.source
            state.language = conversation.flow.language_for(state.language)
            progress = Progress.from_record(opened.blob)
        else:
            conversation = self.registry.active_conversation()
            state = conversation.new_state(self._opening_language(inbound, patient))
            progress = new_progress(conversation)
        raised = dict(state.raised)
        return _Context(
            tx, inbound, hashes, patient, record, conversation, state, source, progress, raised
        )

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
        if action.bound and action.session_id != ctx.record.id:  # type: ignore[union-attr]
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
        intakes.erase_session(ctx.tx.session, session_id=_id(record), patient_id=_id(patient))
        inbox.forget(ctx.tx.session, chat_hashes=ctx.hashes)
        log.info("intake.erased_minor")

    def _before_consent(self, ctx: _Context) -> Turn:
        """A patient with no intake in progress: nothing is stored until they consent."""
        action = ctx.inbound.action
        places = self._places(None)
        if self._is_after_end(ctx):
            return self._after_end(ctx)
        if action.bound and action.session_id not in (None, 0):
            return Turn(stale=True)
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
        elif ctx.state.status == DECLINED and ctx.patient is not None:
            builder = PromptBuilder(ctx.conversation.fm, places, ctx.state.language)
            outcome.prompts.append(builder.notice("declined_data_kept"))
        return _turn(outcome, ctx.state, ctx.record)

    def _is_after_end(self, ctx: _Context) -> bool:
        """Input for an ended intake: text (not starting a new one), an old edit, its Yes/No.

        After /cancel or /restart only text that raises a red flag counts: anything else is
        the start of a new intake, as before.
        """
        record, action = ctx.record, ctx.inbound.action
        if record is None or record.status not in (*ENDED_STATUSES, CANCELLED):
            return False
        if action.kind == ActionKind.TEXT:
            flow, text = ctx.conversation.flow, action.text or ""
            first = parse(flow.steps[flow.start], text, flow, self._answer_language(ctx))
            if isinstance(first, Accepted):
                return False
            return record.status != CANCELLED or bool(self.failsafe.screen(ctx.inbound))
        if record.status == CANCELLED:
            return False
        if action.kind == ActionKind.CONFIRM:
            return action.session_id == record.id
        return action.kind == ActionKind.SCREEN

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
            ctx.tx.session.add(patient)

    def _after_end(self, ctx: _Context) -> Turn:
        """Text after an intake ended: screened, and any red flag stored and referred."""
        assert ctx.record is not None
        late = answer_after_end(
            ctx.tx.session,
            record=ctx.record,
            patient=ctx.patient,
            inbound=ctx.inbound,
            registry=self.registry,
            sealer=self.database.sealer,
            places=self._places(ctx.record),
        )
        if late.referral is not None:
            self._wake_after_commit(ctx.tx, late.referral)
        return late.turn

    def _restart(self, ctx: _Context, active: bool) -> Turn:
        if active and ctx.record is not None:
            ctx.record.status, ctx.record.ended_at = CANCELLED, utcnow()
            ctx.tx.session.add(ctx.record)
            self._audit(ctx, "intake.restarted")
            ctx.counts.cancelled(ctx.record, ctx.state.step)
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
        ctx.patient, ctx.record = open_session(
            ctx.tx.session,
            patient=ctx.patient,
            inbound=ctx.inbound,
            state=ctx.state,
            flow=ctx.conversation.flow,
            sealer=self.database.sealer,
        )
        ctx.source = ctx.inbound.source
        self._audit(ctx, "intake.started")
        ctx.counts.consented(ctx.conversation)

    def _save(self, ctx: _Context) -> None:
        record, state = ctx.record, ctx.state
        assert record is not None
        sealer = self.database.sealer
        now, ending = utcnow(), state.ended and record.ended_at is None
        values = {
            "status": state.status,
            "state": seal_state(state, ctx.source, sealer, progress=ctx.progress.to_record()),
            "step_key": sealer.step_key(state.step),
            "updated_at": now,
            **({"ended_at": now} if ending else {}),
        }
        intakes.save_session(ctx.tx, record=record, values=values)
        self._keep_language(ctx)
        if ending:
            self._finish(ctx)
        elif not state.ended and QUEUED_AT_ONCE & _new_levels(ctx):
            self._refer(ctx)  # the patient was told to get help today: clinicians hear of it now

    def _finish(self, ctx: _Context) -> None:
        record, state = ctx.record, ctx.state
        assert record is not None
        self._audit(ctx, f"intake.{state.status}")
        if state.status in (COMPLETED, ESCALATED):
            self._refer(ctx)

    def _refer(self, ctx: _Context) -> None:
        """Open or update the intake's review item with every flag raised so far."""
        record, state = ctx.record, ctx.state
        assert record is not None
        flags = [state.flags.get(f) or {"id": f, "level": lvl} for f, lvl in state.raised.items()]
        referral = refer(
            ctx.tx.session,
            session_id=_id(record),
            flags=flags,
            sealer=self.database.sealer,
            patient_id=ctx.patient.id if ctx.patient else None,
        )
        log.info("intake.queued session=%s review=%s", record.id, referral.item_id)
        self._wake_after_commit(ctx.tx, referral)

    def _wake_after_commit(self, tx: DriverTransaction, referral: Referral) -> None:
        """Wake the review-chat delivery once the item is committed (so the worker sees it)."""
        if self.on_queued is not None:
            tx.after_commit(self.on_queued)

    def _audit(self, ctx: _Context, action: str) -> None:
        queue.audit(
            ctx.tx.session,
            actor="patient",
            action=action,
            session_id=ctx.record.id if ctx.record else None,
            patient_id=ctx.patient.id if ctx.patient else None,
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

    async def delete_patient(self, *, user_id: int, language: str | None = None) -> Deletion:
        """Erase everything about a patient (but what a legal duty keeps); say what was kept.

        The delivery worker is woken to withdraw the messages about them at once.
        """
        deletion = await asyncio.to_thread(self.patients.delete, user_id=user_id, language=language)
        if self.on_queued is not None:
            self.on_queued()
        return deletion

    async def patient_copy(self, *, user_id: int, language: str | None = None) -> list[str]:
        """Everything stored about the patient (every intake), as lines to send them."""
        return await asyncio.to_thread(self.patients.copy, user_id=user_id, language=language)

    async def save_contact(self, *, user_id: int, phone: str) -> str | None:
        """Keep a call-back number the patient shared (sealed); the intake's status, or None."""
        return await asyncio.to_thread(self.save_contact_sync, user_id=user_id, phone=phone)

    def save_contact_sync(self, *, user_id: int, phone: str) -> str | None:
        """Keep a shared call-back number; None when the patient has no intake to attach it to."""
        with self.database.transaction() as tx:
            hashes = self.database.sealer.lookup_hashes(user_id)
            patient, record = intakes.find_current(tx, hashes=hashes, for_update=True)
            if record is None or record.status not in (ACTIVE, ESCALATED, "completed"):
                return None
            record.callback_phone = self.database.sealer.seal(phone)
            tx.add(record)
            item = queue.review_item_of(tx, session_id=_id(record))
            if item is not None:
                queue.enqueue(tx, topic="review_update", ref_id=_id(item))
            queue.audit(
                tx,
                actor="patient",
                action="intake.contact_shared",
                session_id=record.id,
                patient_id=patient.id if patient else None,
            )
            return record.status

    async def mark_unreachable(self, *, user_id: int) -> None:
        """Note that the patient blocked the bot; their intake stays for the clinician."""
        await asyncio.to_thread(self.patients.mark_unreachable, user_id=user_id)

    async def replay(self, *, user_id: int, language: str | None = None) -> Turn:
        """What to send a patient whose last reply may have been lost (see `replay`)."""
        return await asyncio.to_thread(
            replay,
            database=self.database,
            registry=self.registry,
            places=self._places,
            user_id=user_id,
            language=self._language(language),
        )


def _new_levels(ctx: _Context) -> set[str]:
    """Levels of the flags this turn raised (or raised further)."""
    return {lvl for flag, lvl in ctx.state.raised.items() if ctx.raised.get(flag) != lvl}


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
