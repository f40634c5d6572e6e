"""scale indexes: review items in list order (most urgent, then oldest) for the first page

Revision ID: 0005_scale_indexes
Revises: 0004_inbox
Create Date: 2026-11-28 22:30:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0005_scale_indexes'
down_revision: str | None = '0004_inbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index('ix_review_order', ['priority_rank', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index('ix_review_order')
