"""A log of changed cases, written by triggers on cases; result tables without foreign keys.

A nightly run used to find the cases to re-evaluate by joining every case to its
evaluation and comparing fingerprints: work proportional to all cases (1.1 s of a
2.9 s night at a million cases on SQLite). Triggers on ``cases`` now log every insert,
update and delete in ``case_changes``, whoever writes (the importer, the demo and
benchmark loaders, plain SQL), and a run takes the log's rows in its own transaction.

The two result tables lose their foreign keys:

* ``case_evaluations.case_id`` → ``cases`` (ON DELETE CASCADE): a replaced case kept
  its evaluation row until now only through the cascade, which removed it (and its
  counts) behind the run's back. The row now stays until the run that re-evaluates
  the case replaces it, so a run can keep its totals by difference instead of summing
  a million rows.
* ``obligations.run_id`` → ``evaluation_runs``: always the id of the run writing the
  row, in the same transaction. With a foreign key, SQLite deletes a full run's old
  rows one by one (5 s at a million cases) instead of emptying the table at once, and
  PostgreSQL checks every copied row.

Upgrading logs every case whose evaluation is missing or out of date, so the first
night after the upgrade re-evaluates exactly what the old query would have found.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, None] = '0006'
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


def upgrade() -> None:
    op.create_table('case_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_changes'))
    )
    dialect = op.get_bind().dialect.name
    for event in EVENTS:
        if dialect == "sqlite":
            op.execute(f"CREATE TRIGGER case_changes_{event} AFTER {event.upper()} ON cases "
                       f"FOR EACH ROW BEGIN {SQLITE_TRIGGERS[event]} END")
        elif dialect == "postgresql":
            if event == EVENTS[0]:
                op.execute(PG_FUNCTION)
            op.execute(f"CREATE TRIGGER case_changes_{event} AFTER {event.upper()} ON cases "
                       f"REFERENCING {PG_TRANSITIONS[event]} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION frister_log_case_changes()")
        else:
            raise NotImplementedError(f"case change triggers are not written for {dialect}")
    # What the old query would have re-evaluated: cases without an evaluation, or
    # whose facts changed since.
    op.execute("INSERT INTO case_changes (case_id) SELECT c.case_id FROM cases c "
               "LEFT JOIN case_evaluations e ON e.case_id = c.case_id "
               "WHERE e.case_id IS NULL OR e.fingerprint <> c.fingerprint ORDER BY c.case_id")
    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_evaluations_case_id_cases', type_='foreignkey')
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_obligations_run_id_evaluation_runs', type_='foreignkey')


def downgrade() -> None:
    # Evaluations of cases that are gone (their next run would have removed them).
    op.execute("DELETE FROM case_evaluations WHERE case_id NOT IN (SELECT case_id FROM cases)")
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_obligations_run_id_evaluation_runs', 'evaluation_runs', ['run_id'], ['id'])
    with op.batch_alter_table('case_evaluations', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_case_evaluations_case_id_cases', 'cases', ['case_id'], ['case_id'],
                                    ondelete='CASCADE')
    # The old nights compare fingerprints: drop the evaluation of every logged case.
    op.execute("DELETE FROM case_evaluations WHERE case_id IN (SELECT case_id FROM case_changes)")
    dialect = op.get_bind().dialect.name
    for event in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS case_changes_{event}" + (" ON cases" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS frister_log_case_changes()")
    op.drop_table('case_changes')
