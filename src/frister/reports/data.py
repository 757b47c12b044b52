"""What every report reads: the obligations of a window, evaluated in bulk, as columns.

**As-of date of the data.** Reports do not read the stored ``obligations``: those
reflect one as-of date only (the latest run) and leave out what was met in time.
Instead a report evaluates every stored case as of one explicit date, the *as-of date
of the data*, through the same evaluator and on the same worker processes as a full run
(:func:`frister.evaluation.parallel.map_evaluations`), and keeps, as columns, the
obligations whose due date (or, for "concluded in the period" figures, whose met date)
falls in the report's window. Deadlines due in the past are thereby shown with their
final outcome as known on that date, which is what an inspection or a status report
asks for, and the same facts, rules and as-of date always give the same report. The CLI
defaults the as-of date to that of the latest successful evaluation run (the date the
imported data is current to), else today; ``--as-of`` pins it. Every report states it
in its header.

Snapshot figures (children with support measures and plans) are counted from the case
facts on a snapshot date ``S`` (the end of the period, or the as-of date when earlier),
counting only events dated on or before ``S``.

A report at national scale costs about one evaluation: the workers send back only the
window's columns (and a key per breach, to attach its reason), never an object per
obligation; the reports count with numpy over them (:mod:`frister.reports.figures`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from sqlalchemy import Connection

from frister.breaches.service import FOLLOW_UP, RECURRENCE_MONTHS, reasons_by_key
from frister.reports.activity import activity_piece
from frister.calendar import NONE, add_months, from_day, known, to_day
from frister.engine.batch import Batch
from frister.engine.evaluate import LATE, OVERDUE, Evaluation, period_label
from frister.engine.results import Result
from frister.evaluation.parallel import map_evaluations
from frister.evaluation.service import latest_run
from frister.facts.contract import REASON_CODES
from frister.rules.model import RuleSet

_EARLIER = ("case", "rule", "due")
_COLUMNS = ("rule", "status", "due", "met", "anchor", "days_late", "required", "done", "version", "unit",
            "municipality", "case", "placed_on")


def default_as_of(conn: Connection, today: dt.date) -> dt.date:
    """The as-of date of the latest successful evaluation run, else ``today``."""
    run = latest_run(conn)
    return run.as_of if run is not None else today


@dataclass(frozen=True, slots=True)
class Group:
    """A row of a per-unit or per-municipality table: its key (unit code, municipality
    number, ``""`` for cases without one), display name and place in the unit tree, and
    what it sums: the obligations of ``units`` (None: any unit) in ``municipality``
    (None: any; ``""``: cases without a municipality)."""

    key: str
    name: str
    units: tuple[str, ...] | None = None
    municipality: str | None = None
    depth: int = 0
    parent: str | None = None


@dataclass
class Frame:
    """The obligations of a window, one array element per obligation.

    ``rule`` indexes ``rules`` (catalogue order), ``version`` that rule's versions,
    ``unit`` the frame's ``units``, ``case`` a number per case (unique within the
    frame); dates are day numbers, ``required``/``done`` -1 where not a visit period,
    ``placed_on`` a visit period's placement start. ``reason`` is the breach reason's
    index in :data:`REASON_CODES` (-1: none or not a breach); ``key`` holds the
    obligation key of each breach (None for the others)."""

    rules: RuleSet
    as_of: dt.date
    start: dt.date
    end: dt.date
    units: list[str]
    columns: dict[str, np.ndarray]
    key: np.ndarray
    reason: np.ndarray
    snapshots: dict[dt.date, dict[str, np.ndarray]] = field(default_factory=dict)
    also: list = field(default_factory=list)  # what collect's ``also`` made of each batch
    municipalities: list[str] = field(default_factory=list)  # ``municipality`` indexes these (-1: none)
    activity: dict = field(default_factory=dict)  # events and children counted (frister.reports.activity)
    data_fingerprint: str = ""  # of the stored cases' facts (see collect)
    # Per obligation, the index of its deviation's follow-up status in breaches.FOLLOW_UP
    # (-1: no assessment recorded); and the breaches due in the 12 months before the
    # window, as columns case, rule and due (collect's ``earlier``), to tell recurrences.
    follow_up: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    earlier: dict[str, np.ndarray] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(self.key)

    @property
    def fingerprint(self) -> str:
        return self.rules.fingerprint

    def rule_index(self, rule_id: str) -> int:
        return next(i for i, r in enumerate(self.rules) if r.id == rule_id)

    def due_between(self, start: dt.date, end: dt.date) -> np.ndarray:
        return (self.due >= to_day(start)) & (self.due <= to_day(end))

    def met_between(self, start: dt.date, end: dt.date) -> np.ndarray:
        return (self.met >= to_day(start)) & (self.met <= to_day(end))

    def started_between(self, start: dt.date, end: dt.date) -> np.ndarray:
        """Started (the anchor: the referral received, the investigation begun…) in the range;
        complete only in a frame collected with ``started=True``."""
        return (self.anchor >= to_day(start)) & (self.anchor <= to_day(end))

    def of_unit(self, unit: str | None) -> np.ndarray:
        return self.of(Group(unit, unit, units=(unit,)) if unit is not None else None)

    def of(self, group: "Group | None") -> np.ndarray:
        """The obligations credited to ``group`` (None: all)."""
        return self.group_mask(group, self.unit, self.municipality)

    def snapshot_of(self, day: dt.date, group: "Group | None") -> np.ndarray:
        """The children of the snapshot on ``day`` credited to ``group`` (None: all)."""
        snap = self.snapshots[day]
        return self.group_mask(group, snap["unit"], snap["municipality"])

    def group_mask(self, group: "Group | None", unit: np.ndarray, municipality: np.ndarray) -> np.ndarray:
        mask = np.ones(len(unit), dtype=bool)
        if group is None:
            return mask
        if group.units is not None:
            mask &= np.isin(unit, [self.units.index(u) for u in group.units if u in self.units])
        if group.municipality is not None:
            m = group.municipality
            mask &= municipality == (-1 if m == "" else self.municipalities.index(m) if m in self.municipalities
                                     else -2)
        return mask

    def duty_is(self, duty: str) -> np.ndarray:
        """The obligations whose rule version is of that kind of duty."""
        table = np.zeros((len(self.rules), max((len(r.versions) for r in self.rules), default=1)), dtype=bool)
        for i, rule in enumerate(self.rules):
            for k, v in enumerate(rule.versions):
                table[i, k] = v.duty == duty
        return table[self.rule, self.version] if len(self) else np.zeros(0, dtype=bool)

    def breaches(self) -> np.ndarray:
        return (self.status == LATE) | (self.status == OVERDUE)

    def result(self, i: int) -> Result:
        """One obligation as a :class:`Result` (a breach: the only ones with a key)."""
        rule = self.rules.rules[self.rule[i]]
        version = rule.versions[self.version[i]]
        case_id, _, subject, period, seq = self.key[i]
        return Result(
            case_id=case_id, rule=rule.id, subject=subject, period=period or None, seq=seq,
            due_on=from_day(self.due[i]), met_on=from_day(self.met[i]),
            status=("met", "late", "open", "overdue")[self.status[i]], days_late=int(self.days_late[i]),
            required=None if self.required[i] < 0 else int(self.required[i]),
            done=None if self.done[i] < 0 else int(self.done[i]), rule_version=version.name,
            unit=self.units[self.unit[i]], caseworker=None, anchor_on=from_day(self.due[i]), basis=version.basis,
            confidence=version.confidence,
        )


def collect(conn: Connection, rules: RuleSet, as_of: dt.date, start: dt.date, end: dt.date,
            snapshot_days: Sequence[dt.date] = (), also: Callable[[Evaluation], Any] | None = None,
            municipality: str | None = None, started: bool = False, earlier: bool = False) -> Frame:
    """Evaluate every stored case as of ``as_of``; keep the obligations due or met (with
    ``started``, also started) in ``[start, end]``, and count the support-measure
    snapshots on ``snapshot_days``. With ``earlier``, also keep the breaches due in the
    :data:`~frister.breaches.service.RECURRENCE_MONTHS` months before ``start``
    (``Frame.earlier``: only their case, rule and due date).
    ``also(evaluation)``, when given, is called on each batch where it was evaluated
    and what it returns is kept in ``Frame.also``. With ``municipality`` (a number) the
    frame holds only the cases of that municipality (a council's own report); what
    ``also`` returned is not filtered."""
    window = (to_day(start), to_day(end))
    since = to_day(add_months(start, -RECURRENCE_MONTHS)) if earlier else window[0]
    rule_ids = tuple(r.id for r in rules)
    both = list(map_evaluations(conn, rules, as_of, lambda ev: (
        _window(ev, rule_ids, window, tuple(snapshot_days), started, since), also(ev) if also else None)))
    pieces = [p for p, _ in both]
    labels = {kind: sorted({u for p in pieces for u in p[kind]} - {""}) for kind in ("units", "municipalities")}
    columns: dict[str, list] = {name: [] for name in _COLUMNS}
    keys, snapshots = [], {d: [] for d in snapshot_days}
    before: dict[str, list] = {name: [] for name in _EARLIER}
    activities: list[dict] = []
    fingerprint = 0
    offset = 0
    for p in pieces:
        # Each batch numbered its labels as it met them; renumber them in the frame's order.
        local = {kind: np.array([labels[kind].index(u) if u else -1 for u in p[kind]], dtype=np.int32)
                 for kind in labels}
        for name in _COLUMNS:
            value = p[name]
            if name in ("unit", "municipality"):
                value = local[f"{name}s" if name == "unit" else "municipalities"][value] if len(value) else value
            elif name == "case":
                value = value + offset
            columns[name].append(value)
        keys.append(p["key"])
        for name in _EARLIER:
            before[name].append(p["earlier"][name] + (offset if name == "case" else 0))
        for d in snapshot_days:
            snap = p["snapshots"][d]
            snapshots[d].append({**snap, "unit": local["units"][snap["unit"]] if len(snap["unit"]) else snap["unit"],
                                 "municipality": local["municipalities"][snap["municipality"]]
                                 if len(snap["municipality"]) else snap["municipality"]})
        offset += p["cases"]
        for name, table in p["activity"].items():
            for part in (table.values() if name == "children" else (table,)):
                for kind in ("unit", "municipality"):
                    code = local["units" if kind == "unit" else "municipalities"]
                    part[kind] = code[part[kind]] if len(part[kind]) else part[kind]
        activities.append(p["activity"])
        fingerprint = (fingerprint + p["fingerprint"]) % (1 << 256)
    units = labels["units"]
    merged = {name: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for name, v in columns.items()}
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=object)
    reasons = reasons_by_key(conn)
    reason = np.full(len(key), -1, dtype=np.int8)
    follow_up = np.full(len(key), -1, dtype=np.int8)
    for i in np.nonzero(key != None)[0]:  # noqa: E711 - elementwise over an object array
        found = reasons.get(key[i])
        if found is not None and found.reason in REASON_CODES:
            reason[i] = REASON_CODES.index(found.reason)
        if found is not None and found.follow_up in FOLLOW_UP:
            follow_up[i] = FOLLOW_UP.index(found.follow_up)
    snaps = {d: {name: np.concatenate([s[name] for s in parts]) for name in parts[0]} if parts else
             {name: np.zeros(0, dtype=np.int64) for name in _SNAPSHOT}
             for d, parts in snapshots.items()}
    frame = Frame(rules, as_of, start, end, units, merged, key, reason, snaps, [a for _, a in both],
                  municipalities=labels["municipalities"], activity=_merge_activity(activities, snapshot_days),
                  data_fingerprint=f"{fingerprint:064x}", follow_up=follow_up,
                  earlier={name: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for name, v in before.items()})
    return frame if municipality is None else _only(frame, Group(municipality, municipality, municipality=municipality))


def _merge_activity(pieces: list[dict], snapshot_days: Sequence[dt.date]) -> dict:
    """The batches' activity arrays (frister.reports.activity), concatenated."""
    def join(parts: list[dict]) -> dict:
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]} if parts else {}

    if not pieces:
        empty = {"day": np.zeros(0, dtype=np.int64), "unit": np.zeros(0, dtype=np.int32),
                 "municipality": np.zeros(0, dtype=np.int32)}
        from frister.reports.activity import CHILD_FLAGS
        flags = {k: np.zeros(0, dtype=bool) for k in CHILD_FLAGS}
        return {"referral": empty, "referral_concluded": {**empty, "closed": flags["any"]},
                "investigation": {**empty, "closed": flags["any"], "extended": flags["any"],
                                  "measures": flags["any"]},
                "emergency": empty, "children": {d: {"unit": empty["unit"], "municipality": empty["unit"], **flags}
                                                 for d in snapshot_days}}
    out = {name: join([p[name] for p in pieces]) for name in pieces[0] if name != "children"}
    out["children"] = {d: join([p["children"][d] for p in pieces]) for d in snapshot_days}
    return out


def _only(f: Frame, group: Group) -> Frame:
    """The frame with only the obligations, snapshot children and activity of ``group``."""
    keep = f.of(group)
    snaps = {}
    for day, snap in f.snapshots.items():
        in_group = f.snapshot_of(day, group)
        snaps[day] = {name: values[in_group] for name, values in snap.items()}

    def only(table: dict) -> dict:
        mask = f.group_mask(group, table["unit"], table["municipality"])
        return {name: values[mask] for name, values in table.items()}

    activity = {name: ({d: only(t) for d, t in table.items()} if name == "children" else only(table))
                for name, table in f.activity.items()}
    return Frame(f.rules, f.as_of, f.start, f.end, f.units, {n: v[keep] for n, v in f.columns.items()},
                 f.key[keep], f.reason[keep], snaps, f.also, municipalities=f.municipalities, activity=activity,
                 data_fingerprint=f.data_fingerprint, follow_up=f.follow_up[keep],
                 earlier=f.earlier)  # matched by case number: the group's cases find their own


def _window(ev: Evaluation, rule_ids: tuple[str, ...], window: tuple[int, int],
            snapshot_days: tuple[dt.date, ...], started: bool = False, since: int | None = None) -> dict:
    """In the worker: one batch's obligations due or met (or started) in ``window``, and
    its breaches due from ``since`` to the window's start, as small arrays."""
    b = ev.batch
    units, municipalities = _Codes(), _Codes()
    out: dict[str, list] = {name: [] for name in _COLUMNS}
    before: dict[str, list] = {name: [] for name in _EARLIER}
    keys: list[np.ndarray] = []
    lo, hi = window
    for p in ev.parts:
        if since is not None and since < lo:
            prior = np.nonzero((p.due >= since) & (p.due < lo) & ((p.status == LATE) | (p.status == OVERDUE)))[0]
            before["case"].append(p.table.case[p.row[prior]].astype(np.int64))
            before["rule"].append(np.full(len(prior), rule_ids.index(p.rule.id), dtype=np.int64))
            before["due"].append(p.due[prior].astype(np.int64))
        keep = ((p.due >= lo) & (p.due <= hi)) | ((p.met >= lo) & (p.met <= hi))
        if started:
            keep |= (p.anchor >= lo) & (p.anchor <= hi)
        idx = np.nonzero(keep)[0]
        if not len(idx):
            continue
        t = p.table
        rows = p.row[idx]
        cases = t.case[rows]
        n = len(idx)
        minus = np.full(n, -1, dtype=np.int64)
        out["rule"].append(np.full(n, rule_ids.index(p.rule.id), dtype=np.int16))
        out["status"].append(p.status[idx])
        out["due"].append(p.due[idx])
        out["met"].append(p.met[idx])
        out["anchor"].append(p.anchor[idx])
        out["days_late"].append(p.days_late[idx])
        out["required"].append(p.required[idx] if p.required is not None else minus)
        out["done"].append(p.done[idx] if p.done is not None else minus)
        out["version"].append(p.version[idx].astype(np.int16))
        out["unit"].append(units.of(t.unit[rows]))
        out["municipality"].append(municipalities.of(b.cases["municipality"][cases]))
        out["case"].append(cases.astype(np.int64))
        out["placed_on"].append(t.fields["started_on"][rows] if p.rule.kind == "visits"
                                else np.full(n, NONE, dtype=np.int64))
        key = np.full(n, None, dtype=object)
        breach = np.nonzero((p.status[idx] == LATE) | (p.status[idx] == OVERDUE))[0]
        for j in breach:
            i = idx[j]
            key[j] = (b.case_ids[cases[j]], p.rule.id, t.ids[rows[j]],
                      period_label(p.period[i]) if p.period is not None else "",
                      int(p.seq[i]) if p.seq is not None else 1)
        keys.append(key)
    piece = {name: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for name, v in out.items()}
    snapshots = {d: support_snapshot(b, d, units, municipalities) for d in snapshot_days}
    activity = activity_piece(b, ev.as_of, window, snapshot_days, units, municipalities)
    piece.update(earlier={name: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for name, v in before.items()})
    piece.update(units=units.labels, municipalities=municipalities.labels, cases=len(b), snapshots=snapshots,
                 key=np.concatenate(keys) if keys else np.zeros(0, dtype=object), activity=activity,
                 fingerprint=data_fingerprint(b))
    return piece


def data_fingerprint(b: Batch) -> int:
    """The batch's share of the data fingerprint: the sum of a sha256 per stored case
    (its id and the fingerprint of its facts), so the frame's fingerprint does not depend
    on how the cases fell into batches."""
    total = 0
    for case_id, facts in zip(b.case_ids, b.fingerprints):
        total += int.from_bytes(hashlib.sha256(f"{case_id}\0{facts}".encode()).digest(), "big")
    return total % (1 << 256)


class _Codes:
    """Labels (units, municipalities; None as "") numbered as they are met, for small arrays."""

    def __init__(self):
        self.labels: list[str] = []
        self._code: dict[str, int] = {}

    def of(self, values: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(np.where(values == None, "", values).astype(str), return_inverse=True)  # noqa: E711
        for label in uniq:
            if label not in self._code:
                self._code[label] = len(self.labels)
                self.labels.append(label)
        return np.array([self._code[label] for label in uniq], dtype=np.int32)[inverse].reshape(-1)


_SNAPSHOT = ("unit", "municipality", "has_plan", "plan_eligible", "evaluated")


def support_snapshot(batch: Batch, day: dt.date, units: "_Codes", municipalities: "_Codes") -> dict[str, np.ndarray]:
    """Per child (case) with a support measure active on ``day``: the unit that holds
    its (first) active support measure and the case's municipality, whether an active
    support measure has a plan made on or before the day, whether such a plan's measure
    has run for at least 3 months (``plan_eligible``), and whether an eligible one was
    evaluated in the 6 months up to the day."""
    t = batch.tables["measure"]
    d = to_day(day)
    decided, ended, plan = t.fields["decided_on"], t.fields["ended_on"], known(t.fields["plan_made_on"], d)
    active = (t.fields["kind"] == "support") & (decided <= d) & ((ended >= NONE) | (ended > d))
    with_plan = active & (plan < NONE)
    eligible = with_plan & (decided <= to_day(add_months(day, -3)))
    window_start = to_day(add_months(day + dt.timedelta(days=1), -6))
    rows = np.nonzero(eligible)[0]
    keys = t.fields["evaluations"].keys(len(t), d)
    evaluated = np.zeros(len(t), dtype=bool)
    evaluated[rows] = keys.count(rows, np.full(len(rows), window_start), np.full(len(rows), d)) > 0
    n = len(batch)
    per_case = {name: np.zeros(n, dtype=bool) for name in ("active", "has_plan", "plan_eligible", "evaluated")}
    for name, mask in (("active", active), ("has_plan", with_plan), ("plan_eligible", eligible),
                       ("evaluated", evaluated)):
        per_case[name][t.case[mask]] = True
    holder = np.empty(n, dtype=object)
    first = np.nonzero(active)[0][::-1]  # the first active measure of a case wins (assigned last)
    holder[t.case[first]] = t.unit[first]
    cases = np.nonzero(per_case["active"])[0]
    return {"unit": units.of(holder[cases]), "municipality": municipalities.of(batch.cases["municipality"][cases]),
            **{name: per_case[name][cases] for name in _SNAPSHOT[2:]}}


def reasons_counter(frame: Frame, mask: np.ndarray) -> Counter:
    """Breaches under ``mask`` per reason index (-1: none)."""
    return Counter(frame.reason[mask & frame.breaches()].tolist())
