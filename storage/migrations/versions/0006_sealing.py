"""seal every health field: session blobs, sealed flags, keyed-hash look-ups, review messages

Revision ID: 0006_sealing
Revises: 0005_scale_indexes
Create Date: 2026-11-28 19:00:00

Answers move into the session's sealed state blob with the current step (the answers table
goes; `stats` counts intakes per step through a keyed hash of the step, `step_key`, which
replaces the step in the covering index; a shared call-back number stays in its own column,
sealed); review items keep an urgency rank and a sealed list
of flags; patients are found by a keyed hash and keep their
Telegram id sealed; inbox rows know their chat by a keyed hash (`chat_id` becomes `chat_hash`)
with the chat id sealed beside it (`chat`), and their payloads are sealed (a payload stored
plain before a key was set is sealed now); flow snapshots are sealed; a canary row checks the
key at start-up. Data
already stored is converted with the sealer `storage.migrate.upgrade` hands over (values that
were plain are sealed now; a key that does not open the stored values stops the upgrade before
anything changes). Erasures left incomplete by the earlier /delete (tombstoned patients) are
completed. Only native ALTER statements are used (SQLite 3.35 or later, PostgreSQL), so the
tables are never rebuilt. There is no downgrade: unsealing needs the key; restore a backup.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
import storage.types
from alembic import op

from storage.sealing import SEALED, Sealer

revision: str = "0006_sealing"
down_revision: str | None = "0005_scale_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANARY_TEXT = "intake-bot key check"  # storage.rotation.CANARY_TEXT at the time of writing


def upgrade() -> None:
    bind = op.get_bind()
    sealer = op.get_context().config.attributes.get("sealer") or Sealer()
    _check_key(bind, sealer)
    _new_tables()
    op.execute("ALTER TABLE patients RENAME COLUMN telegram_user_id TO telegram_id_hash")
    _add("patients", "telegram_id", sqlmodel.sql.sqltypes.AutoString(), default="")
    _add("intake_sessions", "sealed_state", sqlmodel.sql.sqltypes.AutoString(), default="")
    _add("intake_sessions", "step_key", sa.BigInteger())
    _add("review_items", "sealed_flags", sqlmodel.sql.sqltypes.AutoString(), default="")
    _add("review_items", "claimed_name", sqlmodel.sql.sqltypes.AutoString())
    op.execute("ALTER TABLE inbox RENAME COLUMN chat_id TO chat_hash")
    _add("inbox", "chat", sqlmodel.sql.sqltypes.AutoString())
    _add("audit_events", "patient_id", sa.Integer())
    op.create_index("ix_audit_events_patient_id", "audit_events", ["patient_id"])
    _finish_tombstones(bind)
    _convert_patients(bind, sealer)
    _convert_sessions(bind, sealer)
    _convert_items(bind, sealer)
    _convert_rest(bind, sealer)
    _convert_inbox(bind, sealer)
    op.drop_index("ix_sessions_status_step", table_name="intake_sessions")
    for table, column in (
        ("intake_sessions", "current_step"),
        ("intake_sessions", "state"),
        ("intake_sessions", "source"),
        ("review_items", "priority"),
        ("review_items", "red_flags"),
        ("review_items", "review_message_id"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table("answers")
    op.execute("ALTER TABLE intake_sessions RENAME COLUMN sealed_state TO state")
    op.execute("ALTER TABLE review_items RENAME COLUMN sealed_flags TO red_flags")
    op.create_index(
        "ix_sessions_status_step",
        "intake_sessions",
        ["status", "flow_id", "flow_version", "step_key", "updated_at"],
    )
    if bind.dialect.name == "postgresql":
        for table, column in (
            ("patients", "telegram_id"),
            ("intake_sessions", "state"),
            ("review_items", "red_flags"),
        ):
            op.alter_column(table, column, server_default=None)
    canary = sa.table(
        "seal_canary",
        sa.column("id", sa.Integer()),
        sa.column("value", sa.String()),
        sa.column("created_at", storage.types.UTCDateTime()),
    )
    op.bulk_insert(
        canary, [{"id": 1, "value": sealer.seal(CANARY_TEXT), "created_at": datetime.now(UTC)}]
    )


def downgrade() -> None:
    raise NotImplementedError("sealed data cannot be migrated down: restore a backup instead")


# --- schema ----------------------------------------------------------------------------------


def _new_tables() -> None:
    op.create_table(
        "review_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_review_messages_review_item_id", "review_messages", ["review_item_id"], unique=False
    )
    op.create_table(
        "seal_canary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _add(table: str, column: str, type_: Any, *, default: str | None = None) -> None:
    """ADD COLUMN (NOT NULL ones get a default, as SQLite requires, dropped later on PostgreSQL)."""
    nullable = default is None
    server_default = None if default is None else sa.text(f"'{default}'")
    op.add_column(
        table, sa.Column(column, type_, nullable=nullable, server_default=server_default)
    )


# --- data ------------------------------------------------------------------------------------


def _check_key(bind: Any, sealer: Sealer) -> None:
    """Stop before changing anything when stored sealed values do not open with the key."""
    for table, column in (
        ("answers", "value"),
        ("patients", "display_name"),
        ("review_items", "note"),
        ("intake_sessions", "callback_phone"),
    ):
        found = bind.execute(
            sa.text(f"SELECT {column} FROM {table} WHERE {column} LIKE 'f1:%' LIMIT 1")
        ).first()
        if found is not None:
            sealer.unseal(found[0])  # SealError names the problem, never the value


def _finish_tombstones(bind: Any) -> None:
    """Complete erasures the earlier /delete left half done (patient ids made negative)."""
    rows = bind.execute(sa.text("SELECT id FROM patients WHERE telegram_id_hash < 0")).all()
    for (patient_id,) in rows:
        sessions = [
            r[0]
            for r in bind.execute(
                sa.text("SELECT id FROM intake_sessions WHERE patient_id = :p"), {"p": patient_id}
            )
        ]
        for session_id in sessions:
            _erase_session(bind, session_id)
        bind.execute(
            sa.text("UPDATE audit_events SET patient_id = NULL WHERE patient_id = :p"),
            {"p": patient_id},
        )
        bind.execute(sa.text("DELETE FROM patients WHERE id = :p"), {"p": patient_id})


def _erase_session(bind: Any, session_id: int) -> None:
    params = {"s": session_id}
    items = [
        r[0]
        for r in bind.execute(sa.text("SELECT id FROM review_items WHERE session_id = :s"), params)
    ]
    for item_id in items:
        bind.execute(
            sa.text("DELETE FROM outbox WHERE ref_id = :i AND sent_at IS NULL"), {"i": item_id}
        )
        bind.execute(
            sa.text(
                "UPDATE audit_events SET review_item_id = NULL, session_id = NULL "
                "WHERE review_item_id = :i"
            ),
            {"i": item_id},
        )
    bind.execute(sa.text("UPDATE audit_events SET session_id = NULL WHERE session_id = :s"), params)
    bind.execute(sa.text("DELETE FROM review_items WHERE session_id = :s"), params)
    bind.execute(sa.text("DELETE FROM answers WHERE session_id = :s"), params)
    bind.execute(sa.text("DELETE FROM intake_sessions WHERE id = :s"), params)


def _convert_patients(bind: Any, sealer: Sealer) -> None:
    rows = bind.execute(
        sa.text("SELECT id, telegram_id_hash, display_name, username FROM patients")
    ).all()
    for patient_id, telegram_id, name, username in rows:
        bind.execute(
            sa.text(
                "UPDATE patients SET telegram_id_hash = :h, telegram_id = :t, "
                "display_name = :n, username = :u WHERE id = :id"
            ),
            {
                "h": sealer.lookup_hash(telegram_id),
                "t": sealer.seal(str(telegram_id)),
                "n": _sealed(sealer, name),
                "u": _sealed(sealer, username),
                "id": patient_id,
            },
        )
        bind.execute(
            sa.text("UPDATE audit_events SET actor = 'patient', patient_id = :p WHERE actor = :a"),
            {"p": patient_id, "a": f"patient:{telegram_id}"},
        )


def _convert_sessions(bind: Any, sealer: Sealer) -> None:
    rows = bind.execute(
        sa.text("SELECT id, current_step, state, source, callback_phone FROM intake_sessions")
    ).all()
    for session_id, step, state, source, phone in rows:
        answers = {
            step_id: json.loads(_opened(sealer, value))
            for step_id, value in bind.execute(
                sa.text("SELECT step_id, value FROM answers WHERE session_id = :s"),
                {"s": session_id},
            )
        }
        record = json.loads(state) if isinstance(state, str) else dict(state or {})
        blob = {"step": step, "answers": answers, "source": source, **record}
        bind.execute(
            sa.text(
                "UPDATE intake_sessions SET sealed_state = :v, step_key = :k, callback_phone = :p "
                "WHERE id = :id"
            ),
            {
                "v": sealer.seal_json(blob),
                "k": sealer.step_key(step),
                "p": _sealed(sealer, phone),
                "id": session_id,
            },
        )


def _convert_items(bind: Any, sealer: Sealer) -> None:
    rows = bind.execute(sa.text("SELECT id, red_flags, note, claimed_by FROM review_items")).all()
    for item_id, flags, note, claimed_by in rows:
        listed = json.loads(flags) if isinstance(flags, str) else list(flags or [])
        bind.execute(
            sa.text(
                "UPDATE review_items SET sealed_flags = :f, note = :n, claimed_name = :c "
                "WHERE id = :id"
            ),
            {
                "f": sealer.seal_json(listed),
                "n": _sealed(sealer, note),
                "c": claimed_by,
                "id": item_id,
            },
        )


def _convert_rest(bind: Any, sealer: Sealer) -> None:
    rows = bind.execute(sa.text("SELECT flow_id, version, source FROM flow_versions")).all()
    for flow_id, version, source in rows:
        bind.execute(
            sa.text("UPDATE flow_versions SET source = :s WHERE flow_id = :f AND version = :v"),
            {"s": _sealed(sealer, source), "f": flow_id, "v": version},
        )
    denied = bind.execute(
        sa.text("SELECT DISTINCT actor FROM audit_events WHERE actor LIKE 'telegram:%'")
    ).all()
    for (actor,) in denied:
        telegram_id = actor.split(":", 1)[1]
        if telegram_id.lstrip("-").isdigit():
            bind.execute(
                sa.text("UPDATE audit_events SET actor = :new WHERE actor = :old"),
                {"new": f"user:{sealer.lookup_hash(int(telegram_id))}", "old": actor},
            )


def _convert_inbox(bind: Any, sealer: Sealer) -> None:
    rows = bind.execute(sa.text("SELECT update_id, chat_hash, payload FROM inbox")).all()
    for update_id, chat_id, payload in rows:
        bind.execute(
            sa.text("UPDATE inbox SET chat_hash = :h, chat = :c, payload = :p WHERE update_id = :u"),
            {
                "h": sealer.lookup_hash(chat_id),
                "c": sealer.seal(str(chat_id)),
                "p": _sealed(sealer, payload),
                "u": update_id,
            },
        )


def _sealed(sealer: Sealer, value: str | None) -> str | None:
    """A value of a column sealed before this revision (sealed already, or legacy plain)."""
    if value is None or value.startswith(SEALED):
        return value
    return sealer.seal(value)


def _opened(sealer: Sealer, value: str) -> str:
    if value.startswith(SEALED):
        return sealer.unseal(value)
    return value
