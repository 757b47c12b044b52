"""Obligations lose their index on ``due_on`` alone.

Every query that reads obligations by due date also names their status (escalation:
overdue, or open and due by the horizon; breaches: late or overdue; the demo's
summary), so no query needs an index on ``due_on`` alone: at a million cases the
escalation and breach queries scan the table (most stored obligations are overdue or
late) and the open ones due soon are found with ``ix_obligations_status_due_on``.
Yet every run paid for it: each obligation a run writes was one more B-tree insert,
at a million cases 1.3 million in a full run and 20,000 in a repeated night.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 12:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_due_on')


def downgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_due_on', ['due_on'], unique=False)
