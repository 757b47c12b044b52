"""Database plumbing: the declarative base, engines, sessions and migrations."""

from frister.db.base import Base
from frister.db.engine import create_db_engine, migrate, require_schema, session_factory

__all__ = ["Base", "create_db_engine", "migrate", "require_schema", "session_factory"]
