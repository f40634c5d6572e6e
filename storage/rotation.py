"""The key check at start-up and `keys rotate`: re-sealing every sealed column with the newest key.

A canary (a known text sealed at the first start) tells at once whether the configured keys
open this database: a wrong key is one clear line at start-up, not a patient stuck later.

`rotate` walks every table with sealed or keyed-hash columns (`storage.policy`) in primary-key
order, one batch per transaction, committed as it goes: a value not sealed with the newest key
(or stored plain before a key was set) is sealed again, a patient's look-up hash is recomputed
from their sealed Telegram id, a session's step key from its sealed state, and an inbox row's
chat hash from its sealed chat id. Re-running it skips what is already current, so an
interrupted rotation is finished by running it again. Hashes of the same people elsewhere
(inbox rows recorded without a chat id, denied-access actors) are renewed through the
old-to-new map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, tuple_, update
from sqlmodel import Session, SQLModel

from storage.database import Database
from storage.policy import POLICY
from storage.sealing import PLAIN, SEALED, Sealer, SealError
from storage.tables import AuditEvent, InboxUpdate, SealCanary

CANARY_TEXT = "intake-bot key check"
HASHED = {  # keyed-hash columns, recomputed from a sealed column of the same row
    "patients": "telegram_id_hash",
    "intake_sessions": "step_key",
    "inbox": "chat_hash",
}
BATCH = 500


@dataclass
class Counts:
    """What a rotation did to one table."""

    rows: int = 0
    resealed: int = 0
    current: int = 0
    hashes: int = 0


def check_key(database: Database, *, allow_plain: bool = False) -> None:
    """Raise SealError (one clear line) unless the configured keys open this database."""
    sealer = database.sealer
    with database.transaction() as tx:
        row = tx.get(SealCanary, 1)
        if row is None:
            tx.add(SealCanary(id=1, value=sealer.seal(CANARY_TEXT)))
            return
    stored = row.value
    if stored.startswith(PLAIN) and sealer.enabled:
        if allow_plain:
            return
        raise SealError(
            "this database was written without INTAKE_ENCRYPTION_KEY: run "
            "`intake-bot keys rotate` once to seal what it holds with the key"
        )
    if stored.startswith(SEALED) and not sealer.enabled:
        raise SealError("this database is encrypted: set INTAKE_ENCRYPTION_KEY to its key")
    try:
        opened = sealer.unseal(stored)
    except SealError:
        opened = None
    if opened != CANARY_TEXT:
        raise SealError(
            "INTAKE_ENCRYPTION_KEY does not open this database (it was sealed with another "
            "key): set the key it was sealed with; during a rotation list the new key first "
            "and the old ones after it"
        )


def rotate(
    database: Database, *, batch: int = BATCH, progress: Callable[[str, Counts], None] | None = None
) -> dict[str, Counts]:
    """Seal every sealed value with the newest key and renew look-up hashes; counts per table."""
    if not database.sealer.enabled:
        raise SealError("keys rotate needs INTAKE_ENCRYPTION_KEY (the new key first)")
    check_key(database, allow_plain=True)
    renewed: dict[int, int] = {}
    report: dict[str, Counts] = {}
    for name, rules in POLICY.items():
        sealed = [column for column, rule in rules.items() if rule.kind == "sealed"]
        if not sealed or name not in SQLModel.metadata.tables:
            continue
        table = SQLModel.metadata.tables[name]
        report[name] = _rotate_table(database, table, sealed, batch, renewed, progress)
    _renew_hashes(database, renewed, report)
    return report


def _rotate_table(
    database: Database,
    table: Table,
    sealed: list[str],
    batch: int,
    renewed: dict[int, int],
    progress: Callable[[str, Counts], None] | None,
) -> Counts:
    counts = Counts()
    keys = list(table.primary_key.columns)
    last: tuple[Any, ...] | None = None
    while True:
        with database.transaction() as tx:
            rows = _batch(tx, table, keys, sealed, last, batch)
            for row in rows:
                _rotate_row(tx, database.sealer, table, keys, sealed, row, counts, renewed)
        if progress is not None and rows:
            progress(table.name, counts)
        if len(rows) < batch:
            return counts
        last = tuple(rows[-1][: len(keys)])


def _batch(
    tx: Session,
    table: Table,
    keys: list[Any],
    sealed: list[str],
    after: tuple[Any, ...] | None,
    size: int,
) -> list[Any]:
    extra = [HASHED[table.name]] if table.name in HASHED else []
    query = select(*keys, *(table.c[c] for c in [*sealed, *extra])).order_by(*keys).limit(size)
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*after))
    if tx.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return list(tx.execute(query))


def _rotate_row(
    tx: Session,
    sealer: Sealer,
    table: Table,
    keys: list[Any],
    sealed: list[str],
    row: Any,
    counts: Counts,
    renewed: dict[int, int],
) -> None:
    counts.rows += 1
    values = dict(zip(sealed, row[len(keys) : len(keys) + len(sealed)], strict=True))
    changes: dict[str, Any] = {}
    for column, stored in values.items():
        if stored is None or sealer.is_current(stored):
            counts.current += stored is not None
            continue
        changes[column] = sealer.reseal(stored)
        counts.resealed += 1
    if table.name == "patients":
        sealed_id = changes.get("telegram_id", values["telegram_id"])
        changes.update(_patient_hash(sealer, sealed_id, row[-1], counts, renewed))
    if table.name == "intake_sessions":
        state = changes.get("state", values["state"])
        changes.update(_step_key(sealer, state, row[-1], counts))
    if table.name == "inbox" and values["chat"] is not None:
        chat = int(sealer.unseal(changes.get("chat", values["chat"])))
        changes.update(_chat_hash(sealer, chat, row[-1], counts))
    if changes:
        where = [key == value for key, value in zip(keys, row[: len(keys)], strict=True)]
        tx.execute(update(table).where(*where).values(**changes))


def _patient_hash(
    sealer: Sealer, sealed_id: str, old: int, counts: Counts, renewed: dict[int, int]
) -> dict[str, Any]:
    """The patient's look-up hash under the newest key (kept records stay detached)."""
    if old < 0:
        return {}
    telegram_id = int(sealer.unseal(sealed_id))
    new = sealer.lookup_hash(telegram_id)
    for candidate in sealer.legacy_lookup_hashes(telegram_id):
        if candidate != new:
            renewed[candidate] = new
    if old == new:
        return {}
    counts.hashes += 1
    return {"telegram_id_hash": new}


def _step_key(sealer: Sealer, sealed_state: str, old: int | None, counts: Counts) -> dict[str, Any]:
    """The session's step key under the newest key (recomputed from its sealed state)."""
    new = sealer.step_key(str(sealer.unseal_json(sealed_state)["step"]))
    if old == new:
        return {}
    counts.hashes += 1
    return {"step_key": new}


def _chat_hash(sealer: Sealer, chat: int, old: int, counts: Counts) -> dict[str, Any]:
    """An inbox row's chat hash under the newest key (recomputed from its sealed chat id)."""
    new = sealer.lookup_hash(chat)
    if old == new:
        return {}
    counts.hashes += 1
    return {"chat_hash": new}


def _renew_hashes(database: Database, renewed: dict[int, int], report: dict[str, Counts]) -> None:
    """Move inbox rows without a chat id and denied-access actors to the patients' new hashes."""
    updates, actors = Counts(), Counts()
    pairs = list(renewed.items())
    for start in range(0, len(pairs), BATCH):
        with database.transaction() as tx:
            for old, new in pairs[start : start + BATCH]:
                updates.hashes += _rowcount(
                    tx.execute(
                        update(InboxUpdate)
                        .where(
                            InboxUpdate.chat_hash == old,  # type: ignore[arg-type]
                            InboxUpdate.chat.is_(None),  # type: ignore[union-attr]
                        )
                        .values(chat_hash=new)
                    )
                )
                actors.hashes += _rowcount(
                    tx.execute(
                        update(AuditEvent)
                        .where(AuditEvent.actor == f"user:{old}")  # type: ignore[arg-type]
                        .values(actor=f"user:{new}")
                    )
                )
    report.setdefault("inbox", Counts()).hashes += updates.hashes
    report.setdefault("audit_events", Counts()).hashes = actors.hashes


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
