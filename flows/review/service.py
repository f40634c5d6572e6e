"""The review service: the clinician queue, transport-neutral (Telegram commands and the CLI).

Every method takes the acting person as `actor` ("clinician:<telegram id>", "cli:<name>") and
writes an audit event (who, what, which item; never answer contents): views, lists, claims,
releases, reviews, reopenings, exports and denied attempts (those rate-limited, see
`flows.review.denials`). A claim records the actor's id (and a name for colleagues); releasing
or reviewing an item another actor claimed needs `force` and is audited as forced. State
changes are atomic (see `storage.queue`); each one owes the review chat an edit of the item's
notice through the outbox and wakes the delivery worker. Messages sent to a clinician's private
chat about an item are remembered (`sent_privately`) so they can be retracted. Methods block:
async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from flows.engine.records.export import csv_rows, export_record, write_csv
from flows.engine.records.record import ReviewRecord
from flows.review.denials import DenialLimiter
from flows.review.records import (
    BadFormat,
    ClaimedByOther,
    FlowLookup,
    ReviewError,
    WrongState,
    load_answers,
    load_item,
    to_record,
)
from storage import messages, queue
from storage.database import Database
from storage.tables import ReviewItem

if TYPE_CHECKING:
    from flows.engine.format.model import Flow

EXPORT_FORMATS = ("json", "csv", "fhir")
BULK_FORMATS = ("json", "csv")
PRIORITIES = tuple(queue.PRIORITY_RANK)


@dataclass(frozen=True, slots=True)
class ItemView:
    """One review item as a clinician reads it: the record, its summary and every answer."""

    record: ReviewRecord
    summary: str
    full_answers: str


class ReviewService:
    """Lists, shows, claims, reviews and exports queued intakes, auditing every access."""

    def __init__(
        self,
        *,
        database: Database,
        flows: FlowLookup,
        notify: Callable[[], None] | None = None,
        denials: DenialLimiter | None = None,
    ) -> None:
        self.database = database
        self.flows = flows
        self.notify = notify or (lambda: None)
        self.denials = denials or DenialLimiter()

    # --- reading -------------------------------------------------------------------------

    def list_items(
        self,
        actor: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[ReviewRecord]:
        """Items most urgent first, then oldest first, optionally filtered (the first `limit`)."""
        _check_filter("status", status, queue.STATUSES)
        _check_filter("priority", priority, PRIORITIES)
        with self.database.transaction() as tx:
            items = queue.list_review_items(
                tx, status=status, priority=priority, since=since, until=until, limit=limit
            )
            queue.audit(tx, actor=actor, action="review.listed", detail=f"{len(items)} items")
            _loaded = queue.preload_context(tx, items=items)  # held while the records are read
            return [to_record(tx, item, self.database.sealer) for item in items]

    def queue(self, actor: str, limit: int | None = None) -> list[ReviewRecord]:
        """The pending items, most urgent first (the first `limit`)."""
        return self.list_items(actor, status="pending", limit=limit)

    def show(self, actor: str, item_id: int) -> ItemView:
        """One item with its summary and full answers (audited as a view)."""
        from flows.engine.records.summary import render_full_answers, render_summary

        with self.database.transaction() as tx:
            item = load_item(tx, item_id)
            record, flow, answers = self._read(tx, item)
            _audit(tx, actor, "review.viewed", item)
        return ItemView(
            record=record,
            summary=render_summary(flow, record, answers),
            full_answers=render_full_answers(flow, record, answers),
        )

    def stats(self, actor: str) -> dict[tuple[str, str], int]:
        """How many items there are per (status, priority)."""
        with self.database.transaction() as tx:
            counts = queue.count_review_items(tx)
            queue.audit(tx, actor=actor, action="review.stats")
            return counts

    def deny(self, actor: str, what: str) -> None:
        """Record that someone outside the allow-list tried a clinician action (rate-limited)."""
        held = self.denials.admit(actor)
        if held is None:
            return
        detail = what[:60] + (f" (+{held} more)" if held else "")
        with self.database.transaction() as tx:
            queue.audit(tx, actor=actor, action="access.denied", detail=detail)

    def deny_user(self, telegram_id: int, what: str) -> None:
        """`deny` for a Telegram user, named by a keyed hash of their id (erased on /delete)."""
        self.deny(f"user:{self.database.sealer.lookup_hash(telegram_id)}", what)

    def sent_privately(self, item_id: int, chat_id: int, message_ids: list[int], kind: str) -> None:
        """Remember messages sent to a clinician about an item (retracted with it later)."""
        with self.database.transaction() as tx:
            rows = [
                messages.remember_message(
                    tx, item_id=item_id, chat_id=chat_id, message_id=m, kind=kind
                )
                for m in message_ids
            ]
            erased = queue.get_review_item(tx, item_id=item_id) is None  # while it was sent
            for row in rows if erased else []:
                queue.enqueue(tx, topic=messages.RETRACT, ref_id=row.id or 0)
        if erased:
            self.notify()

    # --- changing ------------------------------------------------------------------------

    def claim(self, actor: str, item_id: int, *, name: str) -> ReviewRecord:
        """Claim a pending item for `actor` (shown as `name`); WrongState when it is taken."""
        return self._change(
            actor,
            item_id,
            "claim",
            lambda tx: queue.claim_item(tx, item_id=item_id, by=actor, name=name),
        )

    def claim_next(self, actor: str, *, name: str) -> ReviewRecord | None:
        """Claim the most urgent, oldest pending item; None when the queue is empty."""
        with self.database.transaction() as tx:
            item_id = queue.claim_next(tx, by=actor, name=name)
            if item_id is None:
                return None
            item = load_item(tx, item_id)
            _audit(tx, actor, "review.claimed", item, "next")
            queue.enqueue(tx, topic="review_update", ref_id=item_id)
            record = to_record(tx, item, self.database.sealer)
        self.notify()
        return record

    def release(self, actor: str, item_id: int, *, force: bool = False) -> ReviewRecord:
        """Put an item back in the queue (another actor's claim only with `force`)."""
        return self._change(
            actor,
            item_id,
            "release",
            lambda tx: queue.release_item(tx, item_id=item_id, by=actor, force=force),
            force=force,
        )

    def done(
        self, actor: str, item_id: int, *, name: str, note: str | None, force: bool = False
    ) -> ReviewRecord:
        """Mark an item reviewed, with an optional note (sealed at rest); another actor's
        claim only with `force`."""
        sealed = self.database.sealer.seal_optional(note or None)
        return self._change(
            actor,
            item_id,
            "review",
            lambda tx: queue.mark_reviewed(
                tx, item_id=item_id, by=actor, name=name, note=sealed, force=force
            ),
            force=force,
        )

    def reopen(self, actor: str, item_id: int) -> ReviewRecord:
        """Send a reviewed item back to the queue."""
        return self._change(
            actor, item_id, "reopen", lambda tx: queue.reopen_item(tx, item_id=item_id)
        )

    # --- exporting -----------------------------------------------------------------------

    def export(self, actor: str, item_id: int, fmt: str) -> str:
        """One item as JSON, CSV or a FHIR Bundle (Questionnaire + QuestionnaireResponse)."""
        if fmt not in EXPORT_FORMATS:
            raise BadFormat(fmt, EXPORT_FORMATS)
        with self.database.transaction() as tx:
            item = load_item(tx, item_id)
            record, flow, answers = self._read(tx, item)
            _audit(tx, actor, "review.exported", item, fmt)
        if fmt == "fhir":  # the FHIR models take a while to import: only when asked
            from flows.engine.records.fhir import build_bundle, to_json

            return to_json(build_bundle(flow, record, answers))
        if fmt == "csv":
            return write_csv(csv_rows(flow, record, answers))
        return json.dumps(export_record(flow, record, answers), indent=2, ensure_ascii=False)

    def export_all(self, actor: str, fmt: str, *, status: str | None = None) -> str:
        """Every item (or those with `status`) as one JSON list or one CSV table."""
        if fmt not in BULK_FORMATS:
            raise BadFormat(fmt, BULK_FORMATS)
        _check_filter("status", status, queue.STATUSES)
        records, rows = [], []
        with self.database.transaction() as tx:
            for item in queue.list_review_items(tx, status=status):
                record, flow, answers = self._read(tx, item)
                _audit(tx, actor, "review.exported", item, fmt)
                records.append(export_record(flow, record, answers))
                rows.extend(csv_rows(flow, record, answers))
        if fmt == "csv":
            return write_csv(rows)
        return json.dumps(records, indent=2, ensure_ascii=False)

    # --- internals -----------------------------------------------------------------------

    def _read(self, tx: Session, item: ReviewItem) -> tuple[ReviewRecord, Flow, dict[str, object]]:
        record = to_record(tx, item, self.database.sealer)
        try:
            flow = self.flows(record.flow_id, record.flow_version)
        except LookupError as exc:
            raise ReviewError(
                f"the flow of review item #{record.item_id} ({record.flow_id} "
                f"v{record.flow_version}) is not stored"
            ) from exc
        return record, flow, load_answers(tx, item, self.database.sealer)

    def _change(
        self,
        actor: str,
        item_id: int,
        verb: str,
        apply: Callable[[Session], bool],
        *,
        force: bool = False,
    ) -> ReviewRecord:
        with self.database.transaction() as tx:
            before = load_item(tx, item_id)
            other = before.claimed_by if before.status == "claimed" else None
            forced = force and other is not None and other != actor
            changed = apply(tx)
            item = load_item(tx, item_id)
            if changed:
                _audit(tx, actor, _past(verb), item, f"forced over {other}" if forced else None)
                queue.enqueue(tx, topic="review_update", ref_id=item_id)
                record = to_record(tx, item, self.database.sealer)
            else:
                _audit(tx, actor, f"review.{verb}_refused", item, item.status)
        if not changed:
            who = item.claimed_name or item.claimed_by
            if item.status == "claimed" and item.claimed_by != actor and verb != "claim":
                raise ClaimedByOther(item_id, verb, who)
            raise WrongState(item_id, verb, item.status, who)
        self.notify()
        return record


_PAST = {"claim": "claimed", "release": "released", "review": "reviewed", "reopen": "reopened"}


def _past(verb: str) -> str:
    return f"review.{_PAST[verb]}"


def _audit(
    tx: Session, actor: str, action: str, item: ReviewItem, detail: str | None = None
) -> None:
    queue.audit(
        tx,
        actor=actor,
        action=action,
        review_item_id=item.id,
        session_id=item.session_id,
        detail=detail,
    )


def _check_filter(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ReviewError(f"unknown {name} '{value}' (use one of: {', '.join(allowed)})")
