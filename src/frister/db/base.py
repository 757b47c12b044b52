"""The one declarative base, with a constraint naming convention so Alembic migrations
name constraints the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import Date, DateTime, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Reusable column types.
CaseRef = Annotated[str, mapped_column(String(64))]
SubjectRef = Annotated[str, mapped_column(String(64))]
RuleRef = Annotated[str, mapped_column(String(64))]
Code = Annotated[str, mapped_column(String(32))]
Day = Annotated[dt.date, mapped_column(Date)]
Instant = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]


class DayList(TypeDecorator):
    """A sorted list of dates in one column: ``YYYY-MM-DD`` joined by commas (text on
    every database, so it reads the same in SQL and is parsed in bulk by numpy;
    :func:`frister.store.facts.parse_day_lists`). An empty list is NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return ",".join(d.isoformat() for d in sorted(value)) if value else None

    def process_result_value(self, value, dialect):
        return tuple(dt.date.fromisoformat(d) for d in value.split(",")) if value else ()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
