"""Login through the municipality's OpenID Connect provider (Entra ID is the usual one),
with Authlib's Starlette client: authorisation code flow with PKCE, the ID token's
signature checked against the provider's published keys, its issuer, audience, expiry
and nonce checked by Authlib.

Settings: ``FRISTER_OIDC_ISSUER`` (the issuer URL; its
``/.well-known/openid-configuration`` is read), ``FRISTER_OIDC_CLIENT_ID``,
``FRISTER_OIDC_CLIENT_SECRET`` (or ``_FILE``) and ``FRISTER_WEB_BASE_URL`` (the public
address behind the proxy, for the redirect URI ``<base>/oidc/callback``).

**Claims to users.** The provider says who someone is, frister what they may see: the
first of the claims ``email``, ``preferred_username``, ``upn`` is the login, and it must
be a user of ``frister user add`` (``--oidc-only`` for one without a local password);
the role and units are that user's. Anyone else is refused (403), so an account in the
municipality's directory sees nothing until the service gives it a role.
"""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError  # Authlib checks ID tokens with joserfc
from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from frister.errors import ConfigError
from frister.web import accounts

CLAIMS = ("email", "preferred_username", "upn")


class Provider:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None, base_url: str | None):
        self.issuer = issuer.rstrip("/")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.oauth = OAuth()
        self.client = self.oauth.register(
            name="frister", client_id=client_id, client_secret=client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"})


def provider_of(settings) -> Provider | None:
    issuer = settings.get("FRISTER_OIDC_ISSUER")
    if not issuer:
        return None
    client_id = settings.get("FRISTER_OIDC_CLIENT_ID")
    if not client_id:
        raise ConfigError("FRISTER_OIDC_CLIENT_ID: needed with FRISTER_OIDC_ISSUER")
    return Provider(issuer, client_id, settings.get("FRISTER_OIDC_CLIENT_SECRET"), settings.get("FRISTER_WEB_BASE_URL"))


def add(app: FastAPI, web) -> None:
    from frister.web.routes import _logged_in

    @app.get("/oidc/logg-inn", include_in_schema=False)
    async def oidc_login(request: Request):
        if web.oidc is None:
            raise HTTPException(404, "Innlogging via kommunens pålogging er ikke satt opp.")
        base = web.oidc.base_url or str(request.base_url).rstrip("/")
        return await web.oidc.client.authorize_redirect(request, f"{base}/oidc/callback")

    @app.get("/oidc/callback", include_in_schema=False)
    async def oidc_callback(request: Request):
        if web.oidc is None:
            raise HTTPException(404, "Innlogging via kommunens pålogging er ikke satt opp.")
        try:
            token = await web.oidc.client.authorize_access_token(request)
        except (OAuthError, JoseError, KeyError, ValueError):
            raise HTTPException(400, "Påloggingen kunne ikke bekreftes. Prøv igjen.") from None
        claims = token.get("userinfo") or {}
        login = next((claims[c] for c in CLAIMS if isinstance(claims.get(c), str)), None)
        user = await run_in_threadpool(_find, web, login) if login else None
        if user is None:
            raise HTTPException(403, "Du er ikke gitt tilgang til frister. Kontakt barneverntjenesten.")
        token_text = await run_in_threadpool(_start, web, user)
        return _logged_in(web, token_text, web.principal(user).home)


def _find(web, login: str):
    with web.engine.connect() as conn:
        return accounts.find_user(conn, login)


def _start(web, user) -> str:
    with web.engine.begin() as conn:
        return accounts.start_session(conn, user, web.clock())
