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
DEFAULT_LOCK_WAIT_SECONDS = 600
DEFAULT_MAX_REMOVED_PERCENT = 10


def project_dir(name: str) -> Path:
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
    rules_dir: Path = field(default_factory=lambda: project_dir("rules"))
    migrations_dir: Path = field(default_factory=lambda: project_dir("migrations"))
    templates_dir: Path = field(default_factory=lambda: project_dir("templates"))
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
    def config_dir(self) -> Path:
        """``FRISTER_CONFIG_DIR``, else the bundled ``config/``."""
        return Path(self.get("FRISTER_CONFIG_DIR") or project_dir("config"))

    @property
    def local_config(self) -> Path:
        """The service's local settings: ``FRISTER_LOCAL_CONFIG``, else ``local.yaml`` in the config directory."""
        return Path(self.get("FRISTER_LOCAL_CONFIG") or self.config_dir / "local.yaml")

    @property
    def organisation_file(self) -> Path | None:
        """The organisation file (municipalities, unit tree, leaders):
        ``FRISTER_ORGANISATION_CONFIG``, else ``organisation.yaml`` in the config directory
        when it exists; None without one (reports then list the data's units flat)."""
        named = self.get("FRISTER_ORGANISATION_CONFIG")
        if named:
            return Path(named)
        found = self.config_dir / "organisation.yaml"
        return found if found.is_file() else None

    @property
    def report_config(self) -> Path | None:
        """Targets and comparison values of the reports: ``FRISTER_REPORTS_CONFIG``, else
        ``reports.yaml`` in the config directory when it exists; None without one."""
        named = self.get("FRISTER_REPORTS_CONFIG")
        if named:
            return Path(named)
        found = self.config_dir / "reports.yaml"
        return found if found.is_file() else None

    @property
    def debug(self) -> bool:
        """``FRISTER_DEBUG=1``: show tracebacks of internal errors (never on by default)."""
        return (self.get("FRISTER_DEBUG") or "") not in ("", "0")

    @property
    def lock_wait(self) -> float:
        """``FRISTER_LOCK_WAIT_SECONDS`` (default 600): how long an import, a purge or a
        night waits for another one that holds the database, before giving up (exit 75)."""
        return _number(self, "FRISTER_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS, 0, 86_400, "seconds")

    @property
    def max_removed_share(self) -> float:
        """``FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT`` (default 10) as a share: a full
        import that would remove more of the stored cases is refused (``--allow-shrink``)."""
        return _number(self, "FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT", DEFAULT_MAX_REMOVED_PERCENT, 0, 100,
                       "a percentage") / 100

    @property
    def register_xsd(self) -> Path | None:
        """``FRISTER_REGISTER_XSD``: SSB's schema file (``Barnevern_v4.0.1.xsd``); when
        set, each register XML document is validated against it before it is read."""
        named = self.get("FRISTER_REGISTER_XSD")
        return Path(named) if named else None

    @property
    def retention_years(self) -> int | None:
        """``FRISTER_RETENTION_YEARS``: how many years after a case's last activity its
        facts are kept (:mod:`frister.store.retention`); unset, nothing is purged."""
        text = self.get("FRISTER_RETENTION_YEARS")
        if not text:
            return None
        return int(_number(self, "FRISTER_RETENTION_YEARS", None, 1, 100, "a whole number of years", whole=True))

    def get(self, name: str, default: str | None = None) -> str | None:
        """Read another setting (SMTP and friends) with ``*_FILE`` support."""
        return read_env(self.environ, name, default)


def _number(settings: Settings, name: str, default: float | None, low: float, high: float, what: str,
            whole: bool = False) -> float:
    """A numeric setting between ``low`` and ``high``, or ``default`` when unset."""
    text = settings.get(name)
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # NaN fails too
        raise ConfigError(f"{name}: expected {what} from {low:g} to {high:g}")
    return value
