"""A national-scale synthetic data set (contract v1), bulk-loaded into a migrated database.

Sizes follow issue 5 (per 1,000,000 cases: about 1M referrals, 600k investigations,
200k placements, 8M visit dates) over a decade of history up to ``as_of``. The shape
is the one :mod:`frister.demo.generate` produces for one municipality (same units, the
same kinds of late, missing and extended events), but the generator works on day
ordinals and precomputed ISO strings: a million cases generate and load in about two
minutes on SQLite (2 shared cores).

Deterministic: the same ``(cases, seed, as_of)`` gives the same records, byte for byte.
Nothing is dated after ``as_of`` (an export cannot know the future).

Loading bypasses the ORM: PostgreSQL through ``COPY … FROM STDIN`` (psycopg 3), SQLite
through ``executemany`` on the raw DBAPI connection in one transaction with
``synchronous=OFF`` for the load only. Every case row carries the importer's
fingerprint of its record, so a later import of an unchanged case is a no-op.

Usage::

    python bench/generate.py --cases 100000 --database sqlite:///national.db [--jsonl cases.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterator

from frister.importer.jsonl import fingerprint

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"

# A Wednesday in the middle of a quarter: the next day (the second night) starts no new
# visit period. Use --as-of 2026-06-30 for the heaviest kind of night (a new half-year).
DEFAULT_AS_OF = date(2026, 6, 10)
DEFAULT_SEED = 5
YEARS = 10

# The demo's units (so the bundled recipients.example.yaml routes every notice) with a
# national pool of caseworker codes.
UNITS = ("mottak", "undersokelse", "tiltak", "omsorg")
CASEWORKERS = 4000
REASONS = ("holiday_absence", "hard_to_reach", "complex_case", "avoids_contact", "lack_of_capacity", "other")
MUNICIPALITIES = tuple(f"{n:04d}" for n in range(301, 301 + 356))  # 356 municipalities, synthetic codes

CARE_SHARE = 0.165        # children placed by a care order (cases of their own)
EXTRA_REFERRAL = 0.065    # chance of each further referral in a case (geometric)
INVESTIGATE = 0.62        # referrals that open an investigation


@dataclass
class _Dates:
    """Day ordinal -> ISO string, precomputed once (the generator's hot path)."""

    as_of: date
    base: int = 0
    iso: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        first = date(self.as_of.year - 45, 1, 1)
        self.base = first.toordinal()
        last = (self.as_of + timedelta(days=800)).toordinal()
        self.iso = [date.fromordinal(o).isoformat() for o in range(self.base, last + 1)]

    def __call__(self, ordinal: int) -> str:
        return self.iso[ordinal - self.base]


class NationalGenerator:
    """Yields contract-v1 records; see the module docstring for the sizes."""

    def __init__(self, cases: int, seed: int = DEFAULT_SEED, as_of: date = DEFAULT_AS_OF, years: int = YEARS):
        self.cases = cases
        self.seed = seed
        self.as_of = as_of
        self.today = as_of.toordinal()
        self.start = (as_of - timedelta(days=round(365.25 * years))).toordinal()
        self.window = self.today - self.start
        self.iso = _Dates(as_of)
        self.rng = random.Random(f"national:{seed}:{as_of.isoformat()}:{cases}")

    # -- helpers -------------------------------------------------------------------

    def _d(self, o: int | None) -> str | None:
        """An event date, or None when it lies after as_of (it has not happened)."""
        return self.iso(o) if o is not None and o <= self.today else None

    def _visits(self, start: int, stop: int, first_year_quarterly: bool, miss: float) -> list[str]:
        """Visit dates roughly as a service makes them: about one a quarter (two per half-year)."""
        rnd = self.rng.random
        out: list[str] = []
        t = start
        step_lo, step_hi = (62, 90) if first_year_quarterly else (66, 92)
        while True:
            t += step_lo + int(rnd() * (step_hi - step_lo))
            if t > stop:
                return out
            if rnd() > miss:
                out.append(self.iso(t))

    # -- subjects ------------------------------------------------------------------

    def _placement(self, c: dict, n: dict, start: int, birth: int, end: int | None, kind: str) -> None:
        rnd = self.rng.random
        n["F"] += 1
        stop = min(end if end is not None else self.today, self.today)
        p: dict = {"id": f"F{n['F']}", "kind": kind, "started_on": self.iso(start), "ended_on": self._d(end)}
        if kind == "foster_home":
            p["supervision_municipality"] = MUNICIPALITIES[int(rnd() * len(MUNICIPALITIES))]
            p["followup_visits"] = self._visits(start, stop, True, 0.06)
            # Supervision ends at 18.
            p["supervision_visits"] = self._visits(start, min(stop, birth + 6574), False, 0.10)
            two_years = start + 730
            if rnd() < 0.25 and two_years + 60 < stop:
                p["followup_reduced_on"] = self._d(two_years + 30 + int(rnd() * 370))
            elif rnd() < 0.05:
                p["followup_reduced_on"] = self._d(start + 200 + int(rnd() * 400))  # too early: invalid
            fifteen = birth + 5479
            if rnd() < 0.3 and max(two_years, fifteen) + 60 < stop:
                p["supervision_reduced_on"] = self._d(max(two_years, fifteen) + 10 + int(rnd() * 190))
        c.setdefault("placements", []).append(p)

    def _care_order(self, c: dict, n: dict, decided: int, birth: int) -> None:
        if decided > self.today:
            return  # the county board has not decided yet
        rnd = self.rng.random
        implemented = decided + (50 + int(rnd() * 40) if rnd() < 0.04 else int(rnd() * 36))
        plan = decided + (760 + int(rnd() * 140) if rnd() < 0.15 else 60 + int(rnd() * 640))
        n["O"] += 1
        c.setdefault("care_orders", []).append({
            "id": f"O{n['O']}", "decided_on": self.iso(decided), "implemented_on": self._d(implemented),
            "care_plan_made_on": self._d(plan),
        })
        n["T"] += 1
        c.setdefault("measures", []).append({
            "id": f"T{n['T']}", "kind": "care", "decided_on": self.iso(decided), "ended_on": None,
            "plan_made_on": self.iso(decided), "evaluations": [],
        })
        if implemented > self.today:
            return
        # About one placement in four ends (moves home or on to another home).
        x = rnd()
        kind = "foster_home" if x < 0.88 else ("institution" if x < 0.97 else "emergency")
        end = implemented + 200 + int(rnd() * 2800) if rnd() < 0.25 else None
        if end is not None and end > self.today:
            end = None
        self._placement(c, n, implemented, birth, end, kind)
        if end is not None and rnd() < 0.4:  # a new placement after the first one ended
            nxt = end + 1 + int(rnd() * 30)
            if nxt <= self.today:
                later_end = nxt + 200 + int(rnd() * 1500) if rnd() < 0.2 else None
                self._placement(c, n, nxt, birth, later_end if later_end and later_end <= self.today else None,
                                "foster_home")

    def _support_measure(self, c: dict, n: dict, decided: int) -> None:
        rnd = self.rng.random
        r = rnd()
        plan = decided if r < 0.80 else (decided + 5 + int(rnd() * 56) if r < 0.92 else None)
        ended = decided + 180 + int(rnd() * 1100)
        evaluations: list[str] = []
        if plan is not None:
            t = plan
            stop = min(ended, self.today)
            while True:
                t += 100 + int(rnd() * 61) if rnd() < 0.12 else 60 + int(rnd() * 33)
                if t > stop or rnd() < 0.03:  # or evaluations simply stopped being recorded
                    break
                evaluations.append(self.iso(t))
        n["T"] += 1
        c.setdefault("measures", []).append({
            "id": f"T{n['T']}", "kind": "support", "decided_on": self.iso(decided), "ended_on": self._d(ended),
            "plan_made_on": self._d(plan), "evaluations": evaluations,
        })

    def _referral(self, c: dict, n: dict, received: int, birth: int, busy_until: int | None) -> int | None:
        """One referral and what follows it; returns the end of an investigation it opened."""
        rnd = self.rng.random
        review = received + (8 + int(rnd() * 13) if rnd() < 0.04 else int(rnd() * 8))
        if busy_until is not None and busy_until >= received:
            conclusion = "in_ongoing_investigation"
        else:
            x = rnd()
            conclusion = "investigate" if x < INVESTIGATE else ("closed" if x < 0.95 else "closed_active_measures")
        f = rnd()
        feedback = None if f >= 0.94 else received + (3 + int(rnd() * 19) if f < 0.86 else 22 + int(rnd() * 24))
        n["M"] += 1
        rid = f"M{n['M']}"
        ref = {"id": rid, "received_on": self.iso(received), "concluded_on": self._d(review)}
        if review <= self.today:
            ref["conclusion"] = conclusion
        if feedback is not None and feedback <= self.today:
            ref["feedback_sent_on"] = self.iso(feedback)
        c.setdefault("referrals", []).append(ref)
        if conclusion != "investigate" or review > self.today:
            return None

        started = review
        due = received + 7 + 91  # three months from the end of the review week
        n["U"] += 1
        inv: dict = {"id": f"U{n['U']}", "referral_id": rid, "started_on": self.iso(started)}
        x = rnd()
        if x < 0.08:  # extension granted, concluded within six months
            requested = max(started, due - 3 - int(rnd() * 23))
            if requested <= self.today:
                inv["extension"] = {"requested_on": self.iso(requested), "granted": True,
                                    "reason": REASONS[1 + int(rnd() * 2)]}
            concluded = due + 5 + int(rnd() * 81)
        elif x < 0.17:  # late
            concluded = due + 1 + int(rnd() * 60)
        else:
            concluded = started + 20 + int(rnd() * max(1, due - started - 19))
        y = rnd()
        outcome = ("measures" if y < 0.42 else "closed" if y < 0.85 else
                   "closed_with_concern" if y < 0.96 else "petition")
        done = concluded <= self.today
        inv["concluded_on"] = self.iso(concluded) if done else None
        inv["conclusion"] = outcome if done else None
        if outcome == "closed_with_concern" and done:
            inv["review_after_closing"] = True
            reviewed = concluded + (120 + int(rnd() * 63) if rnd() < 0.85 else 190 + int(rnd() * 71))
            inv["reviewed_after_closing_on"] = self._d(reviewed)
        c.setdefault("investigations", []).append(inv)
        if done:
            if outcome == "measures":
                self._support_measure(c, n, concluded)
            elif outcome == "petition":
                self._care_order(c, n, concluded + 40 + int(rnd() * 81), birth)
        return concluded

    # -- cases ---------------------------------------------------------------------

    def case(self, i: int) -> dict:
        rng = self.rng
        rnd = rng.random
        # Case ids sort in generation order (as an export in case-id order, imported once).
        year = self.as_of.year - YEARS + 1 + i * YEARS // self.cases
        c: dict = {"case_id": f"BV-{year}-{i + 1:07d}"}
        n = {"M": 0, "U": 0, "T": 0, "O": 0, "A": 0, "F": 0}
        if rnd() < CARE_SHARE:
            # A child in out-of-home care, placed during the decade (or a little before).
            placed = self.today - 60 - int(rnd() * 365 * 12)
            birth = placed - 180 - int(rnd() * 365 * 9)
            if rnd() < 0.6:  # the referral history that led to it, when still in the export
                received = max(placed - 120 - int(rnd() * 300), birth)
                if received >= self.start:
                    self._referral(c, n, received, birth, None)
            self._care_order(c, n, placed - int(rnd() * 31), birth)
            unit = "omsorg"
        else:
            birth = self.start - int(rnd() * 365 * 8) + int(rnd() * 365 * 9)
            refs = 1
            while rnd() < EXTRA_REFERRAL:
                refs += 1
            # Slightly more referrals in recent years.
            dates = sorted(self.start + int(self.window * rnd() ** 0.85) for _ in range(refs))
            busy_until = None
            for received in dates:
                if received >= birth + 6574:  # 18 years old
                    break
                end = self._referral(c, n, max(received, birth), birth, busy_until)
                if end is not None:
                    busy_until = end
            if rnd() < 0.012:  # emergency decisions
                decided = self.start + int(rnd() * self.window)
                x = rnd()
                kind = "care" if x < 0.8 else ("behaviour" if x < 0.95 else "trafficking")
                limit = 42 if kind == "care" else 14
                sent = decided + (limit + 1 + int(rnd() * 10) if rnd() < 0.08 else 3 + int(rnd() * (limit - 2)))
                n["A"] += 1
                c["emergency_decisions"] = [{"id": f"A{n['A']}", "kind": kind, "decided_on": self.iso(decided),
                                             "petition_sent_on": self._d(sent)}]
            if c.get("placements"):
                unit = "omsorg"
            elif any(m["ended_on"] is None for m in c.get("measures", ())):
                unit = "tiltak"
            elif any(inv.get("concluded_on") is None for inv in c.get("investigations", ())):
                unit = "undersokelse"
            else:
                unit = "mottak"
        c["unit"] = unit
        c["caseworker"] = f"ks{1 + int(rnd() * CASEWORKERS):04d}"
        birth = min(birth, self.today - 30)
        c["child"] = {"birth_date": self.iso(birth)}
        eighteen = birth + 6574
        if (c.get("measures") or c.get("placements")) and eighteen - 180 <= self.today and rnd() < 0.7:
            c["aftercare"] = {"assessed_on": self._d(eighteen - 120 - int(rnd() * 181))}
        return c

    def __iter__(self) -> Iterator[dict]:
        for i in range(self.cases):
            yield self.case(i)


def changed_record(doc: dict, day: date) -> dict:
    """The record as a newer export shows it: a new referral received on ``day``."""
    new = dict(doc)
    refs = list(doc.get("referrals", ()))
    refs.append({"id": f"M{len(refs) + 1}", "received_on": day.isoformat(), "concluded_on": None})
    new["referrals"] = refs
    return new


# --- rows ---------------------------------------------------------------------------

TABLES: dict[str, tuple[str, ...]] = {
    "cases": ("case_id", "unit", "caseworker", "birth_date", "aftercare_assessed_on", "fingerprint"),
    "referrals": ("case_id", "id", "received_on", "concluded_on", "conclusion", "feedback_sent_on"),
    "investigations": ("case_id", "id", "referral_id", "started_on", "concluded_on", "conclusion",
                       "review_after_closing", "reviewed_after_closing_on", "extension_requested_on",
                       "extension_granted", "extension_reason"),
    "measures": ("case_id", "id", "kind", "decided_on", "ended_on", "plan_made_on"),
    "measure_evaluations": ("case_id", "measure_id", "seq", "evaluated_on"),
    "care_orders": ("case_id", "id", "decided_on", "implemented_on", "care_plan_made_on"),
    "emergency_decisions": ("case_id", "id", "kind", "decided_on", "petition_sent_on"),
    "placements": ("case_id", "id", "kind", "started_on", "ended_on", "followup_reduced_on",
                   "supervision_reduced_on", "supervision_municipality"),
    "placement_visits": ("case_id", "placement_id", "kind", "seq", "visited_on"),
}


def case_rows(doc: dict, fp: str, out: dict[str, list[tuple]]) -> None:
    """Append the table rows of one record to ``out`` (what :func:`replace_cases` writes).

    Dates stay ISO strings (SQLite's storage format; PostgreSQL's COPY input). Booleans
    are Python bools; the loaders convert them.
    """
    cid = doc["case_id"]
    g = doc.get
    out["cases"].append((cid, doc["unit"], g("caseworker"), (g("child") or {}).get("birth_date"),
                         (g("aftercare") or {}).get("assessed_on"), fp))
    for r in g("referrals", ()):
        out["referrals"].append((cid, r["id"], r["received_on"], r.get("concluded_on"), r.get("conclusion"),
                                 r.get("feedback_sent_on")))
    for i in g("investigations", ()):
        ext = i.get("extension")
        out["investigations"].append((
            cid, i["id"], i.get("referral_id"), i["started_on"], i.get("concluded_on"), i.get("conclusion"),
            bool(i.get("review_after_closing", False)), i.get("reviewed_after_closing_on"),
            ext["requested_on"] if ext else None, ext["granted"] if ext else None, ext.get("reason") if ext else None,
        ))
    for m in g("measures", ()):
        out["measures"].append((cid, m["id"], m["kind"], m["decided_on"], m.get("ended_on"), m.get("plan_made_on")))
        for seq, d in enumerate(sorted(m.get("evaluations", ())), 1):
            out["measure_evaluations"].append((cid, m["id"], seq, d))
    for o in g("care_orders", ()):
        out["care_orders"].append((cid, o["id"], o["decided_on"], o.get("implemented_on"), o.get("care_plan_made_on")))
    for a in g("emergency_decisions", ()):
        out["emergency_decisions"].append((cid, a["id"], a["kind"], a["decided_on"], a.get("petition_sent_on")))
    for p in g("placements", ()):
        out["placements"].append((cid, p["id"], p["kind"], p["started_on"], p.get("ended_on"),
                                  p.get("followup_reduced_on"), p.get("supervision_reduced_on"),
                                  p.get("supervision_municipality")))
        for kind, key in (("followup", "followup_visits"), ("supervision", "supervision_visits")):
            for seq, d in enumerate(sorted(p.get(key, ())), 1):
                out["placement_visits"].append((cid, p["id"], kind, seq, d))


# --- loading ------------------------------------------------------------------------


class _SqliteSink:
    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.dbapi = self.raw.driver_connection
        self.dbapi.isolation_level = None  # we issue BEGIN/COMMIT ourselves
        cur = self.dbapi.cursor()
        # For the load only: no rollback journal (a failed load is thrown away anyway) and
        # no fsync. The engine's settings (WAL, synchronous=NORMAL) are restored after.
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA foreign_keys=OFF")  # rows are written parents first anyway
        cur.execute("PRAGMA cache_size=-262144")  # 256 MB for the load
        cur.execute("BEGIN")
        self.cur = cur
        self.sql = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                    for t, cols in TABLES.items()}

    def write(self, table: str, rows: list[tuple]) -> None:
        self.cur.executemany(self.sql[table], rows)

    def close(self) -> None:
        self.cur.execute("COMMIT")
        self.cur.execute("PRAGMA journal_mode=WAL")
        self.cur.execute("PRAGMA synchronous=NORMAL")
        self.cur.execute("PRAGMA foreign_keys=ON")
        self.cur.execute("ANALYZE")
        self.cur.close()
        self.raw.close()


class _PostgresSink:
    """One COPY per table per batch, all in one transaction."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.dbapi = self.raw.driver_connection
        self.dbapi.autocommit = False

    def write(self, table: str, rows: list[tuple]) -> None:
        cols = TABLES[table]
        with self.dbapi.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def close(self) -> None:
        self.dbapi.commit()
        self.dbapi.autocommit = True
        with self.dbapi.cursor() as cur:
            cur.execute("ANALYZE")
        self.raw.close()


@dataclass
class LoadStats:
    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    seconds: float = 0.0
    jsonl_bytes: int = 0

    def line(self) -> str:
        r = self.rows
        return (f"{self.cases} cases, {r.get('referrals', 0)} referrals, {r.get('investigations', 0)} investigations, "
                f"{r.get('measures', 0)} measures ({r.get('measure_evaluations', 0)} evaluations), "
                f"{r.get('placements', 0)} placements ({r.get('placement_visits', 0)} visit dates), "
                f"{r.get('care_orders', 0)} care orders, {r.get('emergency_decisions', 0)} emergency decisions")


def load(
    engine,
    cases: int,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    jsonl: Path | None = None,
    changed_share: float = 0.0,
    changed_on: date | None = None,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> LoadStats:
    """Generate ``cases`` records and bulk-load them into the migrated, empty database.

    With ``jsonl``, also write the export file (every case; a share ``changed_share`` of
    them, chosen deterministically, as :func:`changed_record` on ``changed_on``), so that
    importing it replaces exactly those cases and finds the rest unchanged.
    """
    t0 = time.perf_counter()
    sink = _PostgresSink(engine) if engine.dialect.name == "postgresql" else _SqliteSink(engine)
    stats = LoadStats(rows={t: 0 for t in TABLES})
    pick = random.Random(f"changed:{seed}:{cases}")
    changed_on = changed_on or as_of + timedelta(days=1)
    out: dict[str, list[tuple]] = {t: [] for t in TABLES}
    fh = jsonl.open("w", encoding="utf-8") if jsonl else None
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def flush() -> None:
        for t in TABLES:  # parents before children
            if out[t]:
                sink.write(t, out[t])
                stats.rows[t] += len(out[t])
                out[t] = []

    try:
        for doc in NationalGenerator(cases, seed, as_of):
            case_rows(doc, fingerprint(doc), out)
            stats.cases += 1
            if fh is not None:
                if changed_share and pick.random() < changed_share:
                    doc = changed_record(doc, changed_on)
                    stats.changed += 1
                fh.write(dumps(doc))
                fh.write("\n")
            if stats.cases % batch == 0:
                flush()
                if progress:
                    progress(stats.cases)
        flush()
        sink.close()
    finally:
        if fh is not None:
            fh.close()
    if jsonl:
        stats.jsonl_bytes = jsonl.stat().st_size
    stats.seconds = time.perf_counter() - t0
    return stats


def main(argv: list[str] | None = None) -> int:
    from frister.db.engine import create_db_engine, migrate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    ap.add_argument("--database", required=True, help="SQLAlchemy URL of an empty database (migrated here)")
    ap.add_argument("--jsonl", type=Path, help="also write the contract-v1 export file here")
    ap.add_argument("--changed-share", type=float, default=0.0,
                    help="share of cases written to --jsonl with a new referral dated the day after --as-of")
    args = ap.parse_args(argv)
    engine = create_db_engine(args.database)
    migrate(engine, MIGRATIONS)
    stats = load(engine, args.cases, args.seed, args.as_of, args.jsonl, args.changed_share)
    engine.dispose()
    print(f"loaded {stats.line()} in {stats.seconds:.1f} s")
    if args.jsonl:
        print(f"wrote {args.jsonl} ({stats.jsonl_bytes / 1e6:.1f} MB, {stats.changed} changed case(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
