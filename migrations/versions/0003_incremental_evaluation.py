"""Incremental evaluation: case_evaluations (facts fingerprint, stable-until date), run mode and count.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:09:20.141552
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('case_evaluations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('evaluated_as_of', sa.Date(), nullable=False),
    sa.Column('stable_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_case_evaluations_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_evaluations'))
    )
    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_case_evaluations_stable_until', ['stable_until'], unique=False)

    with op.batch_alter_table('evaluation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=16), server_default='full', nullable=False))
        batch_op.add_column(sa.Column('evaluated', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('evaluation_runs', schema=None) as batch_op:
        batch_op.drop_column('evaluated')
        batch_op.drop_column('mode')

    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_case_evaluations_stable_until')

    op.drop_table('case_evaluations')
