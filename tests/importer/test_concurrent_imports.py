"""Imports serialised by the run lock: two imports started together, as separate
processes, on both databases: one imports, the other waits (or exits 75); the stored
state is one import's; stderr holds no connection detail."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from frister.db.locks import run_lock
from frister.demo.generate import generate_cases, write_jsonl
from frister.facts.parse import parse_case
from frister.importer.jsonl import fingerprint
from frister.store.tables import cases

from tests.conftest import ROOT

AS_OF = dt.date(2025, 11, 1)
FRISTER = str(Path(sys.executable).parent / "frister")
REFUSED = ("error: another nightly run, import or purge is in progress; this import did not start "
           "(try again later)\n")


@pytest.fixture
def export(tmp_path) -> tuple[Path, dict[str, str]]:
    """A generated municipality's export, and each case's fingerprint."""
    path = tmp_path / "export.jsonl"
    write_jsonl(path, generate_cases(AS_OF, cases=2500))
    expected = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        facts, case_id, problems = parse_case(line, as_of=AS_OF)
        assert not problems
        expected[case_id] = fingerprint(facts)
    return path, expected


def start(db_url: str, path: Path, **env: str) -> subprocess.Popen:
    environ = dict(os.environ, FRISTER_DATABASE_URL=db_url, FRISTER_RULES_DIR=str(ROOT / "rules"), **env)
    return subprocess.Popen([FRISTER, "import", str(path), "--as-of", AS_OF.isoformat()], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def stored(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(cases.c.case_id, cases.c.fingerprint)).all())


def no_connection_detail(db_url: str, text: str) -> bool:
    url = make_url(db_url)
    details = [d for d in (url.host, url.username, url.database if url.host else None) if d]
    details += [f"port {url.port}", f"port={url.port}"] if url.port else []
    return not any(d in text for d in details)


def test_two_imports_started_together_take_turns(engine, db_url, export):
    path, expected = export
    first, second = start(db_url, path), start(db_url, path)
    outcomes = sorted([finish(first), finish(second)], key=lambda o: o[1])
    n = len(expected)
    assert outcomes == [
        (0, f"imported {n} case(s): 0 new, 0 changed, {n} unchanged, 0 removed\n", ""),  # it waited
        (0, f"imported {n} case(s): {n} new, 0 changed, 0 unchanged, 0 removed\n", ""),
    ]
    assert stored(engine) == expected


def test_two_imports_started_together_without_waiting_one_imports_the_other_exits_75(engine, db_url, export):
    path, expected = export
    first, second = start(db_url, path, FRISTER_LOCK_WAIT_SECONDS="0"), \
        start(db_url, path, FRISTER_LOCK_WAIT_SECONDS="0")
    outcomes = sorted([finish(first), finish(second)], key=lambda o: o[0])
    n = len(expected)
    assert outcomes[0] == (0, f"imported {n} case(s): {n} new, 0 changed, 0 unchanged, 0 removed\n", "")
    # The other one found the lock taken (or, started late, found every case there).
    assert outcomes[1] in ((75, "", REFUSED),
                           (0, f"imported {n} case(s): 0 new, 0 changed, {n} unchanged, 0 removed\n", ""))
    assert stored(engine) == expected
    assert all(no_connection_detail(db_url, err) for _, _, err in outcomes)


def test_an_import_while_a_night_holds_the_lock_waits_then_exits_75_with_one_line(engine, db_url, export):
    path, _ = export
    with run_lock(engine):
        code, out, err = finish(start(db_url, path, FRISTER_LOCK_WAIT_SECONDS="1"))
    assert (code, out) == (75, "")
    assert err == REFUSED.replace("(try again later)", "(waited 1 s; try again later)")
    assert no_connection_detail(db_url, err)
    assert stored(engine) == {}
