"""What Telegram is owed about review items: notices to send or edit, messages to retract.

Transport-neutral: `ReviewOutbox.due` renders each due row as a `Delivery` (send a notice,
edit the one already in the review chat, retract a message, or skip), the delivery worker in
`bot.telegram` carries it out and reports back with `delivered` or `failed`. All state is in
the database, so a restart resumes where it stopped. Failed attempts wait `backoff(attempts)`:
exponential, capped; a `retry_after` from Telegram is honoured as a floor. Emergency items are
handed out first. Each row handed out is leased (its next try moved `LEASE_SECONDS` ahead in
the same conditional update that checks it is still due), so several bot instances sharing
one database never deliver the same row twice at once.

The review chat gets a content-free notice (`flows.engine.records.notice`) unless the clinic
chose full cards (`full_cards`: the clinician summary, in a closed group). Notices are
rendered when they are sent, so a late one already shows the item's current status. A
`review_raised` row (an item's priority rose to same-day or emergency) always sends a new
notice, which then becomes the one later edits go to. A `retract` row (owed when the patient
deletes their data, or retention purges the item) edits every notice to say the intake was
withdrawn and deletes a clinician's private message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from flows.engine.records.notice import (
    RETRACTED_TEXT,
    WITHDRAWN_TEXT,
    NoticeFacts,
    notice_text,
)
from flows.engine.records.record import priority_words
from flows.engine.records.summary import card_text, render_summary
from flows.review.records import FlowLookup, intake_status, load_answers, to_record
from storage import messages, queue
from storage import outbox as outbox_rows
from storage.database import Database
from storage.sealing import SealError
from storage.tables import IntakeSession, OutboxMessage, ReviewItem, utcnow

log = logging.getLogger(__name__)
BACKOFF_BASE = 2.0  # seconds before the first retry
BACKOFF_CAP = 300.0  # never wait longer than this between attempts (unless Telegram asks)
LEASE_SECONDS = 30.0  # a row handed out is another worker's again after this (a crash mid-send)
NOTICE_BUTTONS = {"pending": ("open", "claim"), "claimed": ("open", "done"), "reviewed": ("open",)}
CARD_BUTTONS = {"pending": ("claim", "full"), "claimed": ("done", "full"), "reviewed": ("full",)}
PRIVATE_BUTTONS = CARD_BUTTONS  # a summary in a clinician's private chat
FALLBACK_TEXT = (
    "{priority} · review #{id}\nThe summary could not be rendered ({reason}): "
    "ask an operator to check the flow files and the encryption key."
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One thing to do on Telegram: `send` or `edit` a notice, `delete` a message, or `skip`."""

    row_id: int
    topic: str
    item_id: int
    attempts: int
    kind: str  # send, edit, delete, skip
    text: str = ""
    buttons: tuple[str, ...] = ()  # open, claim, done, full
    message_id: int | None = None
    chat_id: int | None = None  # None: the review chat
    priority: str = "routine"
    message_row: int | None = None  # the remembered message a retraction is about


def backoff(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after `attempts` failed attempts: base, 2 x base, 4 x base ... cap."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


class ReviewOutbox:
    """Hands due outbox rows to the delivery worker and records what became of them."""

    def __init__(
        self,
        *,
        database: Database,
        flows: FlowLookup,
        full_cards: bool = False,
        base: float = BACKOFF_BASE,
        cap: float = BACKOFF_CAP,
    ) -> None:
        self.database = database
        self.flows = flows
        self.full_cards = full_cards
        self.base, self.cap = base, cap

    def due(self, limit: int = 20) -> list[Delivery]:
        """The rows due now, leased to this worker and rendered, emergencies first."""
        now = utcnow()
        until = now + timedelta(seconds=LEASE_SECONDS)
        with self.database.transaction() as tx:
            rows = outbox_rows.due_outbox(tx, now=now, limit=limit)
            leased = [
                r for r in rows if outbox_rows.lease_outbox(tx, row_id=_id(r), now=now, until=until)
            ]
            deliveries = [self._render(tx, row, now) for row in leased]
        return sorted(deliveries, key=lambda d: queue.PRIORITY_RANK.get(d.priority, 9))

    def seconds_to_next(self) -> float | None:
        """Seconds until the next unsent row is due (0 when overdue), or None when none is."""
        with self.database.transaction() as tx:
            at = outbox_rows.next_outbox_time(tx)
        return None if at is None else max(0.0, (at - utcnow()).total_seconds())

    def delivered(
        self, delivery: Delivery, message_id: int | None = None, chat_id: int | None = None
    ) -> None:
        """Record a row as done; a sent notice is remembered (to edit or retract it later)."""
        with self.database.transaction() as tx:
            outbox_rows.mark_sent(tx, row_id=delivery.row_id)
            if delivery.kind == "send" and message_id is not None and chat_id is not None:
                _remember_notice(tx, delivery.item_id, chat_id, message_id)
            if delivery.topic == messages.RETRACT and delivery.message_row is not None:
                messages.forget_message(tx, row_id=delivery.message_row)
            if delivery.kind != "skip":
                retracted = delivery.topic == messages.RETRACT
                queue.audit(
                    tx,
                    actor="system",
                    action=f"review.{delivery.topic}.delivered",
                    review_item_id=None if retracted else delivery.item_id,
                    detail=delivery.kind,
                )

    def failed(self, delivery: Delivery, error: str, retry_after: float | None = None) -> datetime:
        """Record a failed attempt (error class or API description only); when to try again."""
        wait = backoff(delivery.attempts + 1, base=self.base, cap=self.cap)
        if retry_after is not None:
            wait = max(wait, retry_after)
        at = utcnow() + timedelta(seconds=wait)
        with self.database.transaction() as tx:
            outbox_rows.mark_failed(tx, row_id=delivery.row_id, error=error, next_try_at=at)
        return at

    def _render(self, tx: Session, row: OutboxMessage, now: datetime) -> Delivery:
        assert row.id is not None
        skip = Delivery(row.id, row.topic, row.ref_id, row.attempts, kind="skip")
        if row.topic == messages.RETRACT:
            return _retraction(tx, skip)
        item = queue.get_review_item(tx, item_id=row.ref_id)
        if item is None:
            return skip
        notices = messages.item_messages(tx, item_id=row.ref_id, kind=messages.NOTICE)
        shown = notices[-1] if notices else None
        skip = replace(skip, priority=queue.priority_of(item))
        if shown is not None:
            skip = replace(skip, message_id=shown.message_id, chat_id=shown.chat_id)
        if item.status == "withdrawn":
            if shown is None:
                return skip
            return replace(skip, kind="edit", text=WITHDRAWN_TEXT.format(id=item.id))
        if row.topic != "review_item" and shown is None:
            return skip  # the notice, when it goes, shows the current state
        fresh = shown is None or row.topic == "review_raised"
        buttons = CARD_BUTTONS if self.full_cards else NOTICE_BUTTONS
        return replace(
            skip,
            kind="send" if fresh else "edit",
            text=self._card(tx, item) if self.full_cards else notice_text(_facts(tx, item), now),
            buttons=buttons.get(item.status, ()),
        )

    def _card(self, tx: Session, item: ReviewItem) -> str:
        try:
            record = to_record(tx, item, self.database.sealer)
            flow = self.flows(record.flow_id, record.flow_version)
            answers = load_answers(tx, item, self.database.sealer)
        except (LookupError, SealError) as exc:  # one unreadable item must not block the rest
            log.error("review card %s not rendered: %s", item.id, type(exc).__name__)
            return FALLBACK_TEXT.format(
                priority=priority_words(queue.priority_of(item)),
                id=item.id,
                reason=type(exc).__name__,
            )
        return card_text(render_summary(flow, record, answers))


def _retraction(tx: Session, skip: Delivery) -> Delivery:
    """A retract row: edit a notice to 'withdrawn', delete a private message."""
    shown = messages.message_row(tx, row_id=skip.item_id)
    if shown is None:
        return skip
    common = replace(
        skip,
        item_id=shown.review_item_id,
        message_id=shown.message_id,
        chat_id=shown.chat_id,
        message_row=shown.id,
    )
    if shown.kind == messages.NOTICE:
        return replace(common, kind="edit", text=WITHDRAWN_TEXT.format(id=shown.review_item_id))
    return replace(common, kind="delete", text=RETRACTED_TEXT)


def _remember_notice(tx: Session, item_id: int, chat_id: int, message_id: int) -> None:
    """Keep a sent notice; one whose item was erased meanwhile is retracted at once."""
    row = messages.remember_message(
        tx, item_id=item_id, chat_id=chat_id, message_id=message_id, kind=messages.NOTICE
    )
    if queue.get_review_item(tx, item_id=item_id) is None and row.id is not None:
        queue.enqueue(tx, topic=messages.RETRACT, ref_id=row.id)


def _facts(tx: Session, item: ReviewItem) -> NoticeFacts:
    assert item.id is not None
    intake = tx.get(IntakeSession, item.session_id)
    return NoticeFacts(
        item_id=item.id,
        intake=intake_status(intake.status) if intake is not None else None,
        priority=queue.priority_of(item),
        status=item.status,
        queued_at=item.created_at,
        claimer=item.claimed_name or item.claimed_by,
        claimed_at=item.claimed_at,
        reviewed_at=item.reviewed_at,
    )


def _id(row: OutboxMessage) -> int:
    assert row.id is not None
    return row.id


class Wakeup:
    """A thread-safe nudge for the delivery worker: `notify` from any thread, `wait` in its loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> None:
        """Attach to the running event loop (the worker calls this when it starts)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake the worker now; does nothing before it started or after its loop closed."""
        loop, event = self._loop, self._event
        if loop is None or event is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # the loop closed between the check and the call
            return

    async def wait(self, timeout: float) -> bool:
        """Sleep until notified or `timeout` seconds pass; True when notified."""
        if self._event is None:
            self.bind()
        assert self._event is not None
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True
