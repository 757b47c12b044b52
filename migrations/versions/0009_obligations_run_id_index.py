"""Obligations get an index on ``run_id``.

A night's escalation reads the overdue obligations that changed since the last night
that derived notices (``run_id`` later than that night's evaluation run), besides those
whose ladder has not ended, instead of every overdue obligation ever recorded (at a
million cases, 750,000 a night). An incremental run writes only new and changed rows,
so those are the rows with a later ``run_id``; a new row's entry goes to the end of
the index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 14:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_run_id', ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_run_id')
