"""National-scale benchmark: how close frister's work comes to the speed of reading the data.

    python bench/nightly.py --cases 1000000 --database sqlite|postgresql|URL [--keep]

One run, one database, in this order (each step in a fresh process, so that its peak
memory is its own; its time is measured inside the process around the work):

1. **load**: ``--cases`` cases of a decade in the national shape, from the demo's
   generator (:mod:`frister.demo.generate`), written as a contract file and imported
   (:func:`frister.importer.import_file`); the export of the next day is written too,
   with a new referral in 1 % of the cases;
2. **raw scan**: one plain ``SELECT`` of the columns the reader reads, per fact table,
   through the driver's cursor, doing nothing per row (median of three passes);
3. **evaluate** (nothing stored, what ``frister evaluate --no-store --format summary``
   does) and **evaluate and store** (what ``frister evaluate`` does);
4. **first night**: ``frister run`` as of D (every notice of the decade's backlog);
5. **import** of the next day's export (99 % unchanged), then the **second night**:
   ``frister run`` as of D+1, a repeated night after a 1 % change, also timed as a whole
   command (interpreter start-up included), against evaluate and store;
6. **reports**: the audit listing for the half-year before D (CSV), the monthly report
   of D's month and the half-year report before D, against the raw scan;
7. **peak memory** of every step.

The last five lines are the ratios ``audit``, ``monthly``, ``half-year``,
``evaluate-and-store`` and ``evaluate`` to the raw scan. ``sqlite`` is a file in a
temporary directory; ``postgresql`` a database created on ``--postgres-server`` and
dropped at the end; a URL must name an empty database (it is migrated and filled, and
left). ``--keep`` keeps everything; ``--skip run,import,reports`` leaves steps out;
``--in-process`` runs every step in this process (the smoke test does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
RULES = ROOT / "rules"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AS_OF = date(2026, 6, 10)  # a Wednesday mid-quarter: the next night starts no visit period
YEARS = 10
CHANGED_SHARE = 0.01
SCAN_PASSES = 3


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the steps (each runs in a process of its own) -----------------------------------


def step_load(url: str, as_of: str, cases: str, seed: str, export: str, tmp: str, **_) -> dict:
    """Generate, write and import the cases; write the next day's export."""
    from frister.db.engine import create_db_engine, migrate
    from frister.demo.generate import NATIONAL, generate_cases, write_jsonl
    from frister.importer import import_file

    day = date.fromisoformat(as_of)
    engine = create_db_engine(url)
    migrate(engine, MIGRATIONS)
    first = Path(tmp) / "first.jsonl"
    t0 = time.perf_counter()
    n = write_jsonl(first, generate_cases(day, int(seed), int(cases), YEARS, NATIONAL))
    generated = time.perf_counter() - t0
    stats = import_file(engine, first, day)
    seconds = time.perf_counter() - t0
    changed = write_jsonl(export, _next_day(generate_cases(day, int(seed), int(cases), YEARS, NATIONAL), day,
                                            int(seed))) if export else 0
    first.unlink()
    engine.dispose()
    return {"seconds": seconds, "generated": generated, "cases": n, "summary": stats.summary(), "changed": changed,
            "rss_mb": _maxrss_mb()}


def _next_day(records, day: date, seed: int):
    """Every case again; 1 % of them (deterministic) with a referral received the next day."""
    rnd = random.Random(seed)
    for doc in records:
        if rnd.random() < CHANGED_SHARE:
            refs = doc.setdefault("referrals", [])
            refs.append({"id": f"M{len(refs) + 1}n", "received_on": (day + timedelta(days=1)).isoformat()})
        yield doc


def scan_statements() -> dict[str, str]:
    """One ``SELECT`` per fact table of exactly the columns the reader reads."""
    from frister.facts.vocabulary import CASE_FIELDS, RECORDED
    from frister.store.tables import SUBJECT_TABLES

    out = {"cases": "SELECT " + ", ".join(f.name for f in CASE_FIELDS) + ", fingerprint FROM cases"}
    for st in RECORDED:
        out[st.table] = ("SELECT case_id, id, " + ", ".join(f.name for f in st.stored)
                         + f" FROM {SUBJECT_TABLES[st.name].name}")
    return out


def step_scan(url: str, **_) -> dict:
    from frister.db.engine import create_db_engine

    engine = create_db_engine(url)
    raw = engine.raw_connection()
    passes, rows = [], 0
    for _ in range(SCAN_PASSES):
        t0 = time.perf_counter()
        rows = _scan_once(engine.dialect.name, raw.driver_connection, scan_statements())
        passes.append(time.perf_counter() - t0)
    raw.close()
    engine.dispose()
    return {"seconds": sorted(passes)[len(passes) // 2], "passes": passes, "rows": rows, "rss_mb": _maxrss_mb()}


def _scan_once(dialect: str, dbapi, statements: dict[str, str]) -> int:
    rows = 0
    for table, sql in statements.items():
        cur = dbapi.cursor(name=f"scan_{table}") if dialect == "postgresql" else dbapi.cursor()
        if dialect == "postgresql":
            cur.itersize = 10_000
        cur.execute(sql)
        for _ in cur:
            rows += 1
        cur.close()
    return rows


def step_evaluate(url: str, as_of: str, **_) -> dict:
    from frister.db.engine import create_db_engine
    from frister.evaluation.service import count_obligations
    from frister.rules.loader import load_rules

    engine, rules = create_db_engine(url), load_rules(RULES)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        counts = count_obligations(conn, rules, date.fromisoformat(as_of))
        seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "obligations": sum(counts.values()), "rss_mb": _maxrss_mb()}


def step_store(url: str, as_of: str, **_) -> dict:
    from frister.db.engine import create_db_engine
    from frister.evaluation.service import run_evaluation
    from frister.rules.loader import load_rules

    engine, rules = create_db_engine(url), load_rules(RULES)
    t0 = time.perf_counter()
    summary = run_evaluation(engine, rules, date.fromisoformat(as_of))
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "line": summary.line(), "rss_mb": _maxrss_mb()}


def step_import(url: str, as_of: str, export: str, **_) -> dict:
    from frister.db.engine import create_db_engine
    from frister.importer import import_file

    engine = create_db_engine(url)
    t0 = time.perf_counter()
    stats = import_file(engine, Path(export), date.fromisoformat(as_of))
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "summary": stats.summary(), "rss_mb": _maxrss_mb()}


def step_command(url: str, args: str, **_) -> dict:
    """One ``frister`` command as the CLI runs it (output to /dev/null), timed around it."""
    from frister.cli import build

    env = {"FRISTER_DATABASE_URL": url, "FRISTER_RULES_DIR": str(RULES)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            t0 = time.perf_counter()
            try:
                build().main(args=json.loads(args), prog_name="frister", standalone_mode=False)
            except SystemExit as exc:
                if exc.code:
                    raise SystemExit(f"frister {args} failed with exit status {exc.code}") from None
            seconds = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return {"seconds": seconds, "rss_mb": _maxrss_mb()}


STEPS = {"load": step_load, "scan": step_scan, "evaluate": step_evaluate, "store": step_store,
         "import": step_import, "command": step_command}


def _run_step(name: str, url: str, in_process: bool = False, **kwargs) -> dict:
    """Run one step in a fresh interpreter (or here, with ``in_process``): its report,
    with its peak RSS and (``wall``) the whole process's time."""
    kwargs = {k: str(v) for k, v in kwargs.items()}
    if in_process:
        return STEPS[name](url=url, **kwargs)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--url", url,
           "--step-args", json.dumps(kwargs)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step {name} failed")
    report = json.loads(out.strip().splitlines()[-1])
    return {**report, "rss_mb": usage.ru_maxrss / 1024, "wall": wall}


# --- databases -------------------------------------------------------------------------


class Database:
    """The database a benchmark runs on, created (and removed) as ``--database`` says."""

    def __init__(self, spec: str, keep: bool, pg_server: str):
        from sqlalchemy.engine import make_url

        self.keep, self.pg_server, self.pg_name = keep, pg_server, None
        self.tmp = Path(tempfile.mkdtemp(prefix="frister-bench-"))
        if spec == "sqlite":
            self.url = f"sqlite:///{self.tmp / 'bench.db'}"
        elif spec == "postgresql":
            self.pg_name = f"frister_bench_{uuid.uuid4().hex[:10]}"
            self._admin(f'CREATE DATABASE "{self.pg_name}"')
            self.url = make_url(pg_server).set(database=self.pg_name).render_as_string(hide_password=False)
        else:
            self.url = spec

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    def shown(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import text

        from frister.db.engine import create_db_engine

        admin = create_db_engine(self.pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()

    def cleanup(self) -> None:
        if self.keep:
            print(f"kept: {self.shown()} and {self.tmp}", file=sys.stderr)
            return
        if self.pg_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)


def _versions(db: Database) -> str:
    import platform
    import sqlite3

    from sqlalchemy import text

    from frister.db.engine import create_db_engine

    if db.dialect == "postgresql":
        engine = create_db_engine(db.url)
        with engine.connect() as conn:
            server = "PostgreSQL " + conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    else:
        server = f"SQLite {sqlite3.sqlite_version}"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{server}, Python {platform.python_version()}, {os.cpu_count()} CPUs, {mem:.0f} GB RAM"


# --- the benchmark -----------------------------------------------------------------------


def benchmark(args) -> None:
    as_of: date = args.as_of
    next_day = as_of + timedelta(days=1)
    db = Database(args.database, args.keep, args.postgres_server)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup below runs
    here = args.in_process
    export = db.tmp / "export.jsonl" if "import" not in args.skip else ""
    peaks: dict[str, float] = {}

    def step(label: str, name: str, **kwargs) -> dict:
        report = _run_step(name, db.url, here, **kwargs)
        peaks[label] = report["rss_mb"]
        return report

    def command(label: str, *argv: str) -> dict:
        return step(label, "command", args=json.dumps(list(argv)))

    try:
        print(f"database: {db.dialect} ({db.shown()}); {_versions(db)}", flush=True)
        load = step("load", "load", as_of=as_of, cases=args.cases, seed=args.seed, export=export, tmp=db.tmp)
        print(f"load: {load['seconds']:.1f} s ({load['cases']} cases generated in {load['generated']:.1f} s, "
              f"then {load['summary']}; the next day's export has {load['changed']} cases)", flush=True)
        scan = step("raw scan", "scan")
        passes = ", ".join(f"{p:.3f}" for p in scan["passes"])
        print(f"(1) raw scan: {scan['seconds']:.3f} s (median of {passes} s; {scan['rows']} rows)", flush=True)
        ev = step("evaluate", "evaluate", as_of=as_of)
        print(f"(2) evaluate (nothing stored): {ev['seconds']:.3f} s ({ev['obligations']} obligations)", flush=True)
        st = step("evaluate and store", "store", as_of=as_of)
        print(f"(2) evaluate and store: {st['seconds']:.3f} s ({st['line']})", flush=True)
        if "run" not in args.skip:
            first = command("first night", "run", "--as-of", as_of.isoformat(), "--transport", "console")
            print(f"(3) run, first night (as of {as_of}): {first['seconds']:.2f} s{_wall(first)}", flush=True)
        if "import" not in args.skip:
            imp = step("import", "import", as_of=next_day, export=export)
            print(f"(4) import: {imp['seconds']:.2f} s ({imp['summary']})", flush=True)
            if "run" not in args.skip:
                second = command("second night", "run", "--as-of", next_day.isoformat(), "--transport", "console")
                shown = second.get("wall", second["seconds"])
                print(f"(3) run, second night (as of {next_day}, after a 1 % change): {second['seconds']:.2f} s"
                      f"{_wall(second)} = {100 * shown / st['seconds']:.1f} % of evaluate and store "
                      f"(as a whole command)", flush=True)
        reports = {}
        if "reports" not in args.skip:
            half = _half_year_before(as_of)
            for key, argv in (
                ("audit", ("report", "audit", "--from", half[0], "--to", half[1], "--format", "csv",
                           "--output", str(db.tmp / "audit.csv"), "--as-of", as_of.isoformat())),
                ("monthly", ("report", "monthly", "--month", as_of.strftime("%Y-%m"),
                             "--output", str(db.tmp / "monthly.html"), "--as-of", as_of.isoformat())),
                ("half-year", ("report", "half-year", "--period", half[2], "--output", str(db.tmp / "half.html"),
                               "--as-of", as_of.isoformat())),
            ):
                reports[key] = command(key, *argv)
                print(f"(6) report {key}: {reports[key]['seconds']:.2f} s{_wall(reports[key])}", flush=True)
        top = max(peaks, key=peaks.get)
        print(f"(5) peak memory: {peaks[top]:.0f} MB ({top}); "
              + ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items()), flush=True)
        raw = max(scan["seconds"], 1e-6)
        for key, report in reports.items():
            print(f"ratio {key}/raw-scan: {report['seconds'] / raw:.2f}", flush=True)
        print(f"ratio evaluate-and-store/raw-scan: {st['seconds'] / raw:.2f}", flush=True)
        print(f"ratio evaluate/raw-scan: {ev['seconds'] / raw:.2f}", flush=True)
    finally:
        db.cleanup()


def _half_year_before(day: date) -> tuple[str, str, str]:
    """The last half-year that ended before ``day``: its first and last day and its label."""
    if day.month > 6:
        return f"{day.year}-01-01", f"{day.year}-06-30", f"{day.year}-H1"
    return f"{day.year - 1}-07-01", f"{day.year - 1}-12-31", f"{day.year - 1}-H2"


def _wall(r: dict) -> str:
    return f" ({r['wall']:.2f} s as a command)" if "wall" in r else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--database", default="sqlite", help="sqlite, postgresql, or an SQLAlchemy URL of an empty database")
    ap.add_argument("--keep", action="store_true", help="keep the database and the files")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    ap.add_argument("--postgres-server", default=DEFAULT_PG_SERVER,
                    help="where --database postgresql creates its database (default: %(default)s)")
    ap.add_argument("--skip", type=lambda v: set(filter(None, v.split(","))), default=set(),
                    help="comma-separated steps to leave out: run, import, reports")
    ap.add_argument("--in-process", action="store_true",
                    help="run every step in this process (faster start; peak memory is then the process's)")
    ap.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--step-args", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:
        print(json.dumps(STEPS[args.step](url=args.url, **json.loads(args.step_args))))
        return 0
    benchmark(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
