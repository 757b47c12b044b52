"""Leaner obligations (no explanation, no basis); notices numbered from the first one; digests in parts.

* ``obligations.explanation`` is dropped: nothing reads it (reports re-evaluate, the
  core is pure and deterministic), and it was the largest column.
* ``obligations.basis`` is dropped: it is per rule version, so it is taken from the
  rule set by ``(rule, rule_version)`` where it is needed.
* ``notices.ordinal``: 1 for the first notice of an obligation and stage to a role,
  2 for the next, … (an old breach's first notice is a first notice, whatever its
  ``repeat``). Existing rows keep what they showed so far (``repeat + 1``).
* ``notices.digest_part`` / ``digest_parts``: the part of a recipient's digest a
  claimed notice goes out in ("del 2 av 7"), so a resend after a crash is the same part.

Downgrade: the two obligation columns come back empty, and ``case_evaluations`` is
emptied so that the next nightly run re-evaluates every case and fills them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_column('explanation')
        batch_op.drop_column('basis')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordinal', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('digest_part', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('digest_parts', sa.Integer(), nullable=True))
    op.execute(sa.text('UPDATE notices SET ordinal = "repeat" + 1'))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('ordinal', existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('digest_parts')
        batch_op.drop_column('digest_part')
        batch_op.drop_column('ordinal')

    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sa.String(length=400), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('explanation', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.alter_column('basis', existing_type=sa.String(length=400), server_default=None)
        batch_op.alter_column('explanation', existing_type=sa.Text(), server_default=None)
    op.execute(sa.text('DELETE FROM case_evaluations'))
