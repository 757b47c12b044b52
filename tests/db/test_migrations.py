"""Migrations are all or nothing: one that fails halfway leaves the schema as it was; a
command refuses a database that is not at the latest migration."""

from __future__ import annotations

import shutil

import pytest
from alembic import command
from sqlalchemy import inspect

from frister.db.engine import alembic_config, create_db_engine, current_revision, head_revision, migrate, require_schema
from frister.errors import DatabaseNotReady
from tests.conftest import MIGRATIONS

FAILING = '''"""Creates a table and an index on obligations, then fails.

Revision ID: 9999
Revises: {head}
"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.create_index("ix_half_done_obligations_rule", "obligations", ["rule"])
    op.execute("INSERT INTO half_done (id) VALUES (1)")
    raise RuntimeError("this migration fails halfway")


def downgrade() -> None:
    pass
'''


def _with_failing_migration(tmp_path):
    """A copy of the migrations with one more revision that fails after some DDL."""
    head = sorted(p.stem.split("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / "9999_fails.py").write_text(FAILING.format(head=head), encoding="utf-8")
    return copy, head


def test_a_migration_that_fails_halfway_leaves_the_schema_as_it_was(db_url, tmp_path):
    migrations, head = _with_failing_migration(tmp_path)
    engine = create_db_engine(db_url)
    indexes_before = {ix["name"] for ix in inspect(engine).get_indexes("obligations")}
    try:
        with pytest.raises(RuntimeError, match="fails halfway"):
            migrate(engine, migrations)
        schema = inspect(engine)
        assert not schema.has_table("half_done")
        assert {ix["name"] for ix in schema.get_indexes("obligations")} == indexes_before
        assert "ix_half_done_obligations_rule" not in indexes_before
        assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_a_new_sqlite_database_whose_migrations_fail_is_left_empty(tmp_path):
    migrations, _ = _with_failing_migration(tmp_path)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with pytest.raises(RuntimeError, match="fails halfway"):
            migrate(engine, migrations)
        assert inspect(engine).get_table_names() == []
        assert current_revision(engine) is None
        migrate(engine, MIGRATIONS)  # and it can be migrated once the failing one is gone
        assert inspect(engine).has_table("obligations")
    finally:
        engine.dispose()


def test_a_command_refuses_a_database_behind_the_migrations_and_names_both_revisions(db_url):
    engine = create_db_engine(db_url)
    require_schema(engine, MIGRATIONS)  # at the head: nothing to say
    head = head_revision(MIGRATIONS)
    with engine.begin() as conn:
        cfg = alembic_config(engine, MIGRATIONS)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    try:
        assert current_revision(engine) is None
        with pytest.raises(DatabaseNotReady,
                           match=f"schema is at nothing, this frister needs {head}: run 'frister db"):
            require_schema(engine, MIGRATIONS)
    finally:
        migrate(engine, MIGRATIONS)  # the PostgreSQL test database is shared by the tests
        engine.dispose()


def test_db_upgrade_waits_for_a_server_that_is_not_up_and_then_says_so(monkeypatch):
    import socket
    import time

    from click.testing import CliRunner

    from frister.cli import build

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FRISTER_DATABASE_URL", f"postgresql+psycopg://frister@127.0.0.1:{port}/frister")
    started = time.monotonic()
    result = CliRunner().invoke(build(), ["db", "upgrade", "--wait", "3"])
    waited = time.monotonic() - started
    assert result.exit_code == 2 and 3 <= waited < 10
    assert result.output.startswith("error: the database did not accept a connection within 3 s: ")


def test_db_upgrade_with_a_wait_goes_ahead_as_soon_as_the_database_answers(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from frister.cli import build

    monkeypatch.setenv("FRISTER_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(build(), ["db", "upgrade", "--wait", "60"])
    assert (result.exit_code, result.output) == (0, "database at revision 0001\n")
