"""An index on notices.digest_key: sending and recording a digest part finds its rows by key.

Without it, each of a recipient's parts was found by scanning every claimed row of that
recipient, so a first night with 1,500 parts for one barnevernsjef did quadratic work.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_notices_digest_key', 'notices', ['digest_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notices_digest_key', table_name='notices')
