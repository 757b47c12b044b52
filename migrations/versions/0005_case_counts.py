"""Per-case obligation counts in case_evaluations (met obligations are no longer stored).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUSES = ("met", "late", "open", "overdue")


def upgrade() -> None:
    # Existing rows have no counts: drop them, so the next run evaluates every case
    # again (an incremental run re-evaluates cases without a row).
    op.execute("DELETE FROM case_evaluations")
    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        for name in STATUSES:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        for name in reversed(STATUSES):
            batch_op.drop_column(name)
