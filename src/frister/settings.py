"""Settings: the one place that reads the process environment.

Every other module receives a :class:`Settings` (or plain values from it). A variable
``NAME_FILE`` is honoured for secrets: the value is read from that file (as with
Docker and systemd credentials) and trailing newlines are stripped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from frister.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///frister.db"


def _project_dir(name: str) -> Path:
    """Find a data directory shipped with frister (``rules``, ``migrations``, ``templates``).

    A source checkout (editable install) has them at the repository root; a wheel
    carries them under ``frister/_data``.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_data" / name
    if packaged.is_dir():
        return packaged
    return here.parent.parent / name


def read_env(environ: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """Return ``environ[name]``, or the content of the file named by ``name_FILE``."""
    if name in environ and environ[name] != "":
        return environ[name]
    file_var = f"{name}_FILE"
    if file_var in environ and environ[file_var] != "":
        path = Path(environ[file_var])
        try:
            return path.read_bytes().decode("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{file_var}: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{file_var}: {path} is not UTF-8 text") from None
    return default


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    rules_dir: Path = field(default_factory=lambda: _project_dir("rules"))
    migrations_dir: Path = field(default_factory=lambda: _project_dir("migrations"))
    templates_dir: Path = field(default_factory=lambda: _project_dir("templates"))
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        kwargs: dict = {"environ": env}
        url = read_env(env, "FRISTER_DATABASE_URL")
        if url:
            kwargs["database_url"] = url
        rules = read_env(env, "FRISTER_RULES_DIR")
        if rules:
            kwargs["rules_dir"] = Path(rules)
        templates = read_env(env, "FRISTER_TEMPLATES_DIR")
        if templates:
            kwargs["templates_dir"] = Path(templates)
        return cls(**kwargs)

    @property
    def debug(self) -> bool:
        """``FRISTER_DEBUG=1``: show tracebacks of internal errors (never on by default)."""
        return (self.get("FRISTER_DEBUG") or "") not in ("", "0")

    def get(self, name: str, default: str | None = None) -> str | None:
        """Read another setting (SMTP and friends) with ``*_FILE`` support."""
        return read_env(self.environ, name, default)
