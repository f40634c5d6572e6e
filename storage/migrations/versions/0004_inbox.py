"""inbox of received updates, the bot instances holding them; one active intake per patient

Revision ID: 0004_inbox
Revises: 0003_callback_phone
Create Date: 2026-11-26 09:00:00

The durable inbox replaces `processed_updates` (its rows are the processed update ids now).
Before the unique index on active intakes is built, any patient with several active intakes
(possible before, when two instances raced) keeps the newest; the older ones become
`abandoned`, which the idle sweeper would have made of them anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import storage.types
from alembic import op


revision: str = '0004_inbox'
down_revision: str | None = '0003_callback_phone'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id')
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_pending_chat', ['chat_id', 'update_id'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_inbox_pending_received', ['received_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table('bot_instances',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.drop_table('processed_updates')
    op.execute(
        "UPDATE intake_sessions SET status = 'abandoned', ended_at = updated_at "
        "WHERE status = 'active' AND id NOT IN "
        "(SELECT MAX(id) FROM intake_sessions WHERE status = 'active' GROUP BY patient_id)"
    )
    with op.batch_alter_table('intake_sessions', schema=None) as batch_op:
        batch_op.create_index('ux_sessions_one_active', ['patient_id'], unique=True,
                              sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    with op.batch_alter_table('intake_sessions', schema=None) as batch_op:
        batch_op.drop_index('ux_sessions_one_active')
    op.create_table('processed_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id')
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_pending_received')
        batch_op.drop_index('ix_inbox_pending_chat')
    op.drop_table('inbox')
    op.drop_table('bot_instances')
