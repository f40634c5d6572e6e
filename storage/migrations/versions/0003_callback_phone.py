"""callback phone on intake sessions (sealed; shared by the patient at urgent levels)

Revision ID: 0003_callback_phone
Revises: 0002_analytics
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003_callback_phone'
down_revision: str | None = '0002_analytics'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('intake_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callback_phone', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('intake_sessions', schema=None) as batch_op:
        batch_op.drop_column('callback_phone')
