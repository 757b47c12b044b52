"""The leaders' web pages (``frister web``): server-rendered pages in bokmål and a JSON
API on the same database, behind login, showing each user only the units they hold.

* :mod:`frister.web.models` — users, their units, sessions, the access log;
* :mod:`frister.web.access` — the one policy table (which role may use which page) and
  which obligations a user may see;
* :mod:`frister.web.accounts` — local accounts (argon2), sessions, the access log;
* :mod:`frister.web.queries` — what the pages show, read from the night's evaluation;
* :mod:`frister.web.app` — the ASGI application (FastAPI), its security headers and routes;
* :mod:`frister.web.oidc` — login through the municipality's OpenID Connect provider.
"""
