"""The baseline schema: case facts, evaluation results, the outbox and the run records.

Nothing was released before it, so the earlier migrations were squashed into this one.
The fact tables follow the vocabulary (``frister.store.tables``); a list of dates is a
text column of ``YYYY-MM-DD`` dates joined by commas. Triggers on ``cases`` log every
inserted, updated or deleted case in ``case_changes``, whoever writes, so that a night
re-evaluates exactly the cases that changed.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 09:29:43
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


EVENTS = ("insert", "update", "delete")

# SQLite: row triggers. An update logs the old and the new id (they differ only if
# the key itself changed).
SQLITE_TRIGGERS = {
    "insert": "INSERT INTO case_changes (case_id) VALUES (NEW.case_id);",
    "update": "INSERT INTO case_changes (case_id) VALUES (OLD.case_id); "
              "INSERT INTO case_changes (case_id) SELECT NEW.case_id WHERE NEW.case_id <> OLD.case_id;",
    "delete": "INSERT INTO case_changes (case_id) VALUES (OLD.case_id);",
}

# PostgreSQL: statement triggers with transition tables, one INSERT … SELECT per
# statement (a COPY of a million cases logs them in one go).
PG_FUNCTION = """
CREATE FUNCTION frister_log_case_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO case_changes (case_id) SELECT case_id FROM old_cases;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_changes (case_id) SELECT case_id FROM new_cases;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO case_changes (case_id)
        SELECT n.case_id FROM new_cases n WHERE NOT EXISTS (SELECT 1 FROM old_cases o WHERE o.case_id = n.case_id);
    END IF;
    RETURN NULL;
END
$$
"""
PG_TRANSITIONS = {
    "insert": "NEW TABLE AS new_cases",
    "update": "OLD TABLE AS old_cases NEW TABLE AS new_cases",
    "delete": "OLD TABLE AS old_cases",
}


def _create_case_change_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for event in EVENTS:
        if dialect == "sqlite":
            op.execute(f"CREATE TRIGGER case_changes_{event} AFTER {event.upper()} ON cases "
                       f"FOR EACH ROW BEGIN {SQLITE_TRIGGERS[event]} END")
        elif dialect == "postgresql":
            op.execute(f"CREATE TRIGGER case_changes_{event} AFTER {event.upper()} ON cases "
                       f"REFERENCING {PG_TRANSITIONS[event]} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION frister_log_case_changes()")
        else:
            raise NotImplementedError(f"case change triggers are not written for {dialect}")


def upgrade() -> None:
    op.create_table('breach_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('action', sa.Text(), nullable=True),
    sa.Column('decision', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_history'))
    )
    op.create_index('ix_breach_history_key', 'breach_history', ['case_id', 'rule', 'subject', 'period', 'seq'], unique=False)
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
    sa.Column('decision', sa.String(length=32), nullable=True),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('follow_up_by', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'rule', 'subject', 'period', 'seq', name=op.f('pk_breach_reasons'))
    )
    op.create_table('acknowledgements',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'rule', 'subject', 'period', 'seq', 'stage', name=op.f('pk_acknowledgements'))
    )
    op.create_table('case_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_changes'))
    )
    op.create_table('case_evaluations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('evaluated_as_of', sa.Date(), nullable=False),
    sa.Column('stable_until', sa.Date(), nullable=True),
    sa.Column('met', sa.Integer(), server_default='0', nullable=False),
    sa.Column('late', sa.Integer(), server_default='0', nullable=False),
    sa.Column('open', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overdue', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_evaluated', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_evaluations'))
    )
    op.create_index('ix_case_evaluations_stable_until', 'case_evaluations', ['stable_until'], unique=False)

    op.create_table('cases',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('municipality', sa.String(length=64), nullable=True),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('child_birth_date', sa.Date(), nullable=True),
    sa.Column('aftercare_assessed_on', sa.Date(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_cases'))
    )
    _create_case_change_triggers()
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
    sa.Column('not_evaluated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('mode', sa.String(length=16), server_default='full', nullable=False),
    sa.Column('evaluated', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_runs'))
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
    sa.Column('municipality', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('required', sa.Integer(), nullable=True),
    sa.Column('done', sa.Integer(), nullable=True),
    sa.Column('rule_version', sa.String(length=32), nullable=False),
    sa.Column('anchor_on', sa.Date(), nullable=False),
    sa.Column('confidence', sa.String(length=1), nullable=False),
    sa.Column('extension_requested_on', sa.Date(), nullable=True),
    sa.Column('extension_granted', sa.Boolean(), nullable=True),
    sa.Column('extension_reason', sa.String(length=32), nullable=True),
    sa.Column('extension_applied', sa.Boolean(), nullable=True),
    sa.Column('reduction_decided_on', sa.Date(), nullable=True),
    sa.Column('reduction_applied', sa.Boolean(), nullable=True),
    sa.Column('reduction_note', sa.Text(), nullable=True),
    sa.Column('responsible', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'rule', 'subject', 'period', 'seq', name=op.f('pk_obligations'))
    )
    op.create_index('ix_obligations_overdue_run_id', 'obligations', ['status', 'run_id'], unique=False,
                    sqlite_where=sa.text("status = 'overdue'"), postgresql_where=sa.text("status = 'overdue'"))
    op.create_index('ix_obligations_status_due_on', 'obligations', ['status', 'due_on'], unique=False)
    op.create_index('ix_obligations_unit_status_due_on', 'obligations', ['unit', 'status', 'due_on'], unique=False)

    op.create_table('register_snapshots',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('previous_id', sa.String(length=36), nullable=True),
    sa.Column('extracted_at', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_register_snapshots'))
    )
    op.create_table('sources',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('extracted_on', sa.Date(), nullable=True),
    sa.Column('complete_from', sa.Date(), nullable=True),
    sa.Column('not_delivered', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sources'))
    )
    op.create_table('care_orders',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('implemented_on', sa.Date(), nullable=True),
    sa.Column('care_plan_made_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_care_orders_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_care_orders'))
    )
    op.create_table('emergency_decisions',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('petition_sent_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_emergency_decisions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_emergency_decisions'))
    )
    op.create_table('investigations',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('referral_id', sa.String(length=64), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('extension_requested_on', sa.Date(), nullable=True),
    sa.Column('extension_granted', sa.Boolean(), nullable=True),
    sa.Column('extension_reason', sa.String(length=32), nullable=True),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('conclusion', sa.String(length=32), nullable=True),
    sa.Column('review_after_closing', sa.Boolean(), nullable=True),
    sa.Column('reviewed_after_closing_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_investigations_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_investigations'))
    )
    op.create_table('measures',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('plan_made_on', sa.Date(), nullable=True),
    sa.Column('evaluations', sa.Text(), nullable=True),
    sa.Column('evaluation_interval', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_measures_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_measures'))
    )
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
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('emails_sent', sa.Integer(), nullable=False),
    sa.Column('emails_failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['evaluation_run_id'], ['evaluation_runs.id'], name=op.f('fk_nightly_runs_evaluation_run_id_evaluation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nightly_runs'))
    )
    op.create_table('placements',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('followup_reduced_on', sa.Date(), nullable=True),
    sa.Column('supervision_reduced_on', sa.Date(), nullable=True),
    sa.Column('supervision_reduction_consent', sa.Boolean(), nullable=True),
    sa.Column('supervision_municipality', sa.String(length=64), nullable=True),
    sa.Column('followup_visits', sa.Text(), nullable=True),
    sa.Column('supervision_visits', sa.Text(), nullable=True),
    sa.Column('home_moves', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_placements_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_placements'))
    )
    op.create_table('referrals',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('conclusion', sa.String(length=32), nullable=True),
    sa.Column('feedback_sent_on', sa.Date(), nullable=True),
    sa.Column('reporter', sa.String(length=32), nullable=True),
    sa.Column('obviously_unfounded', sa.Boolean(), nullable=True),
    sa.Column('feedback_after_investigation_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], name=op.f('fk_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'id', name=op.f('pk_referrals'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
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
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('fire_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.String(length=400), nullable=False),
    sa.Column('duty', sa.String(length=16), server_default='law', nullable=False),
    sa.Column('created_run_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_run_id', sa.Integer(), nullable=True),
    sa.Column('digest_key', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('digest_part', sa.Integer(), nullable=True),
    sa.Column('digest_parts', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['claimed_run_id'], ['nightly_runs.id'], name=op.f('fk_notices_claimed_run_id_nightly_runs')),
    sa.ForeignKeyConstraint(['created_run_id'], ['nightly_runs.id'], name=op.f('fk_notices_created_run_id_nightly_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('case_id', 'rule', 'subject', 'period', 'seq', 'stage', 'repeat', 'role', name=op.f('uq_notices_case_id_rule_subject_period_seq_stage_repeat_role'))
    )
    op.create_index('ix_notices_digest_key', 'notices', ['digest_key'], unique=False)
    op.create_index('ix_notices_status_recipient', 'notices', ['status', 'recipient'], unique=False)
    # Periodic e-mails to unit leaders: the monthly visit plan, the weekly worklist.
    op.create_table('unit_mails',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_run_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_run_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['claimed_run_id'], ['nightly_runs.id'], name=op.f('fk_unit_mails_claimed_run_id_nightly_runs')),
    sa.ForeignKeyConstraint(['created_run_id'], ['nightly_runs.id'], name=op.f('fk_unit_mails_created_run_id_nightly_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_mails')),
    sa.UniqueConstraint('kind', 'unit', 'recipient', 'period', name=op.f('uq_unit_mails_kind_unit_recipient_period'))
    )
    op.create_index('ix_unit_mails_status', 'unit_mails', ['status'], unique=False)
    # The web pages: users, their units, sessions and the access log (frister.web.models).
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_email', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('page', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    op.create_index('ix_access_log_case_id_at', 'access_log', ['case_id', 'at'], unique=False)
    op.create_table('web_users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('caseworker', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_users')),
    sa.UniqueConstraint('email', name=op.f('uq_web_users_email'))
    )
    op.create_table('web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['web_users.id'], name=op.f('fk_web_sessions_user_id_web_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_sessions'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['web_users.id'], name=op.f('fk_api_tokens_user_id_web_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('web_user_units',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['web_users.id'], name=op.f('fk_web_user_units_user_id_web_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'unit', name=op.f('pk_web_user_units'))
    )



def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS case_changes_{event} ON cases")
        op.execute("DROP FUNCTION IF EXISTS frister_log_case_changes()")
    op.drop_table('web_user_units')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('web_sessions')
    op.drop_table('web_users')
    op.drop_index('ix_access_log_case_id_at', table_name='access_log')
    op.drop_table('access_log')
    op.drop_index('ix_notices_status_recipient', table_name='notices')
    op.drop_index('ix_notices_digest_key', table_name='notices')

    op.drop_table('notices')
    op.drop_index('ix_unit_mails_status', table_name='unit_mails')
    op.drop_table('unit_mails')
    op.drop_table('deliveries')
    op.drop_table('referrals')
    op.drop_table('placements')
    op.drop_table('nightly_runs')
    op.drop_table('measures')
    op.drop_table('investigations')
    op.drop_table('emergency_decisions')
    op.drop_table('care_orders')
    op.drop_table('sources')
    op.drop_table('register_snapshots')
    op.drop_index('ix_obligations_unit_status_due_on', table_name='obligations')
    op.drop_index('ix_obligations_status_due_on', table_name='obligations')
    op.drop_index('ix_obligations_overdue_run_id', table_name='obligations')

    op.drop_table('obligations')
    op.drop_table('evaluation_runs')
    op.drop_table('cases')
    op.drop_index('ix_case_evaluations_stable_until', table_name='case_evaluations')

    op.drop_table('case_evaluations')
    op.drop_table('case_changes')
    op.drop_table('acknowledgements')
    op.drop_table('breach_reasons')
    op.drop_index('ix_breach_history_key', table_name='breach_history')
    op.drop_table('breach_history')
