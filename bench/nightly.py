"""National-scale benchmark: how close the nightly work comes to the speed of reading the data.

One run, one database (issue 5)::

    python bench/nightly.py --cases 100000 --database sqlite|postgresql|URL [--keep]

1. generates and bulk-loads ``--cases`` cases (:mod:`generate`) and writes the
   contract-v1 export of the next day, in which 1 % of the cases have a new referral;
2. **raw scan**: streams exactly the columns the engine reads (captured from
   :func:`frister.store.facts.iter_case_facts` itself) through the DBAPI driver, one
   plain query per table, doing nothing per row;
3. **run, first night**: ``frister run --as-of D --transport console`` (output to
   /dev/null); the first run on the database, so it evaluates every case and creates
   the notices of the whole decade (a full nightly run);
4. **evaluate**: every case evaluated as of D, nothing stored
   (:func:`frister.evaluation.service.count_obligations`, what ``frister evaluate
   --no-store --format summary`` calls); then **evaluate and store**:
   :func:`frister.evaluation.service.run_evaluation` (what ``frister evaluate`` calls: the
   same, plus replacing the stored obligations and the per-case records in one
   transaction);
5. **run, the night after evaluate and store**: ``frister run --as-of D`` again. Evaluate
   and store rewrote every obligation, so this night reads every open and overdue one
   (:mod:`frister.escalation.derive`, the catch-up) and creates what is missing;
6. **import** of the export file as of D+1 (:func:`frister.importer.import_file`):
   99 % unchanged, 1 % replaced;
7. **run, second night**: ``frister run --as-of D+1`` after that import: a repeated
   night (incremental evaluation; notices of the deadlines that changed or can still
   get one);
8. **peak memory**: the RSS high-water mark of every step's process.

Each measured step runs in a fresh Python process of its own (``--step``), so its peak
RSS is its own (``getrusage``/``wait4``) and one step's caches do not flatter the next.
The time printed is measured inside the process around the work, without interpreter
start-up: for a night, around the whole ``frister run`` command as the CLI runs it
(settings, rules, configuration, schema check, imports the command makes, the night);
a night's time as a command, start-up included, is printed beside it. The last two
lines are ``ratio evaluate-and-store/raw-scan: X.XX`` and ``ratio evaluate/raw-scan:
X.XX``.

``sqlite`` is a file in a temporary directory; ``postgresql`` a database
``frister_bench_<random>`` created on ``--postgres-server`` and dropped at the end; a
URL must name an empty database (it is migrated and filled, and left as it is). Nothing
is cleaned up with ``--keep``. ``--skip run,import`` leaves those steps out (for a quick
figure at a million cases); ``--in-process`` runs every step in this process (the smoke
test does, to start one interpreter instead of seven; peak memory is then the process's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/ is not a package)

MIGRATIONS = ROOT / "migrations"
RULES = ROOT / "rules"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHANGED_SHARE = 0.01
SCAN_PASSES = 3  # the raw scan is short: its median over three passes is less at the mercy of a busy machine


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the steps (each runs in a process of its own) -----------------------------------


def scan_statements(engine) -> dict[str, str]:
    """The engine's read queries, one per table, without their WHERE/ORDER BY.

    Captured from :func:`iter_case_facts` on one case, so the raw scan reads exactly the
    columns the engine reads, also after the engine changes.
    """
    from sqlalchemy import event, select

    from frister.store import models as m
    from frister.store.facts import iter_case_facts

    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with engine.connect() as conn:
        first = conn.execute(select(m.Case.case_id).order_by(m.Case.case_id).limit(1)).scalar()
        if first is None:
            raise SystemExit("the database holds no cases")
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for _ in iter_case_facts(conn, [first]):
                pass
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    best: dict[str, tuple[int, str]] = {}
    for sql in seen:
        found = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s+(\w+)\b", sql, re.S | re.I)
        if not found:
            continue
        cols, table = found.group(1), found.group(2)
        n = cols.count(",") + 1
        if n > best.get(table, (0, ""))[0]:
            best[table] = (n, f"SELECT {cols} FROM {table}")
    return {t: s for t, (_, s) in best.items()}


def step_scan(url: str, **_) -> dict:
    """Stream the columns through the DBAPI cursor (server-side on PostgreSQL), three times."""
    from frister.db.engine import create_db_engine

    engine = create_db_engine(url)
    statements = scan_statements(engine)
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    passes = []
    for _ in range(SCAN_PASSES):
        t0 = time.perf_counter()
        rows = _scan_once(engine.dialect.name, dbapi, statements)
        passes.append(time.perf_counter() - t0)
    raw.close()
    engine.dispose()
    return {"seconds": sorted(passes)[len(passes) // 2], "passes": passes, "rows": rows,
            "tables": len(statements), "rss_mb": _maxrss_mb()}


def _scan_once(dialect: str, dbapi, statements: dict[str, str]) -> int:
    rows = 0
    for table, sql in statements.items():
        if dialect == "postgresql":
            with dbapi.cursor(name=f"scan_{table}") as cur:
                cur.itersize = 10_000
                cur.execute(sql)
                n = 0
                for n, _ in enumerate(cur, 1):
                    pass
        else:
            cur = dbapi.cursor()
            cur.execute(sql)
            n = 0
            for n, _ in enumerate(cur, 1):
                pass
            cur.close()
        rows += n
    return rows


def step_evaluate(url: str, as_of: str, **_) -> dict:
    """Every case evaluated, nothing stored: obligations counted per rule and status."""
    from frister.db.engine import create_db_engine
    from frister.evaluation.service import count_obligations
    from frister.rules.loader import load_rules

    engine = create_db_engine(url)
    rules = load_rules(RULES)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        counts = count_obligations(conn, rules, date.fromisoformat(as_of))
        seconds = time.perf_counter() - t0
    engine.dispose()
    by_status: dict[str, int] = {}
    for (_, status), n in counts.items():
        by_status[status] = by_status.get(status, 0) + n
    return {"seconds": seconds, "obligations": sum(by_status.values()), "by_status": by_status,
            "rss_mb": _maxrss_mb()}


def step_store(url: str, as_of: str, **_) -> dict:
    """Every case evaluated and the results stored as a run (``frister evaluate``)."""
    from frister.db.engine import create_db_engine
    from frister.evaluation.service import run_evaluation
    from frister.rules.loader import load_rules

    engine = create_db_engine(url)
    rules = load_rules(RULES)
    t0 = time.perf_counter()
    summary = run_evaluation(engine, rules, date.fromisoformat(as_of))
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "cases": summary.cases, "obligations": summary.obligations,
            "by_status": dict(summary.by_status), "mode": getattr(summary, "mode", "full"),
            "rss_mb": _maxrss_mb()}


def step_import(url: str, as_of: str, jsonl: str, **_) -> dict:
    from frister.db.engine import create_db_engine
    from frister.importer import import_file

    engine = create_db_engine(url)
    t0 = time.perf_counter()
    stats = import_file(engine, Path(jsonl), date.fromisoformat(as_of))
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "summary": stats.summary(), "rss_mb": _maxrss_mb()}


def step_load(url: str, as_of: str, cases: str, seed: str, jsonl: str | None = None, **_) -> dict:
    from frister.db.engine import create_db_engine, migrate

    day = date.fromisoformat(as_of)
    engine = create_db_engine(url)
    migrate(engine, MIGRATIONS)
    stats = generate.load(engine, int(cases), int(seed), day, Path(jsonl) if jsonl else None, CHANGED_SHARE,
                          day + timedelta(days=1))
    engine.dispose()
    return {"seconds": stats.seconds, "line": stats.line(), "cases": stats.cases, "changed": stats.changed,
            "jsonl_bytes": stats.jsonl_bytes, "rss_mb": _maxrss_mb()}


def _run_step(name: str, url: str, in_process: bool = False, **kwargs) -> dict:
    """Run one step in a fresh interpreter (or here, with ``in_process``); its JSON report
    with its peak RSS (in process: this process's high-water mark so far)."""
    if in_process:
        return STEPS[name](url=url, **{k: str(v) for k, v in kwargs.items()})
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--url", url]
    for key, value in kwargs.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed with exit status {proc.returncode}")
    report = json.loads(out.strip().splitlines()[-1])
    report["rss_mb"] = usage.ru_maxrss / 1024
    return report


# --- frister run ---------------------------------------------------------------------


def run_available() -> bool:
    """Whether this frister has the nightly ``run`` command (issue 3)."""
    try:
        from frister.cli import build
    except ImportError:
        return False
    return "run" in build().commands


def nightly_run(url: str, as_of: date, in_process: bool = False) -> dict:
    """``frister run --as-of D --transport console`` with its output to /dev/null, in a
    process of its own: its time measured inside that process around the command
    (``seconds``: like every other step, without interpreter start-up), the process's
    whole time (``wall``: the command as a scheduler starts it), its RSS and what it did."""
    if in_process:
        return {**step_night(url, as_of.isoformat()), **_last_run(url)}
    t0 = time.perf_counter()
    report = _run_step("night", url, as_of=as_of.isoformat())
    wall = time.perf_counter() - t0
    return {**report, "wall": wall, **_last_run(url)}


def step_night(url: str, as_of: str, **_) -> dict:
    """One ``frister run``, here: the time around the command, as the CLI runs it (settings,
    rules, configuration, schema check, the night), after importing the CLI's entry point."""
    args = ["run", "--as-of", as_of, "--transport", "console"]
    env = {"FRISTER_DATABASE_URL": url, "FRISTER_RULES_DIR": str(RULES)}
    return {**_nightly_run_here(args, env), "rss_mb": _maxrss_mb()}


STEPS = {"load": step_load, "scan": step_scan, "evaluate": step_evaluate, "store": step_store, "import": step_import,
         "night": step_night}


def _nightly_run_here(args: list[str], env: dict[str, str]) -> dict:
    import contextlib

    from frister.cli import build

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            t0 = time.perf_counter()
            try:
                build().main(args=args, prog_name="frister", standalone_mode=False)
            except SystemExit as exc:
                if exc.code:
                    raise SystemExit(f"frister run failed with exit status {exc.code}") from None
            seconds = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"seconds": seconds}


def _last_run(url: str) -> dict:
    """What the last nightly and evaluation runs recorded (counts, mode, cases re-evaluated)."""
    from sqlalchemy import text

    from frister.db.engine import create_db_engine

    engine = create_db_engine(url)
    out: dict = {}
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM nightly_runs ORDER BY id DESC LIMIT 1")).mappings().first()
        if row is not None:
            out.update(obligations=row.get("obligations"), notices=row.get("notices_created"),
                       emails=row.get("emails_sent"))
        ev = conn.execute(text("SELECT * FROM evaluation_runs ORDER BY id DESC LIMIT 1")).mappings().first()
        if ev is not None:
            out.update(mode=ev.get("mode") or "full", evaluated=ev.get("evaluated"))
            started, finished = ev.get("started_at"), ev.get("finished_at")
            if isinstance(started, str):  # SQLite gives the text
                started, finished = (datetime.fromisoformat(x) if x else None for x in (started, finished))
            if started is not None and finished is not None:
                out["evaluation_seconds"] = (finished - started).total_seconds()
    engine.dispose()
    return out


# --- databases -------------------------------------------------------------------------


class Database:
    """The database a benchmark runs on, created (and removed) as ``--database`` says."""

    def __init__(self, spec: str, keep: bool, pg_server: str):
        from sqlalchemy.engine import make_url

        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="frister-bench-"))
        self.pg_name: str | None = None
        self.pg_server = pg_server
        if spec == "sqlite":
            self.url = f"sqlite:///{self.tmp / 'bench.db'}"
        elif spec == "postgresql":
            self.pg_name = f"frister_bench_{uuid.uuid4().hex[:10]}"
            self._admin(f'CREATE DATABASE "{self.pg_name}"')
            self.url = make_url(pg_server).set(database=self.pg_name).render_as_string(hide_password=False)
        else:
            self.url = spec
        self.jsonl = self.tmp / "export.jsonl"

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
    try:
        print(f"database: {db.dialect} ({db.shown()}); {_versions(db)}", flush=True)
        here = args.in_process
        # The load runs in a process of its own too: a child's peak RSS on Linux starts at
        # its parent's RSS when it was forked, so this driver has to stay small.
        export = {} if "import" in args.skip else {"jsonl": db.jsonl}
        stats = _run_step("load", db.url, here, as_of=as_of.isoformat(), cases=args.cases, seed=args.seed, **export)
        print(f"data: {stats['line']}", flush=True)
        if not export:
            print(f"load (generate + bulk load): {stats['seconds']:.2f} s", flush=True)
        else:
            print(f"load (generate + bulk load + write export): {stats['seconds']:.2f} s; export file "
                  f"{stats['jsonl_bytes'] / 1e6:.1f} MB, all {stats['cases']} cases, {stats['changed']} changed",
                  flush=True)

        scan = _run_step("scan", db.url, here)
        passes = ", ".join(f"{p:.3f}" for p in scan["passes"])
        print(f"(1) raw scan: {scan['seconds']:.3f} s (median of {passes} s; {scan['rows']} rows from "
              f"{scan['tables']} tables; peak RSS {scan['rss_mb']:.0f} MB)", flush=True)

        runs: list[dict] = []
        if "run" in args.skip:
            print("(3) run: skipped (--skip run)", flush=True)
        elif run_available():
            # The first run on a database evaluates every case (there is no earlier run to
            # be incremental to) and creates the notices of the whole decade: a full night.
            first = nightly_run(db.url, as_of, here)
            runs.append(first)
            print(f"(3) run, first night (as of {as_of}, a full run): {first['seconds']:.2f} s{_wall(first)} "
                  f"({_run_detail(first)}; peak RSS {first['rss_mb']:.0f} MB)", flush=True)
        else:
            print("(3) run: not available yet", flush=True)

        ev = _run_step("evaluate", db.url, here, as_of=as_of.isoformat())
        statuses = ", ".join(f"{ev['by_status'].get(s, 0)} {s}" for s in ("met", "late", "open", "overdue"))
        print(f"(2) evaluate (nothing stored): {ev['seconds']:.3f} s ({ev['obligations']} obligations: {statuses}; "
              f"peak RSS {ev['rss_mb']:.0f} MB)", flush=True)
        st = _run_step("store", db.url, here, as_of=as_of.isoformat())
        stored = sum(st["by_status"].get(s, 0) for s in ("late", "open", "overdue"))
        print(f"(2) evaluate and store: {st['seconds']:.3f} s ({st['cases']} cases, {st['obligations']} obligations, "
              f"{stored} stored (late, open, overdue), mode {st['mode']}; peak RSS {st['rss_mb']:.0f} MB)", flush=True)

        if runs:
            # Evaluate and store rewrote every stored obligation, so the next night counts
            # each open and overdue one as changed and reads them all once (creating only
            # what is missing). Run that night here, as of D again, so that the second
            # night below is a repeated night like any other.
            again = nightly_run(db.url, as_of, here)
            runs.append(again)
            print(f"(3) run, the night after evaluate and store (as of {as_of} again; every deadline "
                  f"rewritten, so every open and overdue one is read): {again['seconds']:.2f} s{_wall(again)} "
                  f"({_run_detail(again)}; peak RSS {again['rss_mb']:.0f} MB)", flush=True)

        imp = None
        if "import" in args.skip:
            print("(4) import: skipped (--skip import)", flush=True)
        else:
            imp = _run_step("import", db.url, here, as_of=next_day.isoformat(), jsonl=db.jsonl)
            print(f"(4) import: {imp['seconds']:.2f} s ({imp['summary']}; peak RSS {imp['rss_mb']:.0f} MB)",
                  flush=True)

        if runs and imp is not None:
            second = nightly_run(db.url, next_day, here)
            runs.append(second)
            # Both measured inside their process, around the work; the night's time includes
            # what the command does besides (settings, rules, configuration, schema check).
            share = 100 * second["seconds"] / st["seconds"]
            wall = ""
            if "wall" in second:
                wall = (f"; as a command, with interpreter start-up: {second['wall']:.2f} s = "
                        f"{100 * second['wall'] / st['seconds']:.1f} %")
            print(f"(3) run, second night (after the import, as of {next_day}): "
                  f"{second['seconds']:.2f} s = {share:.1f} % of evaluate and store{wall} ({_run_detail(second)}; "
                  f"peak RSS {second['rss_mb']:.0f} MB)", flush=True)
            if second.get("evaluation_seconds") is not None:
                # The evaluation inside the run (its run record's start and finish), apart from
                # the notices the night creates and sends, which depend on the escalation ladder.
                # Against both full figures: a night stores what it evaluates, like evaluate
                # and store; the stricter reading compares it with evaluating alone.
                share = 100 * second["evaluation_seconds"] / st["seconds"]
                strict = 100 * second["evaluation_seconds"] / ev["seconds"]
                print(f"(3) second night's evaluation ({second['mode']}, {second['evaluated']} cases evaluated): "
                      f"{second['evaluation_seconds']:.2f} s = {share:.1f} % of evaluate and store, "
                      f"{strict:.1f} % of evaluate (nothing stored)", flush=True)

        peaks = {"raw scan": scan["rss_mb"], "evaluate": ev["rss_mb"], "evaluate and store": st["rss_mb"], **({"import": imp["rss_mb"]} if imp else {}),
                 **{name: r["rss_mb"] for name, r in zip(("run night 1", "run after store", "run night 2"), runs)}}
        top = max(peaks, key=peaks.get)
        # The loader is the benchmark's, not frister's (SQLite: a 256 MB page cache): shown apart.
        loader = f"; bench loader {stats['rss_mb']:.0f} MB" if not here else ""
        print(f"(5) peak memory: {peaks[top]:.0f} MB ({top}); "
              + ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items()) + loader, flush=True)
        print(f"ratio evaluate-and-store/raw-scan: {st['seconds'] / max(scan['seconds'], 1e-6):.2f}", flush=True)
        print(f"ratio evaluate/raw-scan: {ev['seconds'] / max(scan['seconds'], 1e-6):.2f}", flush=True)
    finally:
        db.cleanup()


def _wall(r: dict) -> str:
    return f" ({r['wall']:.2f} s as a command, with interpreter start-up)" if "wall" in r else ""


def _run_detail(r: dict) -> str:
    parts = []
    if r.get("obligations") is not None:
        parts.append(f"{r['obligations']} obligations")
    if r.get("notices") is not None:
        parts.append(f"{r['notices']} notices created, {r.get('emails') or 0} e-mails")
    if r.get("mode"):
        ev = f", {r['evaluated']} cases evaluated" if r.get("evaluated") is not None else ""
        parts.append(f"evaluation {r['mode']}{ev}")
    return "; ".join(parts) or "no run record"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--database", default="sqlite", help="sqlite, postgresql, or an SQLAlchemy URL of an empty database")
    ap.add_argument("--keep", action="store_true", help="keep the database and the export file")
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--as-of", type=date.fromisoformat, default=generate.DEFAULT_AS_OF)
    ap.add_argument("--postgres-server", default=DEFAULT_PG_SERVER,
                    help="where --database postgresql creates its database (default: %(default)s)")
    ap.add_argument("--skip", type=lambda v: set(filter(None, v.split(","))), default=set(),
                    help="comma-separated steps to leave out at large sizes: run, import")
    ap.add_argument("--in-process", action="store_true",
                    help="run every step in this process (faster start; peak memory is then the process's)")
    # Internal: one step in a process of its own.
    ap.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--jsonl", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:
        report = STEPS[args.step](url=args.url, as_of=args.as_of.isoformat(), jsonl=args.jsonl, cases=args.cases,
                                  seed=args.seed)
        print(json.dumps(report))
        return 0
    benchmark(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
