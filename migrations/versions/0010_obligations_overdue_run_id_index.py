"""Obligations: the index on ``run_id`` becomes a partial one on the overdue rows.

A night's escalation reads the overdue obligations that changed since the last night
that derived notices: ``status = 'overdue' AND run_id > N``. With the index on
``run_id`` alone, SQLite (which keeps no statistics of a table written after its last
``ANALYZE``) preferred ``ix_obligations_status_due_on`` for the equality on ``status``
and read every overdue obligation ever recorded to find the few that changed: at a
million cases 750,000 rows and 0.57 s of a 2.3 s night, for none.

The new index answers the whole condition on either database: ``status`` is in it so
that SQLite sees the equality, and it holds only the overdue rows so that PostgreSQL
cannot take it for the open obligations due soon (an index on ``(status, run_id)`` for
every row was its pick for ``status = 'open' AND due_on <= …``: its statistics cannot
tell that the open ones are the ones due soon, and it read all 130,000 open ones
instead of the 7,000 due soon through ``ix_obligations_status_due_on``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 16:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OVERDUE = sa.text("status = 'overdue'")


def upgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_run_id')
        batch_op.create_index('ix_obligations_overdue_run_id', ['status', 'run_id'], unique=False,
                              sqlite_where=OVERDUE, postgresql_where=OVERDUE)


def downgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_overdue_run_id')
        batch_op.create_index('ix_obligations_run_id', ['run_id'], unique=False)
