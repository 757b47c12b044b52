"""The routes: each page in bokmål and its twin under ``/api/`` (see :mod:`frister.web.app`).

Every route that shows case data first asks :func:`_login` for the user and the page
of the policy table it belongs to; what it reads is limited to the units the user
holds, and what it shows is checked again line by line (:meth:`Principal.sees`)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode

from fastapi import Body, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from frister.breaches.service import (DECISIONS, MAX_ACTION, BreachKey, acknowledge, explain as record_reason,
                                      list_breaches, set_status)
from frister.errors import FristerError
from frister.evaluation.service import latest_run
from frister.web import accounts, queries
from frister.web.access import Principal
from frister.web.links import deadline_path as deadline_href
from frister.web.app import PAGE_SIZE, SESSION_COOKIE, SORTS, Web, _page, bearer_token
from frister.worklist import SECTIONS, worklist as make_worklist

NO_ACCESS = "Du har ikke tilgang til denne siden."
NO_CASE = "Du har ikke tilgang til denne saken."
BAD_TOKEN = "API-nøkkelen er ukjent, utløpt eller trukket tilbake."
TOKEN_THROTTLED = "For mange mislykkede forsøk med API-nøkkel. Vent et kvarter og prøv igjen."


@dataclass
class Login:
    who: Principal
    user: accounts.User
    csrf: str


def _login(web: Web, request: Request, page: str) -> Login:
    """The logged-in user (by session cookie, or by API token on a GET under /api/), who
    may use ``page``; else 401 (not logged in, or a token not live) or 403."""
    token = bearer_token(request)
    if token is not None:  # the middleware has refused it anywhere but a GET under /api/
        user = _token_user(web, request, token)
        who = web.principal(user)
        if not who.may(page):
            raise HTTPException(403, NO_ACCESS)
        return Login(who, user, "")
    with web.engine.begin() as conn:
        found = accounts.session_user(conn, request.cookies.get(SESSION_COOKIE), web.clock(), web.idle)
    if found is None:
        raise HTTPException(401, "Logg inn først.")
    user, csrf = found
    who = web.principal(user)
    if not who.may(page):
        raise HTTPException(403, NO_ACCESS)
    return Login(who, user, csrf)


def _token_user(web: Web, request: Request, token: str) -> accounts.User:
    """The user of a live API token; a client with too many failed tokens is refused
    without looking (429), as the login is."""
    now = web.clock()
    keys = [f"ip:{request.client.host if request.client else '-'}"]
    if web.token_throttle.blocked(keys, now):
        raise HTTPException(429, TOKEN_THROTTLED)
    with web.engine.begin() as conn:
        user = accounts.token_user(conn, token, now)
    if user is None:
        web.token_throttle.failed(keys, now)
        raise HTTPException(401, BAD_TOKEN, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return user


def _check_csrf(expected: str | None, given: str | None) -> None:
    if not expected or not given or not secrets.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(403, "Skjemaet mangler gyldig sikkerhetsnøkkel (CSRF). Last siden på nytt.")


def _as_of(conn) -> dt.date:
    run = latest_run(conn)
    if run is None:
        raise HTTPException(503, "Ingen evaluering ennå: kjør frister run eller frister evaluate først.")
    return run.as_of


def _unit_allowed(who: Principal, unit: str | None) -> None:
    if unit is not None and not who.holds_unit(unit):
        raise HTTPException(403, NO_ACCESS)


def _units_for(web: Web, who: Principal) -> list:
    """The units the user may filter on, in tree order: the organisation's, then those
    holding obligations that it does not know (one index scan)."""
    from sqlalchemy import distinct, select

    from frister.evaluation.models import Obligation
    from frister.organisation import units_in_tree_order

    with web.engine.connect() as conn:
        seen = conn.execute(select(distinct(Obligation.unit))).scalars().all()
    return [u for u in units_in_tree_order(web.organisation, seen) if who.holds_unit(u.code)]


class KeyIn(BaseModel):
    case_id: str = Field(min_length=1, max_length=64)
    rule: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=64)
    period: str = Field("", max_length=8)
    seq: int = Field(1, ge=1, le=10_000)

    @property
    def key(self) -> BreachKey:
        return BreachKey(self.case_id, self.rule, self.subject, self.period, self.seq)


class ReasonIn(KeyIn):
    reason: str = Field(max_length=32)
    action: str = Field(max_length=4000)
    decision: str | None = Field(None, max_length=32, description="extension (investigation deadlines only)")
    owner: str | None = Field(None, max_length=64, description="who follows the deviation up")
    follow_up_by: dt.date | None = Field(None, description="when the corrective action is due")


class AcknowledgeIn(KeyIn):
    stage: str = Field(min_length=1, max_length=32)
    note: str | None = Field(None, max_length=MAX_ACTION)


class StatusIn(KeyIn):
    status: str = Field(pattern="^(open|in_progress|closed)$")
    note: str | None = Field(None, max_length=MAX_ACTION)


def add(app: FastAPI, web: Web) -> None:
    web.templates.globals["deadline_href"] = deadline_href

    # --- login ---------------------------------------------------------------------------

    def _login_csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    @app.get("/", include_in_schema=False)
    def home(request: Request):
        with web.engine.begin() as conn:
            found = accounts.session_user(conn, request.cookies.get(SESSION_COOKIE), web.clock(), web.idle)
        target = "/" + web.principal(found[0]).home if found else "/logg-inn"
        return RedirectResponse(target, status_code=303)

    @app.get("/logg-inn", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request):
        return _page(web, request, "login.html", None, csrf=_login_csrf(request), error=None,
                     oidc=web.oidc is not None)

    @app.post("/logg-inn", include_in_schema=False)
    def login(request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        _check_csrf(request.session.get("csrf"), csrf)
        now = web.clock()
        keys = [f"email:{email.strip().lower()}", f"ip:{request.client.host if request.client else '-'}"]
        if web.throttle.blocked(keys, now):
            return _page(web, request, "login.html", None, status_code=429, csrf=_login_csrf(request),
                         error="For mange mislykkede forsøk. Vent et kvarter og prøv igjen.", oidc=web.oidc is not None)
        with web.engine.begin() as conn:
            user = accounts.check_password(conn, email, password)
            token = accounts.start_session(conn, user, now) if user else None
        if user is None:
            web.throttle.failed(keys, now)
            return _page(web, request, "login.html", None, status_code=401, csrf=_login_csrf(request),
                         error="Feil e-postadresse eller passord.", oidc=web.oidc is not None)
        web.throttle.forget(keys[:1])
        return _logged_in(web, token, web.principal(user).home)

    @app.post("/logg-ut", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")):
        token = request.cookies.get(SESSION_COOKIE)
        with web.engine.begin() as conn:
            found = accounts.session_user(conn, token, web.clock(), web.idle)
            if found is not None:
                _check_csrf(found[1], csrf)
                accounts.end_session(conn, token)
        response = RedirectResponse("/logg-inn", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=web.secure_cookies, httponly=True, samesite="lax")
        return response

    # --- Oversikt --------------------------------------------------------------------------

    def overview_data(login: Login):
        with web.engine.connect() as conn:
            run = latest_run(conn)
            if run is None:
                _as_of(conn)  # 503
            as_of = run.as_of
            cached = web.trend_cache
            if cached is None or cached[0] != (run.id, as_of):
                cached = web.trend_cache = ((run.id, as_of), queries.trend(conn, as_of))
            units = queries.overview(conn, as_of, web.organisation, login.who.visible, cached[1])
        return as_of, units

    def top_units(units: list) -> list:
        """The units of the list not below another of it: their sums are the user's total."""
        codes = {u.code for u in units}
        inner = {c for u in units for c in (web.organisation.below(u.code) if web.organisation else [u.code])
                 if c != u.code and c in codes}
        return [u for u in units if u.code not in inner]

    def trend_chart(as_of: dt.date, units: list):
        from frister.nb import month_short
        from frister.reports.charts import Series, columns

        top = top_units(units)
        days = queries.trend_days(as_of)
        overdue = [sum(u.overdue_trend[i] for u in top) for i in range(len(days))]
        breaches = [sum(u.breach_trend[i] for u in top) for i in range(len(days))]
        chart = columns("Siste 12 måneder", [month_short(d) for d in days],
                        [Series("Over fristen ved månedsslutt", overdue), Series("Fristbrudd i måneden", breaches)])
        return chart, list(zip(days, overdue, breaches))

    @app.get("/oversikt", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request):
        login = _login(web, request, "oversikt")
        as_of, units = overview_data(login)
        chart, trend = trend_chart(as_of, units)
        return _page(web, request, "overview.html", login.who, csrf=login.csrf, as_of=as_of, units=units,
                     active="oversikt", soon=queries.SOON_DAYS, chart=chart, trend=trend)

    @app.get("/api/overview", tags=["oversikt"])
    def api_overview(request: Request) -> dict:
        """Per unit the user holds (each with the units below it): overdue deadlines,
        open deadlines due within 14 days, breaches without a reason, open deviations
        (breaches assessed and not closed), and per month end of the last twelve months
        the deadlines overdue on that day and the breaches due in that month."""
        as_of, units = overview_data(_login(web, request, "oversikt"))
        days = [d.isoformat() for d in queries.trend_days(as_of)]
        return {"as_of": as_of.isoformat(), "month_ends": days, "units": [
            {"unit": u.code, "name": u.name, "depth": u.depth, "overdue": u.overdue, "due_within_14_days": u.due_soon,
             "breaches_without_reason": u.unexplained, "open_deviations": u.deviations,
             "trend": [{"month_end": d, "overdue": o, "breaches": b}
                       for d, o, b in zip(days, u.overdue_trend, u.breach_trend)]} for u in units]}

    # --- Arbeidsliste ------------------------------------------------------------------------

    def worklist_data(login: Login, unit, caseworker, weeks, section, sort):
        who = login.who
        if who.role == "saksbehandler":
            if caseworker is not None and caseworker != who.caseworker:
                raise HTTPException(403, NO_ACCESS)
            caseworker = who.caseworker
        else:
            if unit is None and not who.all_units:
                unit = who.units[0]
            _unit_allowed(who, unit)
        with web.engine.connect() as conn:
            _as_of(conn)
            made = make_worklist(conn, web.rules, unit, caseworker, weeks, web.organisation)
        lines = [line for line in made.lines if who.sees(line.unit, line.caseworker)]
        if section:
            lines = [line for line in lines if line.section == section]
        if sort == "sak":
            lines.sort(key=lambda line: (line.case_id, line.rule, line.subject))
        elif sort == "saksbehandler":
            lines.sort(key=lambda line: (line.caseworker is None, line.caseworker or "", line.due_month))
        elif sort == "enhet":
            lines.sort(key=lambda line: (line.unit, line.due_month))
        return made, unit, caseworker, lines

    @app.get("/arbeidsliste", include_in_schema=False)
    def worklist_page(request: Request, enhet: str | None = Query(None, max_length=64),
                      saksbehandler: str | None = Query(None, max_length=64), uker: int = Query(4, ge=1, le=52),
                      del_: str | None = Query(None, alias="del", pattern="^(overdue|due|visits)$"),
                      sorter: str = Query("frist", pattern="^(frist|sak|saksbehandler|enhet)$"),
                      side: int = Query(1, ge=1, le=100_000), format: str | None = Query(None, pattern="^csv$")):
        login = _login(web, request, "arbeidsliste")
        made, unit, caseworker, lines = worklist_data(login, enhet or None, saksbehandler or None, uker, del_, sorter)
        now = web.clock()
        if format == "csv":
            from frister.cli.worklist_cmd import _worklist_csv

            made.lines = lines
            with web.engine.begin() as conn:
                accounts.log_access(conn, login.user, "download", "arbeidsliste",
                                    [(line.case_id, line.rule) for line in lines], now)
            return Response(_worklist_csv(made), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="arbeidsliste-{made.as_of.isoformat()}.csv"'})
        pages = max(1, -(-len(lines) // PAGE_SIZE))
        side = min(side, pages)
        shown = lines[(side - 1) * PAGE_SIZE: side * PAGE_SIZE]
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "arbeidsliste", [(x.case_id, x.rule) for x in shown], now)
        query = {k: v for k, v in {"enhet": unit, "saksbehandler": saksbehandler, "uker": uker, "del": del_,
                                   "sorter": sorter}.items() if v}
        return _page(web, request, "worklist.html", login.who, csrf=login.csrf, as_of=made.as_of, made=made,
                     lines=shown, total=len(lines), unit=unit, caseworker=saksbehandler, weeks=uker, section=del_,
                     sort=sorter, sorts=SORTS, sections=SECTIONS, page=side, pages=pages,
                     units=_units_for(web, login.who), query=query, qs=urlencode, active="arbeidsliste")

    @app.get("/api/worklist", tags=["arbeidsliste"])
    def api_worklist(request: Request, unit: str | None = Query(None, max_length=64),
                     caseworker: str | None = Query(None, max_length=64), weeks: int = Query(4, ge=1, le=52),
                     section: str | None = Query(None, pattern="^(overdue|due|visits)$")) -> dict:
        """The worklist of a unit the user holds (with the units below it); a saksbehandler's own lines."""
        login = _login(web, request, "arbeidsliste")
        made, unit, caseworker, lines = worklist_data(login, unit, caseworker, weeks, section, "frist")
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "api/worklist", [(x.case_id, x.rule) for x in lines],
                                web.clock())
        return {"as_of": made.as_of.isoformat(), "unit": unit, "caseworker": caseworker, "weeks": weeks,
                "lines": [line.to_json() for line in lines]}

    # --- Frist ------------------------------------------------------------------------------

    def deadline_data(login: Login, key: BreachKey):
        with web.engine.connect() as conn:
            _as_of(conn)
            row = queries.find_obligation(conn, key)
            if row is None:
                raise HTTPException(404, "Fant ingen slik frist i siste evaluering.")
            if not login.who.sees(row.unit, row.caseworker):
                raise HTTPException(403, NO_CASE)
            return latest_run(conn).as_of, queries.deadline(conn, web.rules, key, row)

    def held(login: Login, key: BreachKey) -> None:
        """404 when ``key`` is not in the night's evaluation, 403 when the user does not hold it."""
        with web.engine.connect() as conn:
            _as_of(conn)
            row = queries.find_obligation(conn, key)
        if row is None:
            raise HTTPException(404, "Fant ingen slik frist i siste evaluering.")
        if not login.who.sees(row.unit, row.caseworker):
            raise HTTPException(403, NO_CASE)

    def show_deadline(request: Request, login: Login, key: BreachKey, status_code: int = 200,
                      error: str | None = None, form: dict | None = None):
        as_of, found = deadline_data(login, key)
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "frist", [(key.case_id, key.rule)], web.clock())
        may_change = login.who.may("grunn")
        filled = {"grunn": found.reason or "", "tiltak": found.action or "", "beslutning": found.decision or "",
                  "ansvarlig": found.owner or "",
                  "oppfolging": found.follow_up_by.isoformat() if found.follow_up_by else "",
                  "status": found.follow_up or "open", "merknad": "", "trinn": "", "kvittering": ""}
        return _page(web, request, "deadline.html", login.who, status_code=status_code, csrf=login.csrf, as_of=as_of,
                     d=found, may_record=may_change and found.assessable, may_change=may_change, error=error,
                     decisions=[d for d, rules in DECISIONS.items() if key.rule in rules],
                     form=filled | (form or {}))

    @app.get("/frist", response_class=HTMLResponse, include_in_schema=False)
    def deadline_page(request: Request, sak: str = Query(..., min_length=1, max_length=64),
                      regel: str = Query(..., min_length=1, max_length=64),
                      gjelder: str = Query(..., min_length=1, max_length=64),
                      periode: str = Query("", max_length=8), nr: int = Query(1, ge=1, le=10_000)):
        return show_deadline(request, _login(web, request, "frist"), BreachKey(sak, regel, gjelder, periode, nr))

    def changed(request: Request, login: Login, key: BreachKey, form: dict, change: Callable[[], None],
                back: str = "frist"):
        """Run ``change`` (which checks access first); on a refusal of the breach
        register, the Frist page again with the message and what was typed."""
        try:
            change()
        except FristerError as exc:
            return show_deadline(request, login, key, 400, _norwegian(str(exc)), form)
        if back == "fristbrudd":
            return RedirectResponse("/fristbrudd", status_code=303)
        return RedirectResponse(deadline_href(*key.as_tuple()), status_code=303)

    @app.post("/frist/grunn", include_in_schema=False)
    def record_page(request: Request, sak: str = Form(..., max_length=64), regel: str = Form(..., max_length=64),
                    gjelder: str = Form(..., max_length=64), periode: str = Form("", max_length=8),
                    nr: int = Form(1, ge=1, le=10_000), grunn: str = Form(""), tiltak: str = Form(""),
                    beslutning: str = Form("", max_length=32), ansvarlig: str = Form(""),
                    oppfolging: str = Form("", max_length=10), csrf: str = Form("")):
        login = _login(web, request, "grunn")
        _check_csrf(login.csrf, csrf)
        key = BreachKey(sak, regel, gjelder, periode, nr)
        form = {"grunn": grunn, "tiltak": tiltak, "beslutning": beslutning, "ansvarlig": ansvarlig,
                "oppfolging": oppfolging}

        def change():
            try:
                due = dt.date.fromisoformat(oppfolging) if oppfolging.strip() else None
            except ValueError:
                raise FristerError("follow-up date: expected YYYY-MM-DD") from None
            store_reason(login, key, grunn, tiltak, beslutning or None, ansvarlig, due, "frist/grunn")

        return changed(request, login, key, form, change)

    def store_reason(login: Login, key: BreachKey, reason: str, action: str, decision: str | None,
                     owner: str | None, follow_up_by: dt.date | None, page: str) -> str:
        held(login, key)  # 404 / 403 first
        owner = (owner or "").strip() or None
        if owner is not None and len(owner) > 64:
            raise FristerError("the owner is longer than 64 characters")
        now = web.clock()
        with web.engine.begin() as conn:
            status = record_reason(conn, key, reason, action, now, by=login.user.email, decision=decision,
                                   owner=owner, follow_up_by=follow_up_by)
            accounts.log_access(conn, login.user, "change", page, [(key.case_id, key.rule)], now)
        return status

    @app.post("/frist/kvitter", include_in_schema=False)
    def acknowledge_page(request: Request, sak: str = Form(..., max_length=64),
                         regel: str = Form(..., max_length=64), gjelder: str = Form(..., max_length=64),
                         periode: str = Form("", max_length=8), nr: int = Form(1, ge=1, le=10_000),
                         trinn: str = Form(..., min_length=1, max_length=32), kvittering: str = Form(""),
                         csrf: str = Form("")):
        login = _login(web, request, "grunn")
        _check_csrf(login.csrf, csrf)
        key = BreachKey(sak, regel, gjelder, periode, nr)
        return changed(request, login, key, {"trinn": trinn, "kvittering": kvittering},
                       lambda: store_acknowledgement(login, key, trinn, kvittering, "frist/kvitter"))

    def store_acknowledgement(login: Login, key: BreachKey, stage: str, note: str | None, page: str) -> None:
        held(login, key)
        if note is not None and len(note.strip()) > MAX_ACTION:
            raise FristerError(f"the note is longer than {MAX_ACTION} characters")
        now = web.clock()
        with web.engine.begin() as conn:
            acknowledge(conn, key, stage, now, by=login.user.email, note=note)
            accounts.log_access(conn, login.user, "change", page, [(key.case_id, key.rule)], now)

    @app.post("/frist/status", include_in_schema=False)
    def status_page(request: Request, sak: str = Form(..., max_length=64), regel: str = Form(..., max_length=64),
                    gjelder: str = Form(..., max_length=64), periode: str = Form("", max_length=8),
                    nr: int = Form(1, ge=1, le=10_000), status: str = Form(..., pattern="^(open|in_progress|closed)$"),
                    merknad: str = Form(""), til: str = Form("frist", pattern="^(frist|fristbrudd)$"),
                    csrf: str = Form("")):
        login = _login(web, request, "grunn")
        _check_csrf(login.csrf, csrf)
        key = BreachKey(sak, regel, gjelder, periode, nr)
        return changed(request, login, key, {"status": status, "merknad": merknad},
                       lambda: store_status(login, key, status, merknad, "frist/status"), back=til)

    def store_status(login: Login, key: BreachKey, status: str, note: str | None, page: str) -> None:
        held(login, key)
        now = web.clock()
        with web.engine.begin() as conn:
            set_status(conn, key, status, now, by=login.user.email, note=note)
            accounts.log_access(conn, login.user, "change", page, [(key.case_id, key.rule)], now)

    @app.get("/api/deadline", tags=["frist"])
    def api_deadline(request: Request, case_id: str = Query(..., min_length=1, max_length=64),
                     rule: str = Query(..., min_length=1, max_length=64),
                     subject: str = Query(..., min_length=1, max_length=64),
                     period: str = Query("", max_length=8), seq: int = Query(1, ge=1, le=10_000)) -> dict:
        """One obligation with its explanation, notices, assessment and follow-up."""
        login = _login(web, request, "frist")
        key = BreachKey(case_id, rule, subject, period, seq)
        as_of, d = deadline_data(login, key)
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "api/deadline", [(case_id, rule)], web.clock())

        def iso(value):
            return value.isoformat() if value else None

        return {"as_of": as_of.isoformat(), "case_id": case_id, "rule": rule, "subject": subject, "period": period,
                "seq": seq, "unit": d.unit, "caseworker": d.caseworker, "status": d.status,
                "due_on": d.due_on.isoformat(), "met_on": iso(d.met_on),
                "days_late": d.days_late, "explanation": d.explanation, "reason": d.reason, "action": d.action,
                "decision": d.decision, "owner": d.owner, "follow_up_by": iso(d.follow_up_by),
                "recorded_at": iso(d.explained_at), "recorded_by": d.explained_by,
                "follow_up": d.follow_up, "status_note": d.status_note, "closed_at": iso(d.closed_at),
                "closed_by": d.closed_by,
                "acknowledgements": [{"stage": a.stage, "at": a.acknowledged_at.isoformat(), "by": a.acknowledged_by,
                                      "note": a.note} for a in d.acknowledgements],
                "notices": [{"stage": n.stage, "role": n.role, "ordinal": n.ordinal, "status": n.status,
                             "fire_on": n.fire_on.isoformat()} for n in d.notices]}

    def api_change(request: Request, change: Callable[[Login], object]):
        login = _login(web, request, "grunn")
        _check_csrf(login.csrf, request.headers.get("x-csrf-token"))
        try:
            return change(login)
        except FristerError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.post("/api/deadline/reason", tags=["frist"])
    def api_record(request: Request, body: ReasonIn = Body(...)) -> dict:
        """Record the assessment of a deadline, open or broken: cause (reason code),
        corrective action, and optionally the decision, the owner and the follow-up date
        (header ``X-CSRF-Token``)."""
        status = api_change(request, lambda login: store_reason(
            login, body.key, body.reason, body.action, body.decision, body.owner, body.follow_up_by,
            "api/deadline/reason"))
        return {"recorded": True, "status": status}

    @app.post("/api/deadline/acknowledge", tags=["frist"])
    def api_acknowledge(request: Request, body: AcknowledgeIn = Body(...)) -> dict:
        """Acknowledge a stage of the deadline's notices: that stage is not repeated
        (header ``X-CSRF-Token``)."""
        api_change(request, lambda login: store_acknowledgement(login, body.key, body.stage, body.note,
                                                                "api/deadline/acknowledge"))
        return {"acknowledged": True}

    @app.post("/api/deadline/status", tags=["frist"])
    def api_status(request: Request, body: StatusIn = Body(...)) -> dict:
        """Set the deviation's follow-up status (open, in_progress, closed; closing needs
        a note and stops its notices) (header ``X-CSRF-Token``)."""
        api_change(request, lambda login: store_status(login, body.key, body.status, body.note,
                                                       "api/deadline/status"))
        return {"status": body.status}

    # --- Fristbrudd ---------------------------------------------------------------------------

    def breach_data(login: Login, unit, rule, unexplained):
        _unit_allowed(login.who, unit)
        below = set(web.organisation.below(unit) if web.organisation else [unit]) if unit else None
        with web.engine.connect() as conn:
            as_of = _as_of(conn)
            rows = list_breaches(conn, None, rule, unexplained)
        rows = [r for r in rows if login.who.sees(r.unit, None) and (below is None or r.unit in below)]
        return as_of, rows

    @app.get("/fristbrudd", response_class=HTMLResponse, include_in_schema=False)
    def breaches_page(request: Request, enhet: str | None = Query(None, max_length=64),
                      regel: str | None = Query(None, max_length=64), uten_grunn: bool = Query(False),
                      side: int = Query(1, ge=1, le=100_000)):
        login = _login(web, request, "fristbrudd")
        as_of, rows = breach_data(login, enhet or None, regel or None, uten_grunn)
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        side = min(side, pages)
        shown = rows[(side - 1) * PAGE_SIZE: side * PAGE_SIZE]
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "fristbrudd", [(r.key.case_id, r.key.rule) for r in shown],
                                web.clock())
        query = {k: v for k, v in {"enhet": enhet, "regel": regel, "uten_grunn": "1" if uten_grunn else None}.items()
                 if v}
        return _page(web, request, "breaches.html", login.who, csrf=login.csrf, as_of=as_of, rows=shown,
                     total=len(rows), unit=enhet, rule=regel, unexplained=uten_grunn, page=side, pages=pages,
                     units=_units_for(web, login.who), rules=sorted(r.id for r in web.rules), query=query,
                     qs=urlencode, active="fristbrudd", may_change=login.who.may("grunn"))

    @app.get("/api/breaches", tags=["fristbrudd"])
    def api_breaches(request: Request, unit: str | None = Query(None, max_length=64),
                     rule: str | None = Query(None, max_length=64), unexplained: bool = Query(False)) -> dict:
        """The breaches (late or overdue) of the units the user holds, with their reasons."""
        login = _login(web, request, "fristbrudd")
        as_of, rows = breach_data(login, unit, rule, unexplained)
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "view", "api/breaches", [(r.key.case_id, r.key.rule) for r in rows],
                                web.clock())
        return {"as_of": as_of.isoformat(), "breaches": [
            {"case_id": r.key.case_id, "rule": r.key.rule, "subject": r.key.subject, "period": r.key.period,
             "seq": r.key.seq, "unit": r.unit, "status": r.status, "due_on": r.due_on.isoformat(),
             "met_on": r.met_on.isoformat() if r.met_on else None, "days_late": r.days_late, "reason": r.reason,
             "action": r.action, "follow_up": r.follow_up} for r in rows]}

    # --- Drift ----------------------------------------------------------------------------------

    def operations_data():
        from frister.cli.run_cmd import DEFAULT_GRACE, parse_age
        from frister.escalation.backlog import status_counts
        from frister.nightly.health import check

        grace_text = web.settings.get("FRISTER_DELIVERY_GRACE") or DEFAULT_GRACE
        with web.engine.connect() as conn:
            health = check(conn, web.clock(), dt.timedelta(hours=26), parse_age(grace_text), "26h", grace_text)
            runs = queries.last_runs(conn)
            counts = status_counts(conn)
        return health, runs, counts

    @app.get("/drift", response_class=HTMLResponse, include_in_schema=False)
    def operations(request: Request):
        login = _login(web, request, "drift")
        health, runs, counts = operations_data()
        return _page(web, request, "operations.html", login.who, csrf=login.csrf, health=health, runs=runs,
                     counts=counts, active="drift")

    @app.get("/api/operations", tags=["drift"])
    def api_operations(request: Request) -> dict:
        """The night's health, the last runs and the notices by status (counts only)."""
        _login(web, request, "drift")
        health, runs, counts = operations_data()
        return {"healthy": health.ok, "summary": health.summary, "problems": health.problems,
                "changed_cases": health.changed_cases, "notices": counts,
                "runs": [{"id": r.id, "as_of": r.as_of.isoformat(), "status": r.status, "obligations": r.obligations,
                          "notices_created": r.notices_created, "sent": r.sent, "waiting": r.waiting, "dead": r.dead}
                         for r in runs]}

    # --- Rapporter ---------------------------------------------------------------------------------

    @app.get("/rapporter", response_class=HTMLResponse, include_in_schema=False)
    def reports_page(request: Request):
        login = _login(web, request, "rapporter")
        with web.engine.connect() as conn:
            as_of = _as_of(conn)
        last_half = f"{as_of.year - 1}-H2" if as_of.month <= 6 else f"{as_of.year}-H1"
        return _page(web, request, "reports.html", login.who, csrf=login.csrf, as_of=as_of,
                     start=as_of.replace(day=1), month=as_of.strftime("%Y-%m"), half=last_half,
                     year=as_of.year - 1, active="rapporter")

    @app.get("/rapporter/revisjon", tags=["rapporter"])
    def audit_report(request: Request, fra: dt.date = Query(...), til: dt.date = Query(...),
                     format: str = Query("html", pattern="^(html|csv|xlsx)$")):
        """The audit listing (every deadline due from ``fra`` to ``til``) of the units the
        user holds, as HTML, CSV or XLSX."""
        from frister.reports.audit import build_audit
        from frister.reports.formats import render_report

        login = _login(web, request, "rapporter")
        units = () if login.who.all_units else login.who.units
        try:
            with web.engine.connect() as conn:
                listing = build_audit(conn, web.rules, fra, til, _as_of(conn), (), units,
                                      organisation=web.organisation)
        except FristerError as exc:
            raise HTTPException(400, str(exc)) from None
        rows = [r for r in (*listing.rows, *listing.local_rows)]
        if any(not login.who.sees(r.result.unit, None) for r in rows):  # never: build_audit selects the units
            raise HTTPException(403, NO_ACCESS)
        with web.engine.begin() as conn:
            accounts.log_access(conn, login.user, "download", "rapporter/revisjon",
                                [(r.result.case_id, r.result.rule) for r in rows], web.clock())
        return _report(render_report("audit", listing, format, web.settings.templates_dir), format,
                       f"revisjonsliste-{fra.isoformat()}-{til.isoformat()}")

    def whole_service(login: Login, name: str) -> None:
        if not login.who.all_units:
            raise HTTPException(403, f"{name} gjelder hele tjenesten: den er for barnevernsjefen.")

    @app.get("/rapporter/maned", tags=["rapporter"])
    def monthly_report(request: Request, maned: str = Query(..., pattern="^[0-9]{4}-(0[1-9]|1[0-2])$"),
                       format: str = Query("html", pattern="^(html|xlsx|json)$"), vis: bool = Query(False)):
        """The monthly report of the whole service (barnevernsjef and inspector only);
        ``vis=1`` shows the HTML in the browser instead of downloading it."""
        from frister.reports.formats import render_report
        from frister.reports.monthly import build_monthly

        login = _login(web, request, "rapporter")
        whole_service(login, "Månedsrapporten")
        month = dt.date(int(maned[:4]), int(maned[5:]), 1)
        with web.engine.connect() as conn:
            ctx = build_monthly(conn, web.rules, month, _as_of(conn), web.organisation)
        return _report(render_report("monthly", ctx, format, web.settings.templates_dir), format,
                       f"manedsrapport-{maned}", vis)

    def report_config():
        from frister.reports.periodic import figure_keys
        from frister.reports.targets import load_report_config

        return load_report_config(web.settings.report_config, figure_keys())

    @app.get("/rapporter/halvar", tags=["rapporter"])
    def half_year_report(request: Request, periode: str = Query(..., pattern="^[0-9]{4}-H[12]$"),
                         format: str = Query("html", pattern="^(html|xlsx|json)$"), vis: bool = Query(False)):
        """The half-year report of the whole service, as ``frister report half-year``
        (barnevernsjef and inspector only)."""
        from frister.reports import period
        from frister.reports.formats import render_report
        from frister.reports.periodic import build_period

        login = _login(web, request, "rapporter")
        whole_service(login, "Halvårsrapporten")
        try:
            with web.engine.connect() as conn:
                ctx = build_period(conn, web.rules, period.half_year(periode), _as_of(conn), web.organisation, None,
                                   report_config(), ())
        except FristerError as exc:
            raise HTTPException(400, str(exc)) from None
        return _report(render_report("half-year", ctx, format, web.settings.templates_dir), format,
                       f"halvarsrapport-{periode}", vis)

    @app.get("/rapporter/ar", tags=["rapporter"])
    def annual_report(request: Request, ar: int = Query(..., ge=1993, le=2200), antall: int = Query(5, ge=1, le=15),
                      format: str = Query("html", pattern="^(html|xlsx|json)$"), vis: bool = Query(False)):
        """The annual figures (tilstandsrapport) of the whole service for ``antall`` years
        ending with ``ar``, as ``frister report annual`` (barnevernsjef and inspector only)."""
        from frister.reports.formats import render_report
        from frister.reports.periodic import build_annual

        login = _login(web, request, "rapporter")
        whole_service(login, "Årsrapporten")
        try:
            with web.engine.connect() as conn:
                ctx = build_annual(conn, web.rules, ar, antall, _as_of(conn), web.organisation, None, report_config(),
                                   ())
        except FristerError as exc:
            raise HTTPException(400, str(exc)) from None
        return _report(render_report("annual", ctx, format, web.settings.templates_dir), format,
                       f"arsrapport-{ar}", vis)

    # --- static -----------------------------------------------------------------------------------

    css = (web.settings.templates_dir / "web" / "frister.css").read_bytes()

    @app.get("/static/frister.css", include_in_schema=False)
    def stylesheet():
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


REPORT_TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# A report is a file of its own with its styles inline (for printing): still no script.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


def _report(data: bytes, fmt: str, name: str, show: bool = False) -> Response:
    """A report to download, or (``show``, HTML only) to view in the browser."""
    disposition = "inline" if show and fmt == "html" else "attachment"
    return Response(data, media_type=REPORT_TYPES[fmt], headers={
        "Content-Disposition": f'{disposition}; filename="{name}.{fmt}"', "Content-Security-Policy": REPORT_CSP})


def _logged_in(web: Web, token: str, home: str) -> Response:
    response = RedirectResponse("/" + home, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=web.secure_cookies, httponly=True, samesite="lax")
    return response


NORWEGIAN = {  # the start of the breach register's message: the page's wording
    "the corrective action must not be empty": "Skriv hvilket tiltak som er satt i verk.",
    "the corrective action is longer": "Tiltaket er for langt (høyst 2000 tegn).",
    "unknown reason code": "Velg en grunn fra listen.",
    "the note is longer": "Merknaden er for lang (høyst 2000 tegn).",
    "the owner is longer": "Ansvarlig er for langt (høyst 64 tegn).",
    "follow-up date": "Oppfølgingsdatoen må være en dato (ÅÅÅÅ-MM-DD).",
    "decision": "Beslutningen gjelder ikke denne fristen.",
    "closing a deviation needs a note": "Skriv en merknad når avviket lukkes: hva som er gjort, "
                                        "eller hvorfor det ikke kan rettes.",
    "no assessment is recorded": "Registrer en vurdering (grunn og tiltak) før du endrer avvikets status.",
    "unknown status": "Velg en status fra listen.",
    "expected who": "Brukernavnet ditt er for langt til å registreres (høyst 64 tegn).",
}


def _norwegian(message: str) -> str:
    """The page's wording for the breach register's errors (the CLI's are English)."""
    for start, text in NORWEGIAN.items():
        if message.startswith(start):
            return text
    if message.startswith("no ") and " notice has been sent" in message:
        return "Det er ikke sendt noe varsel på dette trinnet: ingenting å kvittere for."
    return "Vurderingen kunne ikke lagres: fristen er ikke åpen eller brutt i siste evaluering."
