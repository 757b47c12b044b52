"""Alembic environment: frister's metadata, and a connection handed in by frister
(``frister db upgrade``, tests) or built from FRISTER_DATABASE_URL (plain ``alembic``)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from frister.db.engine import transactional_ddl
from frister.db.models import metadata

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # All migrations in one transaction, schema changes included (SQLite too): one that
    # fails halfway leaves the schema as it was.
    with context.begin_transaction(), transactional_ddl(connection):
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from frister.settings import Settings

    return Settings.from_env().database_url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from frister.db.engine import create_db_engine

        engine = create_db_engine(_url())
    with engine.begin() as conn:
        _configure(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
