"""Shared CLI plumbing: error handling, settings, engine, rules, option types, tables."""

from __future__ import annotations

import datetime as dt
import sys
from functools import cached_property
from typing import Any, Iterable, Sequence

import click
from frister.db.diagnostics import describe as describe_database_error
from frister.errors import FristerError
from frister.text import printable


class FristerGroup(click.Group):
    """A click group that shows frister errors as one clean message, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FristerError as exc:
            click.echo(f"{exc.label}: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader stopped early (`| head`): click's main exits quietly, status 1,
            # with standard output made harmless for the interpreter's last flush.
            raise
        except Exception as exc:
            # A database error, through SQLAlchemy or from the driver itself: one line
            # without the server's host, port, user or database, nor a row (DETAIL: …).
            described = describe_database_error(exc)
            if described is not None:
                click.echo(f"error: database: {described}", err=True)
                sys.exit(2)
            # Otherwise a bug: say what kind, not what values.
            from frister.settings import Settings

            if Settings.from_env().debug:
                raise
            click.echo(f"error: internal error ({type(exc).__name__}); set FRISTER_DEBUG=1 for details", err=True)
            sys.exit(70)


class App:
    """Lazily built settings, engine and rules for one command."""

    @cached_property
    def settings(self):
        from frister.settings import Settings

        return Settings.from_env()

    @cached_property
    def engine(self):
        from frister.db.engine import create_db_engine

        return create_db_engine(self.settings.database_url)

    def ready_engine(self):
        """The engine, after checking the schema is migrated."""
        from frister.db.engine import require_schema

        require_schema(self.engine, self.settings.migrations_dir)
        return self.engine

    def rules(self, directory: str | None = None):
        from frister.rules.loader import load_rules

        return load_rules(directory or self.settings.rules_dir, self.settings.local_config)


pass_app = click.make_pass_decorator(App, ensure=True)


class DateType(click.ParamType):
    """A date ``YYYY-MM-DD`` from :data:`FIRST_DAY` to :data:`LAST_DAY`: the years a
    deadline, a report or a night can be about, with room for every rule's periods and
    the ladder's offsets on either side (a date near year 1 or 9999 would overflow
    them)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            if len(value) != 10:
                raise ValueError
            day = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            day = None
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            self.fail(f"expected a date YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}", param, ctx)
        return day


FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)
DATE = DateType()


class CaseRefType(click.ParamType):
    """A case reference as the import contract has it (:data:`frister.facts.contract.Ref`):
    what the shell passes may hold bytes that are not UTF-8 (Python reads them as lone
    surrogates), which no database can be asked about."""

    name = "CASE"

    def convert(self, value, param, ctx):
        from pydantic import TypeAdapter, ValidationError

        from frister.facts.contract import Ref

        try:
            return TypeAdapter(Ref).validate_python(value, strict=True)
        except ValidationError:
            self.fail("expected UTF-8 text: a case reference of 1 to 64 characters without control characters",
                      param, ctx)


CASE_REF = CaseRefType()


class TextType(click.ParamType):
    """Text typed on the command line, refused unless it is UTF-8: bytes that are not
    (a Latin-1 terminal, a stray byte) reach Python as lone surrogates, which no
    database driver can encode. The value is not echoed."""

    name = "TEXT"

    def convert(self, value, param, ctx):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("expected UTF-8 text (it holds bytes that are not)", param, ctx)
        return value


TEXT = TextType()


def today() -> dt.date:
    """The CLI's default as-of date. Only the CLI edge reads the clock; the core never does."""
    return dt.date.today()


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], wrap: Sequence[str] = (),
                width: int = 200) -> None:
    """Print a table on standard output: every cell as text, its control characters shown
    (:func:`frister.text.printable`), never read as rich markup, so a value from the data
    can neither start a line nor style one. A cell may be a :class:`rich.text.Text` to
    give it a style; its text is treated the same. Columns named in ``wrap`` may wrap."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def cell(value: Any) -> Text:
        if isinstance(value, Text):
            return Text(printable(value.plain), style=value.style)
        return Text(printable("" if value is None else str(value)))

    table = Table(title=title)
    for col in columns:
        table.add_column(col, no_wrap=col not in wrap)
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    Console(width=width).print(table)
