"""Every file the CLI creates is readable by its owner only (0600), whatever the umask.

The commands run as separate processes under the usual umask 022, on SQLite (the
database that lives in files; PostgreSQL's files are the server's). While they run, the
test holds a read lock on the database file as another reader would, so the last
connection of each command leaves the ``-wal`` and ``-shm`` files in place to be checked.
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from frister.cli import build

ROOT = Path(__file__).resolve().parents[2]
FRISTER = str(Path(sys.executable).parent / "frister")
SQLITE_SHARED_BYTES = (0x40000002, 510)  # the byte range SQLite's readers lock in the database file


def frister(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, FRISTER_DATABASE_URL=f"sqlite:///{tmp_path / 'frister.db'}",
               FRISTER_RULES_DIR=str(ROOT / "rules"))
    done = subprocess.run([FRISTER, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    return done


def test_every_file_the_cli_creates_is_0600_under_umask_022(tmp_path):
    frister(tmp_path, "demo", "--cases", "60", "--as-of", "2025-11-24", "--out", "demo")
    reader = os.open(tmp_path / "frister.db", os.O_RDONLY)
    try:
        fcntl.lockf(reader, fcntl.LOCK_SH, SQLITE_SHARED_BYTES[1], SQLITE_SHARED_BYTES[0])
        frister(tmp_path, "run", "--as-of", "2025-11-25", "--transport", "console", "--quiet")
        audit = ("report", "audit", "--from", "2025-01-01", "--to", "2025-12-31")
        for fmt in ("csv", "xlsx", "html"):
            frister(tmp_path, *audit, "--format", fmt, "--output", f"rapporter/tilsyn.{fmt}")
        frister(tmp_path, "report", "monthly", "--month", "2025-11", "--output", "rapporter/maaned.html")
        frister(tmp_path, "report", "half-year", "--period", "2025-H2", "--output", "rapporter/halvaar.html")
        frister(tmp_path, "report", "annual", "--year", "2025", "--years", "2", "--output", "rapporter/aar.html")
        files = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode)
                 for p in tmp_path.rglob("*") if p.is_file()}
        health = frister(tmp_path, "health")
    finally:
        os.close(reader)
    assert set(files) == {
        "frister.db", "frister.db-wal", "frister.db-shm", "frister.db-run-lock",
        "demo/municipality.jsonl", "demo/maanedsrapport-2025-11.html", "demo/tilstandsrapport-2025.html",
        "rapporter/tilsyn.csv", "rapporter/tilsyn.xlsx", "rapporter/tilsyn.html",
        "rapporter/maaned.html", "rapporter/halvaar.html", "rapporter/aar.html",
    }
    assert {name: mode for name, mode in files.items() if mode != 0o600} == {}
    assert {stat.S_IMODE(d.stat().st_mode) for d in (tmp_path / "demo", tmp_path / "rapporter")} == {0o700}
    assert "warning" not in health.stderr


def test_health_warns_when_the_database_file_is_readable_by_others(tmp_path, monkeypatch):
    database = tmp_path / "frister.db"
    monkeypatch.setenv("FRISTER_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("FRISTER_RULES_DIR", str(ROOT / "rules"))
    assert CliRunner().invoke(build(), ["db", "upgrade"]).exit_code == 0
    assert stat.S_IMODE(database.stat().st_mode) == 0o600  # created so by the engine, umask or not
    quiet = CliRunner().invoke(build(), ["health"])
    assert quiet.stderr == ""
    database.chmod(0o644)
    warned = CliRunner().invoke(build(), ["health"])
    assert warned.exit_code == 1  # no run yet: the warning does not change the verdict
    assert warned.stderr == (f"warning: {database} is open to its group or others (mode 0644); "
                             f"run 'chmod 600 {database}' and set UMask=0077 (deploy/README.md)\n")


def test_the_systemd_units_set_the_same_umask():
    for unit in sorted((ROOT / "deploy").glob("*.service")):
        assert "\nUMask=0077\n" in unit.read_text(), unit.name
