"""Nightly runs and the escalation outbox: nightly_runs, notices, deliveries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:54:45.759526
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('nightly_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transport', sa.String(length=16), nullable=False),
    sa.Column('evaluation_run_id', sa.Integer(), nullable=True),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('obligations', sa.Integer(), nullable=False),
    sa.Column('notices_due', sa.Integer(), nullable=False),
    sa.Column('notices_created', sa.Integer(), nullable=False),
    sa.Column('notices_existing', sa.Integer(), nullable=False),
    sa.Column('notices_cancelled', sa.Integer(), nullable=False),
    sa.Column('attempted', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('retried', sa.Integer(), nullable=False),
    sa.Column('retrying', sa.Integer(), nullable=False),
    sa.Column('dead', sa.Integer(), nullable=False),
    sa.Column('emails_sent', sa.Integer(), nullable=False),
    sa.Column('emails_failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['evaluation_run_id'], ['evaluation_runs.id'], name=op.f('fk_nightly_runs_evaluation_run_id_evaluation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nightly_runs'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('digest_key', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('notices', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['nightly_runs.id'], name=op.f('fk_deliveries_run_id_nightly_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('fire_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.String(length=400), nullable=False),
    sa.Column('created_run_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_run_id', sa.Integer(), nullable=True),
    sa.Column('digest_key', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['claimed_run_id'], ['nightly_runs.id'], name=op.f('fk_notices_claimed_run_id_nightly_runs')),
    sa.ForeignKeyConstraint(['created_run_id'], ['nightly_runs.id'], name=op.f('fk_notices_created_run_id_nightly_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('case_id', 'rule', 'subject', 'period', 'seq', 'stage', 'repeat', 'role', name=op.f('uq_notices_case_id_rule_subject_period_seq_stage_repeat_role'))
    )
    op.create_index('ix_notices_status_recipient', 'notices', ['status', 'recipient'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notices_status_recipient', table_name='notices')
    op.drop_table('notices')
    op.drop_table('deliveries')
    op.drop_table('nightly_runs')
