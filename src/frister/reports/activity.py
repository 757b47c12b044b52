"""Activity (volume) figures: what the services' own status reports are built on.

Counted from the case facts, not from obligations; each figure is defined once here and
in the glossary of the report (:data:`GLOSSARY`). A figure for a period ``[start, end]``
counts events dated in it; a figure «per S» counts children on the snapshot date ``S``
(the period's end, or the as-of date when earlier), from events dated on or before ``S``.
A referral, investigation or emergency decision is credited to the unit that held it; a
child to the unit of its first active measure, else of its first active placement, else
its case's unit; all to the case's municipality.

* **Meldinger mottatt**: referrals received in the period.
* **Meldinger henlagt**: of the referrals *concluded* (reviewed) in the period, those
  closed without investigation (``closed``, and ``closed_active_measures``: closed
  because the child already has measures) — the services' «% henlagte».
* **Undersøkelser avsluttet**, and of those: **henlagt** (``closed``,
  ``closed_with_concern``), **utvidet** (an extension granted), **til tiltak**
  (concluded with measures).
* **Akuttvedtak**: emergency decisions made in the period.
* **Barn med hjelpetiltak per S**: children with a support measure active on S;
  **av disse plassert frivillig**: of those, children with a placement active on S who
  are not under care.
* **Barn under omsorg / plassert (inkl. akuttvedtak) per S**: children with a care
  measure active on S, an emergency placement active on S, or a care order decided on
  or before S and a placement active on S.
* **Barn i tiltak totalt per S**: children with support measures or under care.
* **Barn i fosterhjem / i institusjon per S**: children with a placement of that kind
  active on S.
* **Unge voksne i ettervern per S**: persons aged 18 or more on S with a measure active on S.
* **Omsorgsplaner**: of the children with a care order and a placement active on S, those
  whose care plan was made on or before S.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Sequence

import numpy as np

from frister.calendar import NONE, add_months, known, to_day

if TYPE_CHECKING:
    from frister.engine.batch import Batch
    from frister.reports.data import Frame, Group
    from frister.reports.figures import Figure

EVENTS = ("referral", "investigation", "emergency")
CLOSED_REFERRAL = ("closed", "closed_active_measures")
CLOSED_INVESTIGATION = ("closed", "closed_with_concern")
CHILD_FLAGS = ("support", "voluntary", "care", "any", "foster_home", "institution", "aftercare",
               "care_order", "care_plan")

GLOSSARY = (
    ("Meldinger mottatt", "Meldinger med mottaksdato i perioden."),
    ("Meldinger henlagt", "Av meldingene som ble gjennomgått (konkludert) i perioden: de som ble henlagt uten "
                          "undersøkelse, også henlagt fordi barnet alt har tiltak («% henlagte»)."),
    ("Undersøkelser avsluttet", "Undersøkelser med avslutningsdato i perioden; av dem henlagt (også henlagt med "
                                "bekymring), utvidet (forlengelse innvilget) og avsluttet med tiltak."),
    ("Akuttvedtak", "Akuttvedtak fattet i perioden."),
    ("Barn med hjelpetiltak", "Barn med et hjelpetiltak som løper på telledagen (periodens slutt, eller "
                              "datagrunnlagets dato om den er tidligere); av disse plassert frivillig: barn som også "
                              "har en plassering som løper, uten å være under omsorg."),
    ("Barn under omsorg/plassert utenfor hjemmet (inkl. akuttvedtak)",
     "Barn med et omsorgstiltak eller en akuttplassering som løper på telledagen, eller med vedtak om "
     "omsorgsovertakelse og en plassering som løper."),
    ("Barn i tiltak totalt", "Barn med hjelpetiltak eller under omsorg på telledagen (hvert barn telles én gang)."),
    ("Barn i fosterhjem / institusjon", "Barn med en plassering av den typen som løper på telledagen."),
    ("Unge voksne i ettervern", "Personer som er 18 år eller eldre på telledagen og har et tiltak som løper."),
    ("Omsorgsplaner", "Av barna med vedtak om omsorgsovertakelse og en plassering som løper på telledagen: de "
                      "som har omsorgsplan laget senest den dagen."),
    ("Meldinger per måned", "Gjennomsnittet av meldinger mottatt per hele kalendermåned i perioden, med laveste og "
                            "høyeste måned."),
)


def activity_piece(batch: "Batch", as_of: int, window: tuple[int, int], snapshot_days: Sequence[dt.date],
                   units, municipalities) -> dict:
    """In the worker: the events of one batch dated in ``window`` and the children counted on
    each snapshot day, as small arrays (unit and municipality numbered by ``units`` and
    ``municipalities``, :class:`frister.reports.data._Codes`)."""
    lo, hi = window
    municipality_of = batch.cases["municipality"]
    out: dict = {}

    def rows(table: str, day: np.ndarray, **columns: np.ndarray) -> dict:
        t = batch.tables[table]
        keep = np.nonzero((day >= lo) & (day <= hi))[0]
        return {"day": day[keep], "unit": units.of(t.unit[keep]),
                "municipality": municipalities.of(municipality_of[t.case[keep]]),
                **{name: values[keep] for name, values in columns.items()}}

    r = batch.tables["referral"]
    received = known(r.fields["received_on"], as_of)
    concluded = known(r.fields["concluded_on"], as_of)
    closed = np.isin(r.fields["conclusion"].astype(str), CLOSED_REFERRAL)
    out["referral"] = rows("referral", received)
    out["referral_concluded"] = rows("referral", concluded, closed=closed)
    inv = batch.tables["investigation"]
    ended = known(inv.fields["concluded_on"], as_of)
    conclusion = inv.fields["conclusion"].astype(str)
    extended = inv.fields["extension_granted"].astype(bool) & (known(inv.fields["extension_requested_on"], as_of) < NONE)
    out["investigation"] = rows("investigation", ended, closed=np.isin(conclusion, CLOSED_INVESTIGATION),
                                extended=extended, measures=conclusion == "measures")
    out["emergency"] = rows("emergency_decision", known(batch.tables["emergency_decision"].fields["decided_on"], as_of))
    out["children"] = {day: children_on(batch, day, units, municipalities) for day in snapshot_days}
    return out


def _active(t, start: str, end: str, d: int) -> np.ndarray:
    return (t.fields[start] <= d) & ~(t.fields[end] <= d)  # an end on the day itself ends it


def children_on(batch: "Batch", day: dt.date, units, municipalities) -> dict:
    """Per child (case) counted on ``day``: its unit and municipality and :data:`CHILD_FLAGS`."""
    n, d = len(batch), to_day(day)
    m, p, c = batch.tables["measure"], batch.tables["placement"], batch.tables["care_order"]
    measure_on = _active(m, "decided_on", "ended_on", d)
    placement_on = _active(p, "started_on", "ended_on", d)

    def per_case(table, mask) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[table.case[mask]] = True
        return out

    support = per_case(m, measure_on & (m.fields["kind"] == "support"))
    placed = per_case(p, placement_on)
    order = per_case(c, c.fields["decided_on"] <= d)
    care = per_case(m, measure_on & (m.fields["kind"] == "care")) | per_case(
        p, placement_on & (p.fields["kind"] == "emergency")) | (order & placed)
    plan = per_case(c, (c.fields["decided_on"] <= d) & (c.fields["care_plan_made_on"] <= d))
    birth = batch.birth
    adult = (birth < NONE) & (birth <= to_day(add_months(day, -12 * 18)))
    flags = {
        "support": support, "voluntary": support & placed & ~care, "care": care, "any": support | care,
        "foster_home": per_case(p, placement_on & (p.fields["kind"] == "foster_home")),
        "institution": per_case(p, placement_on & (p.fields["kind"] == "institution")),
        "aftercare": adult & per_case(m, measure_on), "care_order": order & placed, "care_plan": order & placed & plan,
    }
    counted = np.nonzero(np.logical_or.reduce([flags[k] for k in CHILD_FLAGS]))[0]
    holder = batch.cases["unit"].copy()
    for table, mask in ((p, placement_on), (m, measure_on)):  # the first active measure wins (assigned last)
        first = np.nonzero(mask)[0][::-1]
        holder[table.case[first]] = table.unit[first]
    return {"unit": units.of(holder[counted]), "municipality": municipalities.of(batch.cases["municipality"][counted]),
            **{k: flags[k][counted] for k in CHILD_FLAGS}}


# --- counting in the main process -------------------------------------------------------


def activity_figures(f: "Frame", start: dt.date, end: dt.date, snapshot_day: dt.date,
                     group: "Group | None" = None) -> list["Figure"]:
    """The activity figures of :data:`GLOSSARY` for ``[start, end]`` and the children on ``snapshot_day``."""
    from frister.reports.figures import Figure

    lo, hi = to_day(start), to_day(end)

    def events(name: str) -> dict:
        e = f.activity[name]
        mask = f.group_mask(group, e["unit"], e["municipality"]) & (e["day"] >= lo) & (e["day"] <= hi)
        return {k: v[mask] for k, v in e.items()}

    received, reviewed, inv, emergency = (events(n) for n in ("referral", "referral_concluded", "investigation",
                                                              "emergency"))
    kids = f.activity["children"][snapshot_day]
    mine = f.group_mask(group, kids["unit"], kids["municipality"])
    child = {k: kids[k][mine] for k in CHILD_FLAGS}
    count = len(inv["day"])

    def c(name: str) -> int:
        return int(child[name].sum())

    return [
        Figure("referrals_received", "Meldinger mottatt", len(received["day"])),
        Figure("referrals_closed", "Meldinger henlagt", int(reviewed["closed"].sum()), len(reviewed["day"]),
               higher_is_better=False, note="av meldinger gjennomgått i perioden"),
        Figure("investigations_concluded", "Undersøkelser avsluttet", count),
        Figure("investigations_closed", "Undersøkelser henlagt", int(inv["closed"].sum()), count,
               higher_is_better=False, note="av undersøkelser avsluttet i perioden"),
        Figure("investigations_extended", "Undersøkelser utvidet (forlengelse innvilget)", int(inv["extended"].sum()),
               count, higher_is_better=False, note="av undersøkelser avsluttet i perioden"),
        Figure("investigations_to_measures", "Undersøkelser avsluttet med tiltak", int(inv["measures"].sum()), count,
               note="av undersøkelser avsluttet i perioden"),
        Figure("emergency_decisions", "Akuttvedtak", len(emergency["day"])),
        Figure("children_support", "Barn med hjelpetiltak", c("support"), note="på telledagen"),
        Figure("children_placed_voluntarily", "Av disse: barn plassert frivillig utenfor hjemmet", c("voluntary"),
               note="på telledagen"),
        Figure("children_under_care", "Barn under omsorg/plassert utenfor hjemmet (inkl. akuttvedtak)", c("care"),
               note="på telledagen"),
        Figure("children_in_measures", "Antall barn i tiltak totalt", c("any"), note="på telledagen"),
        Figure("children_foster_home", "Barn i fosterhjem", c("foster_home"), note="på telledagen"),
        Figure("children_institution", "Barn i institusjon", c("institution"), note="på telledagen"),
        Figure("aftercare", "Unge voksne (18 år og eldre) i ettervern", c("aftercare"), note="på telledagen"),
        Figure("care_plans", "Barn under omsorg med omsorgsplan", c("care_plan"), c("care_order"),
               note="på telledagen"),
    ]


MUNICIPALITY_ROWS = (
    ("referrals_received", "Antall meldinger"),
    ("children_support", "Barn med hjelpetiltak"),
    ("children_placed_voluntarily", "Av disse; barn plassert frivillig utenfor hjemmet"),
    ("children_under_care", "Barn under omsorg/plassert utenfor hjemmet (inkl. akuttvedtak)"),
    ("children_in_measures", "Antall barn i tiltak totalt"),
)


def monthly_volume(f: "Frame", start: dt.date, end: dt.date, group: "Group | None" = None) -> dict | None:
    """Referrals received per whole calendar month in ``[start, end]`` (up to the as-of
    date): mean, lowest and highest, and the months counted; None without a whole month."""
    e = f.activity["referral"]
    mask = f.group_mask(group, e["unit"], e["municipality"])
    days = e["day"][mask]
    counts = []
    month = start.replace(day=1) if start.day == 1 else add_months(start.replace(day=1), 1)
    while True:
        last = add_months(month, 1) - dt.timedelta(days=1)
        if last > end or last > f.as_of:
            break
        counts.append(int(((days >= to_day(month)) & (days <= to_day(last))).sum()))
        month = add_months(month, 1)
    if not counts:
        return None
    return {"months": len(counts), "mean": sum(counts) / len(counts), "min": min(counts), "max": max(counts)}
