"""The web application: FastAPI routes rendering Jinja2 templates (``templates/web``)
and a JSON API under ``/api/`` with the same access rules.

**Why FastAPI.** frister's pages are few and server-rendered; what they need is
routing, form and query parsing, an ASGI server (uvicorn) and, for the API, an OpenAPI
schema that a case system or Power BI can read. FastAPI gives the schema from the
route signatures and sits on Starlette (whose session middleware Authlib's OpenID
Connect client uses); the pages use the same Jinja2 as the reports, with autoescaping.

**Security.** Every response carries a strict Content-Security-Policy (no script at
all, styles from ``/static`` only), ``nosniff``, no framing, no referrer and
``no-store``. The session is a random token in a ``Secure``, ``HttpOnly``,
``SameSite=Lax`` cookie (Lax, not Strict: the browser must send it on the redirect back
from the identity provider; what changes anything is a POST, which needs the CSRF token), looked up in ``web_sessions`` and ended after
``FRISTER_WEB_IDLE_MINUTES`` (default 30) without use. Every POST, form or API, must
carry the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``), else
403. A program reads the API with ``Authorization: Bearer <token>`` (an API token of
a user, :mod:`frister.web.accounts`): GET under ``/api/`` only, as that user; with a
token any other request is 403 before anything else, an unknown, expired or revoked
token 401, and failed tokens are throttled per client like the login. Login is
throttled (:class:`frister.web.accounts.Throttle`). URLs carry case references, rule
ids and unit codes only: no name, no national id, no e-mail address.

**Access.** Each route names its page of :data:`frister.web.access.POLICY`; a role
without it gets 403. An obligation outside the user's units is 403, one that does not
exist 404, by page, download and API alike. Each case shown, downloaded or changed is
written to the access log.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from frister.db.engine import create_db_engine
from frister.engine.results import STATUS_LABELS
from frister.facts.contract import REASON_CODES, REASON_LABELS
from frister.nb import dato, num
from frister.organisation import Organisation
from frister.rules.model import RuleSet
from frister.settings import Settings
from frister.text import printable
from frister.web import accounts
from frister.web.access import Principal

SESSION_COOKIE = "frister_session"
TOKEN_READ_ONLY = "En API-nøkkel gir bare lesetilgang: GET under /api/."
PAGE_SIZE = 50
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SECTION_LABELS = {"overdue": "Over fristen", "due": "Forfaller snart", "visits": "Besøk som mangler"}
FOLLOW_UP_LABELS = {"open": "Åpent", "in_progress": "Under arbeid", "closed": "Lukket"}
DECISION_LABELS = {"extension": "Forlengelse av undersøkelsesfristen"}
SORTS = ("frist", "sak", "saksbehandler", "enhet")
NAV = (("oversikt", "/oversikt", "Oversikt"), ("arbeidsliste", "/arbeidsliste", "Arbeidsliste"),
       ("fristbrudd", "/fristbrudd", "Fristbrudd"), ("rapporter", "/rapporter", "Rapporter"),
       ("drift", "/drift", "Drift"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Web:
    """What every request needs: the database, the rules, the organisation, the clock."""

    def __init__(self, settings: Settings, rules: RuleSet, organisation: Organisation | None,
                 engine: Engine | None = None, clock: Callable[[], dt.datetime] = _now):
        self.settings = settings
        self.engine = engine or create_db_engine(settings.database_url)
        self.rules = rules
        self.organisation = organisation
        self.clock = clock
        self.idle = dt.timedelta(minutes=float(settings.get("FRISTER_WEB_IDLE_MINUTES") or 30))
        self.secure_cookies = (settings.get("FRISTER_WEB_INSECURE_COOKIES") or "") in ("", "0")
        self.throttle = accounts.Throttle()
        self.token_throttle = accounts.Throttle()  # failed API tokens per client address
        self.trend_cache = None  # ((evaluation run id, as-of date), queries.trend): the Oversikt trend of a run
        from frister.web.oidc import provider_of

        self.oidc = provider_of(settings)  # None without FRISTER_OIDC_ISSUER
        self.templates = Environment(
            loader=FileSystemLoader(str(Path(settings.templates_dir) / "web")),
            autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            finalize=printable)
        self.templates.filters.update(dato=dato, num=num)
        self.templates.globals.update(STATUS_LABELS=STATUS_LABELS, REASON_LABELS=REASON_LABELS,
                                      REASON_CODES=REASON_CODES, SECTION_LABELS=SECTION_LABELS,
                                      FOLLOW_UP_LABELS=FOLLOW_UP_LABELS, DECISION_LABELS=DECISION_LABELS,
                                      unit_name=self.unit_name, stage_label=self.stage_label)

    @staticmethod
    def stage_label(stage: str) -> str:
        """A notice stage as the e-mails name it (``reminder``: «Påminnelse»)."""
        from frister.notify.digest import STAGE_LABELS

        return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())

    def unit_name(self, code: str) -> str:
        return self.organisation.name(code) if self.organisation else code

    def principal(self, user: accounts.User) -> Principal:
        return Principal.of(user.id, user.email, user.role, user.units, user.caseworker, self.organisation)


def create_app(web: Web) -> FastAPI:
    app = FastAPI(title="frister", summary="Fristene til barneverntjenesten: arbeidslister, fristbrudd, drift",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    secret = web.settings.get("FRISTER_WEB_SECRET") or secrets.token_urlsafe(32)
    # Only for the login form's CSRF token and the OpenID Connect state: ten minutes.
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="frister_login", max_age=600,
                       same_site="lax", https_only=web.secure_cookies)
    app.state.web = web

    @app.middleware("http")
    async def tokens_read_only(request: Request, call_next):
        """A token reads the API and nothing else: refused here, before a form, a body or
        a route is looked at (the headers middleware, added after, still wraps it)."""
        if bearer_token(request) is not None and (request.method != "GET" or not request.url.path.startswith("/api/")):
            if request.url.path.startswith("/api/"):
                return JSONResponse({"detail": TOKEN_READ_ONLY}, status_code=403)
            return _page(web, request, "error.html", None, status_code=403, message=TOKEN_READ_ONLY)
        return await call_next(request)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        # The server's own time for the request (what bench/web.py holds to its targets).
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401:
            return RedirectResponse("/logg-inn", status_code=303)
        return _page(web, request, "error.html", None, status_code=exc.status_code, message=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in exc.errors()})
        detail = f"ugyldig verdi i {', '.join(fields)}"
        return await http_error(request, StarletteHTTPException(400, detail))

    from frister.web import oidc, routes

    routes.add(app, web)
    oidc.add(app, web)
    _declare_security(app)
    return app


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (``""`` when empty), else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _declare_security(app: FastAPI) -> None:
    """The schema names how each API route is reached: a GET by an API token or the
    session cookie, a POST by the session only (with its CSRF token)."""
    made = app.openapi

    def openapi() -> dict:
        schema = made()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        if "apiToken" not in schemes:
            schemes["apiToken"] = {"type": "http", "scheme": "bearer", "bearerFormat": "frister_…",
                                   "description": "API-nøkkel fra `frister user token add`: bare GET under /api/, "
                                                  "med brukerens roller og enheter."}
            schemes["session"] = {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                  "description": "Innlogget nettleser (lokal konto eller OpenID Connect)."}
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    reads = method == "get" and path.startswith("/api/")
                    operation["security"] = [{"apiToken": []}, {"session": []}] if reads else [{"session": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _page(web: Web, request: Request, name: str, who: Principal | None, status_code: int = 200, csrf: str = "",
          **context) -> HTMLResponse:
    nav = [(href, label, page == context.get("active")) for page, href, label in NAV if who and who.may(page)]
    body = web.templates.get_template(name).render(who=who, nav=nav, csrf=csrf, as_of=context.pop("as_of", None),
                                                   **context)
    return HTMLResponse(body, status_code=status_code)
