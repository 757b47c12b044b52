"""Core schema: case facts, evaluation runs, obligations and breach reasons.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 22:46:47.607151
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('breach_reasons',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('action', sa.Text(), nullable=True),
    sa.Column('explained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('explained_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'rule', 'subject', 'period', 'seq', name=op.f('pk_breach_reasons'))
    )
    op.create_table('cases',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('aftercare_assessed_on', sa.Date(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_cases'))
    )
    op.create_table('evaluation_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rules_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('obligations', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('open', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_runs'))
    )
    op.create_table('care_orders',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('implemented_on', sa.Date(), nullable=True),
    sa.Column('care_plan_made_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_care_orders_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_care_orders'))
    )
    op.create_table('emergency_decisions',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('petition_sent_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_emergency_decisions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_emergency_decisions'))
    )
    op.create_table('investigations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('conclusion', sa.String(length=32), nullable=True),
    sa.Column('review_after_closing', sa.Boolean(), nullable=False),
    sa.Column('reviewed_after_closing_on', sa.Date(), nullable=True),
    sa.Column('extension_requested_on', sa.Date(), nullable=True),
    sa.Column('extension_granted', sa.Boolean(), nullable=True),
    sa.Column('extension_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_investigations_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_investigations'))
    )
    op.create_table('measures',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('plan_made_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_measures_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_measures'))
    )
    op.create_table('obligations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('required', sa.Integer(), nullable=True),
    sa.Column('done', sa.Integer(), nullable=True),
    sa.Column('rule_version', sa.String(length=32), nullable=False),
    sa.Column('anchor_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.String(length=400), nullable=False),
    sa.Column('confidence', sa.String(length=1), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('extension_requested_on', sa.Date(), nullable=True),
    sa.Column('extension_granted', sa.Boolean(), nullable=True),
    sa.Column('extension_reason', sa.String(length=32), nullable=True),
    sa.Column('extension_applied', sa.Boolean(), nullable=True),
    sa.Column('reduction_decided_on', sa.Date(), nullable=True),
    sa.Column('reduction_applied', sa.Boolean(), nullable=True),
    sa.Column('reduction_note', sa.Text(), nullable=True),
    sa.Column('responsible', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['evaluation_runs.id'], name=op.f('fk_obligations_run_id_evaluation_runs')),
    sa.PrimaryKeyConstraint('case_id', 'rule', 'subject', 'period', 'seq', name=op.f('pk_obligations'))
    )
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_due_on', ['due_on'], unique=False)
        batch_op.create_index('ix_obligations_status_due_on', ['status', 'due_on'], unique=False)

    op.create_table('placements',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('followup_reduced_on', sa.Date(), nullable=True),
    sa.Column('supervision_reduced_on', sa.Date(), nullable=True),
    sa.Column('supervision_municipality', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_placements_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_placements'))
    )
    op.create_table('referrals',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('conclusion', sa.String(length=32), nullable=True),
    sa.Column('feedback_sent_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_referrals'))
    )
    op.create_table('measure_evaluations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('measure_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('evaluated_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['case_id', 'measure_id'], ['measures.case_id', 'measures.id'], name=op.f('fk_measure_evaluations_case_id_measures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'measure_id', 'seq', name=op.f('pk_measure_evaluations'))
    )
    op.create_table('placement_visits',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('placement_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['case_id', 'placement_id'], ['placements.case_id', 'placements.id'], name=op.f('fk_placement_visits_case_id_placements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'placement_id', 'kind', 'seq', name=op.f('pk_placement_visits'))
    )


def downgrade() -> None:
    op.drop_table('placement_visits')
    op.drop_table('measure_evaluations')
    op.drop_table('referrals')
    op.drop_table('placements')
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_status_due_on')
        batch_op.drop_index('ix_obligations_due_on')

    op.drop_table('obligations')
    op.drop_table('measures')
    op.drop_table('investigations')
    op.drop_table('emergency_decisions')
    op.drop_table('care_orders')
    op.drop_table('evaluation_runs')
    op.drop_table('cases')
    op.drop_table('breach_reasons')
