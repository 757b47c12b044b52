"""Tables of the web pages.

``web_users`` are the people who may log in: an e-mail address (the login, and the
subject of OpenID Connect claims), a role, an argon2 hash for a local account (NULL for
one that logs in through the identity provider only) and, for a saksbehandler, the
caseworker code the case system gives them. ``web_user_units`` lists the units an
avdelingsleder or teamleder holds (the units below them come from the organisation file).

``web_sessions`` holds one row per logged-in browser: the SHA-256 of the cookie's random
token (the token itself is never stored), the CSRF token of its forms and when it was
last used, so an idle session ends and a logout ends it for good.

``api_tokens`` lets a program (a case system, Power BI) read the API as a user: the
SHA-256 of a random token (the token itself is shown once, when made, and never stored),
its name (unique among the user's live tokens), when it was made, expires, was last
used and, once revoked, when; a revoked token stays as a record.

``access_log`` answers "who has looked at this child's case": one row per case a user
was shown or changed, with the case reference of frister (never personal data), what
was done (``view``, ``download``, ``change``), on which page, and when.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from frister.db.base import Base, CaseRef, Code, Instant

MAX_EMAIL = 64  # explained_by of a breach reason holds it


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)
    role: Mapped[Code]
    caseworker: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Instant]


class WebUserUnit(Base):
    __tablename__ = "web_user_units"

    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Instant]
    seen_at: Mapped[Instant]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Instant]
    expires_at: Mapped[Instant]
    last_used_at: Mapped[Instant | None]
    revoked_at: Mapped[Instant | None]


class AccessLog(Base):
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_case_id_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[Instant]
    user_email: Mapped[str] = mapped_column(String(MAX_EMAIL))
    role: Mapped[Code]
    action: Mapped[str] = mapped_column(String(16))  # view | download | change
    page: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[CaseRef]
    rule: Mapped[str | None] = mapped_column(String(64))
