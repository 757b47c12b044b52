"""Nightly runs record the fingerprint of the ladder and recipients they derived with.

A night derives the notices of the obligations that have not changed since the last
night only for the stages that fell due after that night's as-of date, counting the
earlier ones as created, when both nights derived with the same ladder and recipients
(:func:`frister.escalation.derive.config_fingerprint`). Runs recorded before this
revision have none, and the next night reads every notice it may need, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 18:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('nightly_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nightly_runs', schema=None) as batch_op:
        batch_op.drop_column('config_fingerprint')
