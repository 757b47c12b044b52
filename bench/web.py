"""The web pages under load: p95 of each page, 20 concurrent users on loopback.

    python bench/web.py [--cases 2000] [--users 20] [--rounds 10] [--database URL]

Builds the demo municipality (``--cases`` synthetic cases, evaluated as of today) in a
temporary SQLite file unless ``--database`` names a filled one, creates one
barnevernsjef per user, starts ``frister web`` (one process) on 127.0.0.1 and lets
``--users`` threads each fetch every page ``--rounds`` times, in turn, at once. Prints
per page the p95 and median of the server's own time (its ``Server-Timing`` header:
from the request's arrival in the app to its response) and of the round trip on
loopback (that plus waiting for a turn among the users and the load generator's own
threads, on the same cores), and the requests per second. The worklist is the largest unit's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from frister.settings import Settings  # noqa: E402

PASSWORD = "benkemerke-passord"


def build_demo(url: str, cases: int) -> None:
    from frister.db.engine import create_db_engine, migrate
    from frister.demo.generate import generate_cases, header, write_jsonl
    from frister.evaluation.service import run_evaluation
    from frister.importer import import_file
    from frister.rules.loader import load_rules

    settings = Settings.from_env({"FRISTER_DATABASE_URL": url})
    engine = create_db_engine(url)
    migrate(engine, settings.migrations_dir)
    as_of = dt.date.today()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.jsonl"
        write_jsonl(path, generate_cases(as_of, seed=2025, cases=cases), header=header(as_of))
        import_file(engine, path, as_of=as_of)
    run_evaluation(engine, load_rules(settings.rules_dir, settings.local_config), as_of)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{tmp.name}/frister.db"
    if args.database is None:
        build_demo(url, args.cases)

    from frister.db.engine import create_db_engine
    from frister.web.accounts import add_user
    from sqlalchemy import func, select

    from frister.evaluation.models import Obligation

    engine = create_db_engine(url)
    with engine.begin() as conn:
        for i in range(args.users):
            add_user(conn, f"sjef{i}@barnevern.kommune.example", "barnevernsjef", password=PASSWORD)
        largest = conn.execute(select(Obligation.unit).group_by(Obligation.unit)
                               .order_by(func.count().desc()).limit(1)).scalar_one()
        breach = conn.execute(select(Obligation.case_id, Obligation.rule, Obligation.subject)
                              .where(Obligation.status == "overdue", Obligation.period == "").limit(1)).first()
    engine.dispose()
    # The server in a process of its own (as in production), so the load generator's
    # threads do not share its interpreter.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "FRISTER_DATABASE_URL": url, "FRISTER_WEB_INSECURE_COOKIES": "1"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "frister"), "web", "--port", str(port),
                               "--example-organisation"], env=env, stderr=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/logg-inn")
            break
        except httpx.TransportError:
            time.sleep(0.1)
    base = f"http://127.0.0.1:{port}"
    pages = {"oversikt": "/oversikt", "arbeidsliste": f"/arbeidsliste?enhet={largest}",
             "arbeidsliste.csv": f"/arbeidsliste?enhet={largest}&format=csv",
             "frist": f"/frist?sak={breach[0]}&regel={breach[1]}&gjelder={breach[2]}",
             "fristbrudd": "/fristbrudd", "api/overview": "/api/overview"}
    times: dict[str, list[float]] = {name: [] for name in pages}
    server_times: dict[str, list[float]] = {name: [] for name in pages}
    lock = threading.Lock()

    def user(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            form = client.get("/logg-inn").text
            csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post("/logg-inn", data={"email": f"sjef{i}@barnevern.kommune.example", "password": PASSWORD,
                                           "csrf": csrf})
            for _ in range(args.rounds):
                for name, path in pages.items():
                    start = time.perf_counter()
                    answer = client.get(path)
                    took = time.perf_counter() - start
                    assert answer.status_code == 200, (path, answer.status_code)
                    server = float(answer.headers["server-timing"].split("dur=", 1)[1]) / 1000
                    with lock:
                        times[name].append(took)
                        server_times[name].append(server)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.users) as pool:
        list(pool.map(user, range(args.users)))
    wall = time.perf_counter() - started
    server.terminate()
    server.wait(10)
    total = sum(len(t) for t in times.values())
    print(f"web: {args.cases if args.database is None else 'given'} cases, {args.users} users x {args.rounds} rounds, "
          f"largest unit {largest}, {total} requests in {wall:.1f} s ({total / wall:.0f}/s)")
    def p95(t: list[float]) -> float:
        return sorted(t)[max(0, int(len(t) * 0.95) - 1)] * 1000

    print(f"{'page':18} {'server p95':>11} {'median':>9}   {'round trip p95':>14} {'median':>9}")
    for name, t in times.items():
        s = server_times[name]
        print(f"{name:18} {p95(s):8.1f} ms {statistics.median(s) * 1000:6.1f} ms   "
              f"{p95(t):11.1f} ms {statistics.median(t) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
