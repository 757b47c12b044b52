"""``frister db``: schema management (Alembic)."""

from __future__ import annotations

import click

from frister.cli.common import App, pass_app


def register(group: click.Group) -> None:
    group.add_command(db)


@click.group()
def db() -> None:
    """Database schema (migrations are managed by Alembic)."""


@db.command()
@click.option("--wait", "wait", type=click.IntRange(0, 3600), default=0, show_default=True, metavar="SECONDS",
              help="Wait up to this long for the database server to accept connections (one starting beside "
                   "frister).")
@pass_app
def upgrade(app: App, wait: int) -> None:
    """Create or migrate the database to the latest schema."""
    from frister.db.engine import current_revision, migrate, wait_for_database

    if wait:
        wait_for_database(app.engine, wait)
    migrate(app.engine, app.settings.migrations_dir)
    click.echo(f"database at revision {current_revision(app.engine)}")


@db.command()
@pass_app
def current(app: App) -> None:
    """Show the database's schema revision and the latest one."""
    from frister.db.engine import current_revision, head_revision

    click.echo(f"database: {current_revision(app.engine) or 'empty'}; latest: {head_revision(app.settings.migrations_dir)}")
