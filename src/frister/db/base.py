"""The one declarative base, with a constraint naming convention so Alembic migrations
name constraints the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import Date, DateTime, MetaData, String
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
