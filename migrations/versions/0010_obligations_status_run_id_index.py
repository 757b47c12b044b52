"""Obligations: the index on ``run_id`` becomes one on ``(status, run_id)``.

A night's escalation reads the overdue obligations that changed since the last night
that derived notices: ``status = 'overdue' AND run_id > N``. With the index on
``run_id`` alone, SQLite (which keeps no statistics of a table written after its last
``ANALYZE``) preferred ``ix_obligations_status_due_on`` for the equality on ``status``
and read every overdue obligation ever recorded to find the few that changed: at a
million cases 750,000 rows and 0.57 s of a 2.3 s night, for none. An index on both
columns answers the whole condition, on either database, and costs a written row no
more than the one it replaces.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 16:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_run_id')
        batch_op.create_index('ix_obligations_status_run_id', ['status', 'run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_status_run_id')
        batch_op.create_index('ix_obligations_run_id', ['run_id'], unique=False)
