"""The rows of the per-unit and per-municipality tables of a report.

**Units** follow the unit tree of the organisation file (:mod:`frister.organisation`):
a unit's row sums the obligations credited to it and to every unit below it (a
department is its own steps plus its teams'), shown with its display name and indented
by its depth; units the data holds but the file does not know come last, at the top of
the tree, by code. Without an organisation file the units are flat, by code, as the case
system writes them. A unit that holds nothing in the report's data (at or below it) has
no row.

**Municipalities** are those of the organisation file, in its order, then numbers the
data holds that the file does not know, then «uten kommune» for cases without one
(contract v1). A report of cases that all lack a municipality has no municipality table.
Obligations are credited to the unit that held the step and to the case's municipality
(:mod:`frister.reports.data`).
"""

from __future__ import annotations

import numpy as np

from frister.errors import FristerError
from frister.organisation import Organisation, units_in_tree_order
from frister.reports.data import Frame, Group

NO_MUNICIPALITY = "(uten kommune)"


def _present(f: Frame, kind: str, labels: list[str]) -> set[str]:
    codes = [f.columns[kind]] + [snap[kind] for snap in f.snapshots.values()]
    used = np.unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int32)
    return {labels[int(i)] if i >= 0 else "" for i in used}


def unit_groups(f: Frame, organisation: Organisation | None) -> list[Group]:
    """One row per unit that holds something in ``f``, in tree order (see the module docstring)."""
    return tree_groups(organisation, _present(f, "unit", f.units) - {""})


def tree_groups(organisation: Organisation | None, present: set[str]) -> list[Group]:
    """One row per unit of the tree that holds one of the ``present`` unit codes, in tree order."""
    out = []
    for unit in units_in_tree_order(organisation, present):
        codes = tuple(organisation.below(unit.code)) if organisation is not None else (unit.code,)
        if not present.intersection(codes):
            continue
        name = organisation.name(unit.code) if organisation is not None else unit.code
        out.append(Group(unit.code, name, units=codes, depth=unit.depth, parent=unit.parent))
    return out


def municipality_groups(f: Frame, organisation: Organisation | None, only: str | None = None) -> list[Group]:
    """One row per municipality (see the module docstring); only ``only`` when given."""
    if only is not None:
        return [Group(only, municipality_name(organisation, only), municipality=only)]
    present = _present(f, "municipality", f.municipalities)
    if not present - {""}:
        return []
    known = list(organisation.municipalities) if organisation is not None else []
    numbers = known + sorted(present - set(known) - {""}) + ([""] if "" in present else [])
    return [Group(n, municipality_name(organisation, n), municipality=n) for n in numbers]


def municipality_name(organisation: Organisation | None, number: str) -> str:
    if number == "":
        return NO_MUNICIPALITY
    return organisation.municipality_name(number) if organisation is not None else number


def check_municipality(f: Frame, organisation: Organisation | None, number: str | None) -> None:
    """Refuse a municipality that neither the organisation file nor the data knows."""
    if number is None:
        return
    if number in f.municipalities or (organisation is not None and number in organisation.municipalities):
        return
    known = sorted(set(f.municipalities) | set(organisation.municipalities if organisation else ()))
    raise FristerError(f"unknown municipality {number!r}: expected one of {', '.join(known) or '(none in the data)'}")
