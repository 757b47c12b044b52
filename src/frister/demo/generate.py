"""A synthetic municipality (contract v2, or v1), for the demo, tests and benchmarks.

Deterministic for a given ``(as_of, seed, cases, years)``. The default size is a
mid-sized Norwegian service: about 2,000 cases, ~1,600 referrals a year, ~200 open
investigations, ~500 children with measures and ~150 foster placements, with several
years of history and a realistic share of late and missing events. No names,
identity numbers or addresses exist in it; birth dates are random.

Nothing is dated after ``as_of``: an event that would fall later has not happened yet.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from frister.calendar import add_months, half_years_from, quarters_from

UNITS = {  # the case's unit in the flat (v1) shape: one unit per case
    "mottak": [f"ks{i:02d}" for i in range(1, 7)],
    "undersokelse": [f"ks{i:02d}" for i in range(7, 17)],
    "tiltak": [f"ks{i:02d}" for i in range(17, 27)],
    "omsorg": [f"ks{i:02d}" for i in range(27, 35)],
}
TEAMS = {  # the units of config/organisation.example.yaml that hold steps, and their caseworkers
    "mottak": UNITS["mottak"],
    "us-1": [f"ks{i:02d}" for i in range(7, 12)],
    "us-2": [f"ks{i:02d}" for i in range(12, 17)],
    "tiltak-barn": [f"ks{i:02d}" for i in range(17, 22)],
    "tiltak-ungdom": [f"ks{i:02d}" for i in range(22, 27)],
    "omsorg": UNITS["omsorg"],
}
SERVED = (("9901", 0.7), ("9902", 0.3))  # the example organisation's municipalities and their shares
REPORTERS = ("public", "private", "anonymous", "child", "other")
REASONS = ("holiday_absence", "hard_to_reach", "complex_case", "avoids_contact", "lack_of_capacity", "other")
MUNICIPALITIES = ("0301", "3201", "3203", "3205", "4601", "5001")


class _Case:
    def __init__(self, case_id: str, as_of: date):
        self.as_of = as_of
        self.doc: dict = {"case_id": case_id}
        self.referrals: list[dict] = []
        self.investigations: list[dict] = []
        self.measures: list[dict] = []
        self.care_orders: list[dict] = []
        self.emergencies: list[dict] = []
        self.placements: list[dict] = []
        self.n = {"M": 0, "U": 0, "T": 0, "O": 0, "A": 0, "F": 0}

    def next_id(self, prefix: str) -> str:
        self.n[prefix] += 1
        return f"{prefix}{self.n[prefix]}"

    def d(self, day: date | None) -> str | None:
        """An event date, or None when it lies after as_of (it has not happened)."""
        return day.isoformat() if day is not None and day <= self.as_of else None

    def ds(self, days: list[date]) -> list[str]:
        return [x.isoformat() for x in sorted(days) if x <= self.as_of]


def _days(rng: random.Random, lo: int, hi: int) -> timedelta:
    return timedelta(days=rng.randint(lo, hi))


def _visits(rng: random.Random, start: date, end: date, first_year: bool, miss: float) -> list[date]:
    """Visits roughly as a service makes them: per quarter the first year, then two a half-year."""
    out: list[date] = []
    after = start
    if first_year:
        last = add_months(start, 12) - timedelta(days=1)
        for q in quarters_from(start):
            if q.start > last or q.start > end:
                break
            lo = max(q.start, start)
            if rng.random() > miss and lo <= q.end:
                out.append(lo + timedelta(days=rng.randint(0, (q.end - lo).days)))
            after = q.end + timedelta(days=1)
    for h in half_years_from(after):
        if h.start > end:
            break
        lo = max(h.start, after)
        span = (h.end - lo).days
        for _ in range(2 if span > 100 else 1):
            if rng.random() > miss:
                out.append(lo + timedelta(days=rng.randint(0, span)))
    return [v for v in out if start <= v <= end]


def _foster_placement(rng: random.Random, c: _Case, start: date, birth: date, end: date | None) -> None:
    stop = min(end or c.as_of, c.as_of)
    followup = _visits(rng, start, stop, True, miss=0.06)
    supervision = _visits(rng, start, stop, False, miss=0.10)
    placement = {
        "id": c.next_id("F"), "kind": "foster_home", "started_on": c.d(start), "ended_on": c.d(end),
        "supervision_municipality": rng.choice(MUNICIPALITIES),
        "followup_visits": c.ds(followup), "supervision_visits": c.ds(supervision),
    }
    two_years = add_months(start, 24)
    if rng.random() < 0.25 and two_years + timedelta(days=60) < stop:
        placement["followup_reduced_on"] = c.d(two_years + _days(rng, 30, 400))
    elif rng.random() < 0.05:
        placement["followup_reduced_on"] = c.d(start + _days(rng, 200, 600))  # too early: invalid
    fifteen = add_months(birth, 15 * 12)
    if rng.random() < 0.3 and max(two_years, fifteen) + timedelta(days=60) < stop:
        placement["supervision_reduced_on"] = c.d(max(two_years, fifteen) + _days(rng, 10, 200))
        placement["supervision_reduction_consent"] = rng.random() < 0.85  # the child's consent recorded
    if rng.random() < 0.08 and start + timedelta(days=400) < stop:  # moved to another foster home
        placement["home_moves"] = c.ds([start + _days(rng, 200, (stop - start).days - 30)])
    c.placements.append({k: v for k, v in placement.items() if v is not None or k == "ended_on"})


def _care_order(rng: random.Random, c: _Case, decided: date, birth: date) -> None:
    if decided > c.as_of:
        return  # the county board has not decided yet
    implemented = decided + (_days(rng, 50, 90) if rng.random() < 0.04 else _days(rng, 0, 35))
    plan = decided + (_days(rng, 760, 900) if rng.random() < 0.15 else _days(rng, 60, 700))
    c.care_orders.append({
        "id": c.next_id("O"), "decided_on": c.d(decided), "implemented_on": c.d(implemented),
        "care_plan_made_on": c.d(plan),
    })
    if implemented <= c.as_of:
        end = None
        if rng.random() < 0.1:
            end = implemented + _days(rng, 200, 1500)
        _foster_placement(rng, c, implemented, birth, end if end and end <= c.as_of else None)
        c.measures.append({
            "id": c.next_id("T"), "kind": "care", "decided_on": c.d(decided), "ended_on": None,
            "plan_made_on": c.d(decided), "evaluations": [],
        })


def _support_measure(rng: random.Random, c: _Case, decided: date) -> None:
    r = rng.random()
    plan = decided if r < 0.80 else (decided + _days(rng, 5, 60) if r < 0.92 else None)
    ended = decided + _days(rng, 180, 900)
    evaluations: list[date] = []
    half_yearly = rng.random() < 0.05  # the plan sets a longer interval of its own
    if plan is not None:
        prev = plan
        while True:
            step = rng.randint(100, 160) if rng.random() < 0.12 else rng.randint(60, 92)
            if half_yearly:
                step = rng.randint(150, 185)
            nxt = prev + timedelta(days=step)
            if nxt > min(ended, c.as_of):
                break
            if rng.random() < 0.03:
                break  # evaluations simply stopped being recorded
            evaluations.append(nxt)
            prev = nxt
    c.measures.append({
        "id": c.next_id("T"), "kind": "support", "decided_on": c.d(decided), "ended_on": c.d(ended),
        "plan_made_on": c.d(plan), "evaluations": c.ds(evaluations),
        **({"evaluation_interval": "6 months"} if half_yearly else {}),
    })


def _referral(rng: random.Random, c: _Case, received: date, birth: date, busy_until: date | None) -> date | None:
    """One referral and what follows it; returns the end of an investigation it opened."""
    r = rng.random()
    review = received + (_days(rng, 8, 20) if r < 0.04 else _days(rng, 0, 7))
    if busy_until is not None and busy_until >= received:
        conclusion = "in_ongoing_investigation"
    else:
        x = rng.random()
        conclusion = "investigate" if x < 0.5 else ("closed" if x < 0.95 else "closed_active_measures")
    f = rng.random()
    feedback = received + (_days(rng, 3, 21) if f < 0.86 else _days(rng, 22, 45)) if f < 0.94 else None
    reporter = rng.choices(REPORTERS, (45, 35, 10, 3, 7))[0]
    ref = {
        "id": c.next_id("M"), "received_on": c.d(received), "concluded_on": c.d(review),
        "conclusion": conclusion if review <= c.as_of else None, "feedback_sent_on": c.d(feedback),
        "reporter": reporter,
    }
    if conclusion == "closed" and rng.random() < 0.06:
        ref["obviously_unfounded"] = True
        ref.pop("feedback_sent_on", None)
    c.referrals.append({k: v for k, v in ref.items() if v is not None or k in ("concluded_on",)})
    if conclusion != "investigate" or review > c.as_of:
        return None

    started = review
    due = add_months(received + timedelta(days=7), 3)
    inv: dict = {"id": c.next_id("U"), "referral_id": ref["id"], "started_on": c.d(started)}
    x = rng.random()
    if x < 0.08:  # extension granted, concluded within six months
        requested = due - _days(rng, 3, 25)
        inv["extension"] = {"requested_on": c.d(requested), "granted": True, "reason": rng.choice(REASONS[1:3])}
        concluded = due + _days(rng, 5, 85)
        if requested > c.as_of:
            del inv["extension"]
    elif x < 0.17:  # late
        concluded = due + _days(rng, 1, 60)
    else:
        concluded = started + timedelta(days=rng.randint(45, max(46, (due - started).days)))
    y = rng.random()
    outcome = "measures" if y < 0.42 else ("closed" if y < 0.85 else ("closed_with_concern" if y < 0.96 else "petition"))
    inv["concluded_on"] = c.d(concluded)
    inv["conclusion"] = outcome if concluded <= c.as_of else None
    if outcome == "closed_with_concern" and concluded <= c.as_of:
        inv["review_after_closing"] = True
        reviewed = concluded + (_days(rng, 120, 182) if rng.random() < 0.85 else _days(rng, 190, 260))
        inv["reviewed_after_closing_on"] = c.d(reviewed)
    c.investigations.append(inv)
    if reporter == "public" and concluded <= c.as_of and rng.random() < 0.9:  # the second feedback
        late = rng.random() < 0.12
        ref["feedback_after_investigation_on"] = c.d(concluded + (_days(rng, 22, 50) if late else _days(rng, 2, 21)))
        c.referrals[-1] = {k: v for k, v in ref.items() if v is not None or k in ("concluded_on",)}
    if concluded <= c.as_of:
        if outcome == "measures":
            _support_measure(rng, c, concluded)
        elif outcome == "petition":
            _care_order(rng, c, concluded + _days(rng, 40, 120), birth)
    return concluded


@dataclass(frozen=True)
class Shape:
    """How a population of cases looks: the share of children placed by a care order
    (cases of their own), and referrals a year per case."""

    foster_share: float = 0.075
    referrals_per_case_year: float = 0.8


MUNICIPALITY = Shape()  # a mid-sized service's active caseload (the demo)
NATIONAL = Shape(foster_share=0.165, referrals_per_case_year=0.1)  # every case of a decade, nationwide


def generate_cases(as_of: date, seed: int = 2025, cases: int = 2000, years: int = 4,
                   shape: Shape = MUNICIPALITY, organised: bool = True) -> Iterator[dict]:
    """Yield ``cases`` records describing ``years`` years up to ``as_of``.

    ``organised`` (contract v2): each case has a municipality, and each step the unit and
    caseworker that held it, as in ``config/organisation.example.yaml`` (intake, two
    investigation teams, support measures for children and for youths, care); without it,
    contract v1: one unit per case (its current one). Both give the same dates."""
    rng = random.Random(f"{seed}:{as_of.isoformat()}:{cases}:{years}")
    start = add_months(as_of, -12 * years)
    window = (as_of - start).days
    foster_share = shape.foster_share
    referral_cases = cases * (1 - foster_share)
    mean_refs = shape.referrals_per_case_year * cases * years / referral_cases
    for i in range(cases):
        c = _Case(f"BV-{as_of.year - years + i % years}-{i + 1:05d}", as_of)
        if rng.random() < foster_share:
            # A child in long-term foster care, placed before or during the window.
            placed = as_of - _days(rng, 60, 365 * 9)
            birth = placed - _days(rng, 365, 365 * 14)
            _care_order(rng, c, placed - _days(rng, 0, 30), birth)
            unit = "omsorg"
        else:
            birth = start - _days(rng, 0, 365 * 16)
            n_refs = max(1, int(rng.expovariate(1 / mean_refs) + 0.5))
            dates = sorted(start + timedelta(days=rng.randint(0, window)) for _ in range(n_refs))
            busy_until = None
            for received in dates:
                if received >= add_months(birth, 18 * 12):
                    break
                end = _referral(rng, c, received, birth, busy_until)
                if end is not None:
                    busy_until = end
            if rng.random() < 0.012:  # emergency decisions: a few dozen a year
                decided = start + timedelta(days=rng.randint(0, window))
                kind = rng.choices(("care", "behaviour", "trafficking"), (80, 15, 5))[0]
                limit = 42 if kind == "care" else 14
                sent = decided + (_days(rng, limit + 1, limit + 10) if rng.random() < 0.08 else _days(rng, 3, limit))
                c.emergencies.append({"id": c.next_id("A"), "kind": kind, "decided_on": c.d(decided),
                                      "petition_sent_on": c.d(sent)})
            if c.placements:
                unit = "omsorg"
            elif any(m["ended_on"] is None for m in c.measures):
                unit = "tiltak"
            elif any(inv.get("concluded_on") is None for inv in c.investigations):
                unit = "undersokelse"
            else:
                unit = "mottak"
        c.doc["unit"] = unit
        c.doc["caseworker"] = rng.choice(UNITS[unit])
        c.doc["child"] = {"birth_date": birth.isoformat()}
        if organised:
            _organise(c, birth, random.Random(f"org:{seed}:{c.doc['case_id']}"))
        eighteen = add_months(birth, 18 * 12)
        if (c.measures or c.placements) and eighteen - timedelta(days=180) <= as_of and rng.random() < 0.7:
            c.doc["aftercare"] = {"assessed_on": c.d(eighteen - _days(rng, 120, 300))}
        for key, items in (("referrals", c.referrals), ("investigations", c.investigations),
                           ("measures", c.measures), ("care_orders", c.care_orders),
                           ("emergency_decisions", c.emergencies), ("placements", c.placements)):
            if items:
                c.doc[key] = items
        yield c.doc


def _organise(c: _Case, birth: date, rng: random.Random) -> None:
    """Give the case its municipality and each step the unit and caseworker that held it;
    the case's unit becomes the unit of its latest step (its own random stream, so the
    dates are those of the flat shape)."""
    c.doc["municipality"] = rng.choices([m for m, _ in SERVED], [w for _, w in SERVED])[0]

    def hold(step: dict, unit: str) -> str:
        step["unit"], step["caseworker"] = unit, rng.choice(TEAMS[unit])
        return unit

    team = rng.choice(("us-1", "us-2"))  # a case stays with one investigation team
    held = {"mottak": "mottak", "omsorg": "omsorg", "undersokelse": team}
    for ref in c.referrals:
        hold(ref, "mottak")
    for inv in c.investigations:
        hold(inv, team)
    for measure in c.measures:
        decided = date.fromisoformat(measure["decided_on"]) if measure.get("decided_on") else c.as_of
        if measure["kind"] == "care":
            hold(measure, "omsorg")
        else:
            held["tiltak"] = hold(measure, "tiltak-barn" if decided < add_months(birth, 13 * 12) else "tiltak-ungdom")
    for step in (*c.care_orders, *c.placements):
        hold(step, "omsorg")
    for step in c.emergencies:
        hold(step, "mottak")  # the duty of the intake unit
    unit = held.get(c.doc["unit"], "mottak")
    c.doc["unit"], c.doc["caseworker"] = unit, rng.choice(TEAMS[unit])


def header(as_of: date, years: int = 4, source: str = "demo-fagsystem") -> dict:
    """A contract v2 header for generated cases: the case system's history is complete
    from the start of the generated years (the demo's cases placed earlier have older
    visit periods, which are then ``not_evaluated``)."""
    return {"frister_export": 2, "source": source, "extracted_on": as_of.isoformat(),
            "complete_from": add_months(as_of, -12 * years).isoformat()}


def write_jsonl(path: Path | str, records, header: dict | None = None) -> int:
    """Write records as JSON Lines (after a v2 header line, when given); returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        if header is not None:
            fh.write(json.dumps(header, separators=(",", ":")) + "\n")
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n
