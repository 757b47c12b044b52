"""``frister web``, ``frister user`` and ``frister access-log``: the leaders' web pages,
their accounts, and who has looked at a case."""

from __future__ import annotations

import datetime as dt

import click

from frister.cli.common import CASE_REF, TEXT, App, pass_app, print_table


def register(group: click.Group) -> None:
    group.add_command(web)
    group.add_command(user)
    group.add_command(access_log)


def make_web(app: App, example_organisation: bool = False):
    from frister.organisation import organisation_of
    from frister.web.app import Web

    organisation = organisation_of(app.settings, example=example_organisation)
    return Web(app.settings, app.rules(), organisation, app.ready_engine())


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (behind a TLS proxy).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--example-organisation", is_flag=True,
              help="Without an organisation file, use the bundled example's (the demo).")
@pass_app
def web(app: App, host: str, port: int, example_organisation: bool) -> None:
    """Serve the leaders' web pages and the JSON API (/api/, schema at /api/openapi.json).

    Put it behind a reverse proxy with TLS (deploy/web.md): the session cookie is
    Secure. Settings: FRISTER_WEB_SECRET, FRISTER_WEB_IDLE_MINUTES (30),
    FRISTER_OIDC_ISSUER, FRISTER_OIDC_CLIENT_ID, FRISTER_OIDC_CLIENT_SECRET,
    FRISTER_WEB_BASE_URL."""
    import uvicorn

    from frister.web.app import create_app

    application = create_app(make_web(app, example_organisation))
    click.echo(f"frister web on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=True, server_header=False)


@click.group()
def user() -> None:
    """Accounts of the web pages."""


@user.command("add")
@click.argument("email", type=TEXT)
@click.option("--role", required=True, type=click.Choice(["barnevernsjef", "avdelingsleder", "teamleder",
                                                          "saksbehandler", "inspector", "operator"]))
@click.option("--unit", "units", multiple=True, type=TEXT, help="A unit led (avdelingsleder, teamleder); repeat.")
@click.option("--caseworker", type=TEXT, default=None, help="A saksbehandler's caseworker code.")
@click.option("--password-file", type=click.File("r", encoding="utf-8"), default=None,
              help="Read the password from this file ('-': standard input); else prompt. Omit with --oidc-only.")
@click.option("--oidc-only", is_flag=True, help="No local password: the user logs in through OpenID Connect.")
@pass_app
def user_add(app: App, email, role, units, caseworker, password_file, oidc_only) -> None:
    """Create a user (or replace its role, units and password), EMAIL as login."""
    from frister.evaluation.service import utcnow
    from frister.organisation import organisation_of
    from frister.web.accounts import add_user

    if oidc_only:
        password = None
    elif password_file is not None:
        password = password_file.read().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    organisation = organisation_of(app.settings)
    known = set(organisation.units) if organisation else None
    with app.ready_engine().begin() as conn:
        made = add_user(conn, email, role, tuple(units), caseworker, password, known, utcnow())
    click.echo(f"user {made.email}: {made.role}" + (f", units {', '.join(made.units)}" if made.units else "")
               + (f", caseworker {made.caseworker}" if made.caseworker else ""))


@user.command("list")
@pass_app
def user_list(app: App) -> None:
    """List the users, their roles and units."""
    from frister.web.accounts import list_users

    with app.ready_engine().connect() as conn:
        users = list_users(conn)
    print_table("users", ["email", "role", "units", "caseworker"],
                [(u.email, u.role, ", ".join(u.units), u.caseworker or "") for u in users])


@user.command("remove")
@click.argument("email", type=TEXT)
@pass_app
def user_remove(app: App, email) -> None:
    """Remove a user, end their sessions and delete their API tokens."""
    from frister.web.accounts import remove_user

    with app.ready_engine().begin() as conn:
        removed = remove_user(conn, email)
    if not removed:
        raise click.BadParameter("no such user", param_hint="EMAIL")
    click.echo("removed")


@user.group("token")
def token() -> None:
    """API tokens: a program (a case system, Power BI) reads /api/ as a user, GET only."""


@token.command("add")
@click.argument("email", type=TEXT)
@click.option("--name", required=True, type=TEXT, help="What the token is for (e.g. powerbi); unique per user.")
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True, help="Days until it expires.")
@pass_app
def token_add(app: App, email, name, days) -> None:
    """Make an API token for EMAIL and print it, once: only its SHA-256 is stored."""
    from frister.clock import local_text
    from frister.evaluation.service import utcnow
    from frister.web.accounts import add_token, normal_email

    now = utcnow()
    with app.ready_engine().begin() as conn:
        made = add_token(conn, email, name, now, days)
    click.echo(f"token {name.strip()!r} of {normal_email(email)}, expires {local_text(now + dt.timedelta(days=days))}"
               " (Oslo); it is shown this once: store it now", err=True)
    click.echo(made)


@token.command("list")
@click.argument("email", type=TEXT)
@pass_app
def token_list(app: App, email) -> None:
    """The user's API tokens: names, dates and state (never the token)."""
    from frister.clock import local_text
    from frister.evaluation.service import utcnow
    from frister.web.accounts import list_tokens, normal_email

    with app.ready_engine().connect() as conn:
        tokens = list_tokens(conn, email)
    now = utcnow()
    print_table(f"API tokens of {normal_email(email)}", ["name", "state", "created (Oslo)", "expires", "last used",
                                                           "revoked"],
                [(t.name, t.state(now), local_text(t.created_at), local_text(t.expires_at),
                  local_text(t.last_used_at), local_text(t.revoked_at)) for t in tokens])


@token.command("revoke")
@click.argument("email", type=TEXT)
@click.argument("name", type=TEXT)
@pass_app
def token_revoke(app: App, email, name) -> None:
    """Revoke the user's API token NAME: it is refused from the next request on."""
    from frister.evaluation.service import utcnow
    from frister.web.accounts import revoke_token

    with app.ready_engine().begin() as conn:
        revoked = revoke_token(conn, email, name, utcnow())
    if not revoked:
        raise click.BadParameter("no live token of that name", param_hint="NAME")
    click.echo("revoked")


@click.command("access-log")
@click.option("--case", "case_id", required=True, type=CASE_REF, help="The case reference.")
@pass_app
def access_log(app: App, case_id: str) -> None:
    """Who viewed, downloaded or changed a case in the web pages or the API, and when
    (Europe/Oslo), oldest first."""
    from frister.clock import local_text
    from frister.web.accounts import access_of

    with app.ready_engine().connect() as conn:
        rows = access_of(conn, case_id)
    if not rows:
        click.echo(f"no access to case {case_id} recorded")
        return
    print_table(f"access to case {case_id}", ["when (Oslo)", "user", "role", "action", "page", "rule"],
                [(local_text(r.at), r.user_email, r.role, r.action, r.page, r.rule or "") for r in rows])
