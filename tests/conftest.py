"""Shared fixtures: real databases built by running the migrations.

``db_url`` is parametrised over SQLite (a file per test) and PostgreSQL. The
PostgreSQL variant needs ``FRISTER_TEST_DATABASE_URL`` (CI sets it); without it those
tests are skipped with the reason. With it, the session creates a database of its
own (``frister_test_<random>``), migrates it once, empties its tables between tests
and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from frister.db.engine import create_db_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
RULES = ROOT / "rules"
PG_ENV = "FRISTER_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def rules():
    from frister.rules.loader import load_rules

    return load_rules(RULES)


@pytest.fixture(scope="session")
def pg_server_url():
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"frister_test_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    migrate(engine, MIGRATIONS)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    from frister.db.models import metadata

    engine = create_db_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request, tmp_path):
    """A freshly migrated, empty database URL: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'frister.db'}"
        engine = create_db_engine(url)
        migrate(engine, MIGRATIONS)
        engine.dispose()
        return url
    url = request.getfixturevalue("pg_server_url")
    _truncate_all(url)
    return url


@pytest.fixture
def engine(db_url):
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def cli_env(db_url, monkeypatch):
    """Environment for invoking the CLI against the test database."""
    monkeypatch.setenv("FRISTER_DATABASE_URL", db_url)
    monkeypatch.setenv("FRISTER_RULES_DIR", str(RULES))
    return db_url
