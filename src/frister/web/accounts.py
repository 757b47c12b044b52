"""Accounts, sessions and the access log of the web pages.

**Local accounts** (``frister user add``) have an argon2id hash (argon2-cffi's
defaults); a user who logs in through OpenID Connect has none and is matched by e-mail.
A role and its units are always frister's own (not the identity provider's): the
service decides who sees which units.

**Sessions**: a login creates a random 256-bit token, sent as the session cookie; the
database keeps its SHA-256 only, with a CSRF token and the time it was last used. A
session unused for longer than the idle timeout is gone (deleted when next presented);
a logout deletes it.

**API tokens** (``frister user token add``) let a program read the GET routes under
``/api/`` as a user, with the user's role and units as they are at each request: a
random 256-bit token prefixed ``frister_``, shown once; the database keeps its SHA-256
only, with a name, an expiry (:data:`TOKEN_DAYS` days unless told), its last use (written
at most once a minute) and, once revoked, when. A revoked token is kept as a record.

**Login throttling**: at most :data:`MAX_FAILURES` failed logins per e-mail address and
per client address in :data:`FAILURE_WINDOW`; more are refused without checking the
password (429). The counts are kept in the process (one web process per service).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from frister.clock import utc
from frister.errors import FristerError
from frister.notify.address import AddressError, parse_mailbox
from frister.web.access import UNIT_ROLES, WEB_ROLES
from frister.web.models import MAX_EMAIL, AccessLog, ApiToken, WebSession, WebUser, WebUserUnit

MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
SEEN_EVERY = dt.timedelta(seconds=60)  # a session's last use is written at most once a minute
MIN_PASSWORD = 12
TOKEN_PREFIX = "frister_"
TOKEN_DAYS = 365
MAX_TOKEN_NAME = 64

_hasher = PasswordHasher()
# Checked when the e-mail is unknown, so a login takes as long for an unknown address.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    units: tuple[str, ...]
    caseworker: str | None


def normal_email(text: str) -> str:
    """A login address as stored: one plain address, lower case, at most 64 characters."""
    try:
        address = parse_mailbox(text.strip()).address.lower()
    except AddressError as exc:
        raise FristerError(f"e-mail: {exc}") from None
    if len(address) > MAX_EMAIL:
        raise FristerError(f"e-mail: longer than {MAX_EMAIL} characters")
    return address


def add_user(conn: Connection, email: str, role: str, units: tuple[str, ...] = (), caseworker: str | None = None,
             password: str | None = None, known_units: set[str] | None = None, now: dt.datetime | None = None
             ) -> User:
    """Create the user ``email`` (or replace its role, units, caseworker and password)."""
    email = normal_email(email)
    if role not in WEB_ROLES:
        raise FristerError(f"role: expected one of {', '.join(WEB_ROLES)}")
    if role in UNIT_ROLES and not units:
        raise FristerError(f"--unit: a {role} needs the units they lead")
    if role not in UNIT_ROLES and units:
        raise FristerError(f"--unit: a {role} holds no units (only {' and '.join(UNIT_ROLES)})")
    if role == "saksbehandler" and not caseworker:
        raise FristerError("--caseworker: a saksbehandler needs their caseworker code of the case system")
    if role != "saksbehandler" and caseworker:
        raise FristerError("--caseworker: only for a saksbehandler")
    unknown = sorted(set(units) - known_units) if known_units is not None else []
    if unknown:
        raise FristerError(f"--unit: not a unit of the organisation file: {', '.join(unknown)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise FristerError(f"password: expected at least {MIN_PASSWORD} characters")
    hashed = _hasher.hash(password) if password is not None else None
    now = now or dt.datetime.now(dt.timezone.utc)
    existing = conn.execute(select(WebUser.id).where(WebUser.email == email)).scalar_one_or_none()
    if existing is None:
        user_id = conn.execute(insert(WebUser).values(email=email, role=role, caseworker=caseworker,
                                                      password_hash=hashed, created_at=now)
                               .returning(WebUser.id)).scalar_one()
    else:
        user_id = existing
        conn.execute(update(WebUser).where(WebUser.id == user_id).values(role=role, caseworker=caseworker,
                                                                          password_hash=hashed))
        conn.execute(delete(WebUserUnit).where(WebUserUnit.user_id == user_id))
        conn.execute(delete(WebSession).where(WebSession.user_id == user_id))  # new rights: log in again
    if units:
        conn.execute(insert(WebUserUnit), [{"user_id": user_id, "unit": u} for u in dict.fromkeys(units)])
    return User(user_id, email, role, tuple(dict.fromkeys(units)), caseworker)


def remove_user(conn: Connection, email: str) -> bool:
    user_id = conn.execute(select(WebUser.id).where(WebUser.email == normal_email(email))).scalar_one_or_none()
    if user_id is None:
        return False
    conn.execute(delete(WebSession).where(WebSession.user_id == user_id))
    conn.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    conn.execute(delete(WebUserUnit).where(WebUserUnit.user_id == user_id))
    conn.execute(delete(WebUser).where(WebUser.id == user_id))
    return True


def list_users(conn: Connection) -> list[User]:
    return [_user(conn, row) for row in conn.execute(select(WebUser).order_by(WebUser.email))]


def _user(conn: Connection, row) -> User:
    units = tuple(conn.execute(select(WebUserUnit.unit).where(WebUserUnit.user_id == row.id)
                               .order_by(WebUserUnit.unit)).scalars())
    return User(row.id, row.email, row.role, units, row.caseworker)


def find_user(conn: Connection, email: str) -> User | None:
    try:
        email = normal_email(email)
    except FristerError:
        return None
    row = conn.execute(select(WebUser).where(WebUser.email == email)).first()
    return _user(conn, row) if row else None


def check_password(conn: Connection, email: str, password: str) -> User | None:
    """The user whose local password this is, else None (the same work either way)."""
    try:
        email = normal_email(email)
    except FristerError:
        email = None
    row = conn.execute(select(WebUser).where(WebUser.email == email)).first() if email else None
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash:
        return None
    return _user(conn, row)


# --- sessions ------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(conn: Connection, user: User, now: dt.datetime) -> str:
    """A new session for ``user``; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    conn.execute(insert(WebSession).values(token_hash=_digest(token), user_id=user.id,
                                           csrf=secrets.token_urlsafe(32), created_at=now, seen_at=now))
    return token


def session_user(conn: Connection, token: str | None, now: dt.datetime, idle: dt.timedelta
                 ) -> tuple[User, str] | None:
    """The user and CSRF token of the session ``token``, if it is live (its last use
    moves to ``now``); an idle one is deleted."""
    if not token or len(token) > 100:
        return None
    key = _digest(token)
    row = conn.execute(select(WebSession).where(WebSession.token_hash == key)).first()
    if row is None:
        return None
    if now - utc(row.seen_at) > idle:
        conn.execute(delete(WebSession).where(WebSession.token_hash == key))
        return None
    if now - utc(row.seen_at) > SEEN_EVERY:
        conn.execute(update(WebSession).where(WebSession.token_hash == key).values(seen_at=now))
    user = conn.execute(select(WebUser).where(WebUser.id == row.user_id)).first()
    return (_user(conn, user), row.csrf) if user is not None else None


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


# --- API tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """An API token as listed: never the token itself."""

    name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


def _user_id(conn: Connection, email: str) -> int:
    user_id = conn.execute(select(WebUser.id).where(WebUser.email == normal_email(email))).scalar_one_or_none()
    if user_id is None:
        raise FristerError(f"no such user: {normal_email(email)}")
    return user_id


def _live(user_id: int, name: str):
    return (ApiToken.user_id == user_id) & (ApiToken.name == name) & ApiToken.revoked_at.is_(None)


def add_token(conn: Connection, email: str, name: str, now: dt.datetime, days: int = TOKEN_DAYS) -> str:
    """A new API token ``name`` of the user ``email``, valid ``days`` days from ``now``;
    returns the token (only its SHA-256 is stored). A name is unique among the user's
    tokens not revoked."""
    name = name.strip()
    if not name or len(name) > MAX_TOKEN_NAME or not name.isprintable():
        raise FristerError(f"--name: expected 1 to {MAX_TOKEN_NAME} printable characters")
    if days < 1:
        raise FristerError("--days: expected at least 1")
    user_id = _user_id(conn, email)
    if conn.execute(select(ApiToken.id).where(_live(user_id, name))).first() is not None:
        raise FristerError(f"--name: the user has a token named {name!r}; revoke it first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(ApiToken).values(user_id=user_id, name=name, token_hash=_digest(token), created_at=now,
                                         expires_at=now + dt.timedelta(days=days)))
    return token


def list_tokens(conn: Connection, email: str) -> list[Token]:
    """The user's API tokens, revoked ones included, oldest first."""
    T = ApiToken
    rows = conn.execute(select(T.name, T.created_at, T.expires_at, T.last_used_at, T.revoked_at)
                        .where(T.user_id == _user_id(conn, email)).order_by(T.created_at, T.id))
    return [Token(r.name, utc(r.created_at), utc(r.expires_at), r.last_used_at and utc(r.last_used_at),
                  r.revoked_at and utc(r.revoked_at)) for r in rows]


def revoke_token(conn: Connection, email: str, name: str, now: dt.datetime) -> bool:
    """Revoke the user's live token ``name``; False when there is none."""
    done = conn.execute(update(ApiToken).where(_live(_user_id(conn, email), name.strip())).values(revoked_at=now))
    return done.rowcount > 0


def token_user(conn: Connection, token: str, now: dt.datetime) -> User | None:
    """The user of the API token ``token`` if it is live (not revoked, not expired);
    its last use moves to ``now``."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    key = _digest(token)
    row = conn.execute(select(ApiToken).where(ApiToken.token_hash == key)).first()
    if row is None or row.revoked_at is not None or now >= utc(row.expires_at):
        return None
    if row.last_used_at is None or now - utc(row.last_used_at) > SEEN_EVERY:
        conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    user = conn.execute(select(WebUser).where(WebUser.id == row.user_id)).first()
    return _user(conn, user) if user is not None else None


class Throttle:
    """Failed logins per key (e-mail, client address) in a sliding window."""

    def __init__(self, limit: int = MAX_FAILURES, window: dt.timedelta = FAILURE_WINDOW):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def blocked(self, keys: list[str], now: dt.datetime) -> bool:
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, keys: list[str], now: dt.datetime) -> None:
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def forget(self, keys: list[str]) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)

    def _recent(self, key: str, now: dt.datetime) -> deque:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q


# --- the access log ---------------------------------------------------------------------


def log_access(conn: Connection, user: User, action: str, page: str, cases: list[tuple[str, str | None]],
               now: dt.datetime) -> None:
    """One row per case shown, downloaded or changed: ``cases`` are (case reference, rule or None)."""
    seen = list(dict.fromkeys(cases))
    if seen:
        conn.execute(insert(AccessLog), [{"at": now, "user_email": user.email, "role": user.role, "action": action,
                                          "page": page, "case_id": c, "rule": r} for c, r in seen])


@dataclass(frozen=True)
class Access:
    at: dt.datetime
    user_email: str
    role: str
    action: str
    page: str
    rule: str | None


def access_of(conn: Connection, case_id: str) -> list[Access]:
    """Who viewed, downloaded or changed ``case_id``, oldest first."""
    A = AccessLog
    rows = conn.execute(select(A.at, A.user_email, A.role, A.action, A.page, A.rule)
                        .where(A.case_id == case_id).order_by(A.at, A.id))
    return [Access(utc(r.at), r.user_email, r.role, r.action, r.page, r.rule) for r in rows]
