"""Validate one case record against the contract (:mod:`frister.facts.contract`).

Used by the importer (one JSON line at a time) and by the legal examples, so both
accept exactly the same shape. Every problem becomes a ``(field path, expected)`` pair
(``referrals[0].received_on``, ``expected a date YYYY-MM-DD``); the caller adds file,
line and case. No message contains a value from the record, only the field's path and
what was expected there.

The models check each field; this module adds what concerns several fields: ids unique
among a case's subjects of one kind, an investigation's ``referral_id`` naming one of
the case's referrals, dates in their order (``Fact(after=…)``), and, given the
import's as-of date, no event after it (an export cannot know the future).
"""

from __future__ import annotations

import json
import typing
from collections import Counter
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from frister.facts import contract as c
from frister.facts.vocabulary import CASE_FIELDS, RECORDED, _unwrap

Problem = tuple[str, str]  # (field path, what was expected)

_STRUCTURE = {
    "missing": None,
    "extra_forbidden": "unknown field (the contract does not have it)",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dict_type": "expected an object",
}


def parse_case(record: str | bytes | Any, as_of: date | None = None
               ) -> tuple[c.Case | None, str | None, list[Problem]]:
    """Validate one case record (its JSON text, or an object as JSON would give it):
    ``(case, case_id, problems)``; ``case`` is None when there is any problem.
    ``as_of``, when given, refuses event dates after it."""
    if not isinstance(record, str | bytes):
        record = json.dumps(record, default=_iso)
    twice: list[str] = []
    try:
        obj = json.loads(record, object_pairs_hook=lambda pairs: _object(pairs, twice))
    except (ValueError, RecursionError):
        return None, None, [("(line)", "expected one JSON object (JSON Lines, one case per line)")]
    if not isinstance(obj, dict):
        return None, None, [("(record)", "expected a JSON object, one case per line")]
    case_id = obj.get("case_id")
    case_id = case_id if isinstance(case_id, str) and len(case_id) <= 64 and case_id.isprintable() else None
    if twice:
        return None, case_id, [(_path((key,)), "key given twice (each key once per object)") for key in twice]
    try:
        case = c.Case.model_validate_json(record)
    except ValidationError as exc:
        return None, case_id, [_problem(e) for e in exc.errors(include_input=False, include_url=False)]
    problems = _consistency(case, as_of)
    return (None if problems else case), case.case_id, problems


HEADER_KEY = "frister_export"


def is_header(text: str) -> bool:
    """Whether a file's first line is a contract v2 header (``{"frister_export": 2, …}``)."""
    return f'"{HEADER_KEY}"' in text[:200]


def parse_header(text: str) -> tuple[c.Header | None, list[Problem]]:
    """Validate a contract v2 header line: what the source is, from when its history is
    complete, and which facts (``referrals.feedback_sent_on``) it never delivers."""
    try:
        header = c.Header.model_validate_json(text)
    except ValidationError as exc:
        return None, [(f"(header).{_path(tuple(e['loc']))}", _header_expected(e)) for e in exc.errors()]
    unknown = [name for name in header.not_delivered if name not in DELIVERABLE]
    if unknown:
        return None, [("(header).not_delivered", "expected facts of the contract such as referrals.feedback_sent_on "
                       f"({len(unknown)} not known)")]
    return header, []


def _header_expected(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field (the header has frister_export, source, extracted_on, complete_from, not_delivered)"
    if error["loc"] and error["loc"][0] == "frister_export":
        return "expected 2 (the contract version)"
    return "expected a date YYYY-MM-DD" if "date" in error["type"] else "expected what the header describes"


# The facts a source may say it does not deliver: ``<list or object>.<field>``.
DELIVERABLE = frozenset(
    [".".join(f.path) for f in CASE_FIELDS if len(f.path) > 1]
    + [f"{st.table}.{'.'.join(f.path)}" for st in RECORDED for f in st.stored]
)


def _object(pairs: list[tuple[str, Any]], twice: list[str]) -> dict:
    """A JSON object; a key given more than once in it is noted in ``twice`` (the last
    value would otherwise win silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        twice.extend(key for key, n in Counter(k for k, _ in pairs).items() if n > 1)
    return obj


def _iso(value):
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            if not (isinstance(part, str) and part.isidentifier() and len(part) <= 40):
                part = "(unknown key)"  # a key is not case data, but shown only when plainly a name
            out += f".{part}" if out else part
    return out or "(record)"


def _problem(error: dict) -> Problem:
    kind, loc = error["type"], tuple(error["loc"])
    fixed = _STRUCTURE.get(kind, "")
    if fixed:
        return _path(loc), fixed
    expected = _expected_at(loc)
    return _path(loc), (f"required: {expected}" if kind == "missing" else expected)


def _expected_at(loc: tuple) -> str:
    """What the contract expects at ``loc`` (a field, a list of subjects, an item)."""
    model: type[BaseModel] | None = c.Case
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return "expected a value of the contract's shape"
        info = model.model_fields[part]
        annotation, metadata, _ = _unwrap(typing.Annotated[info.annotation, *info.metadata]
                                          if info.metadata else info.annotation)
        expect = next((m for m in metadata if isinstance(m, c.Expect)), None)
        if expect is not None:
            return c.DATE_EXPECTED if expect.kind == "dates" and isinstance(loc[-1], int) else expect.text
        args = typing.get_args(annotation)
        item = args[0] if typing.get_origin(annotation) is tuple and args else annotation
        model = item if isinstance(item, type) and issubclass(item, BaseModel) else None
    if typing.get_origin(annotation) is tuple:
        return "expected a list of objects"
    return "expected an object"


def _consistency(case: c.Case, as_of: date | None) -> list[Problem]:
    problems: list[Problem] = []
    if as_of is not None:
        for f in _CASE_DATES:
            _future(problems, f.name, f.kind, f.get(case), as_of)
    referral_ids = {r.id for r in case.referrals}
    for st, checked in _CHECKED:
        seen: set[str] = set()
        for i, item in enumerate(getattr(case, st.table)):
            if item.id in seen:
                problems.append((f"{st.table}[{i}].id", f"expected an id unique among this case's {st.table}"))
            seen.add(item.id)
            for f, after in checked:
                value = getattr(item, f.name) if len(f.path) == 1 else f.get(item)
                if value is None:
                    continue
                if as_of is not None:
                    _future(problems, f"{st.table}[{i}].{'.'.join(f.path)}", f.kind, value, as_of)
                before = getattr(item, after.name) if after is not None else None
                if before is not None and value < before and _known(before, as_of):
                    # A nested date names the subject's field in full (extension.requested_on).
                    other = f"{st.table}[{i}].{f.after}" if len(f.path) > 1 else f.after
                    problems.append((f"{st.table}[{i}].{'.'.join(f.path)}", f"expected a date on or after {other}"))
            if st.name == "investigation" and item.referral_id is not None and item.referral_id not in referral_ids:
                problems.append((f"{st.table}[{i}].referral_id", "expected the id of a referral in this case"))
    return problems


# The date fields of the case and, per subject type, with the field each may not precede.
_CASE_DATES = tuple(f for f in CASE_FIELDS if f.kind in ("date", "dates"))
_CHECKED = tuple((st, tuple((f, st.fields[f.after] if f.after else None) for f in st.stored
                            if f.kind in ("date", "dates"))) for st in RECORDED)


def _known(day: date, as_of: date | None) -> bool:
    """Not already refused as a date after the import's as-of date."""
    return as_of is None or day <= as_of


def _future(problems: list[Problem], path: str, kind: str, value: Any, as_of: date) -> None:
    """Refuse event dates after the import's as-of date (an export cannot know the future)."""
    if value is None:
        return
    late = [None] if kind == "date" and value > as_of else \
        [i for i, d in enumerate(value) if d > as_of] if kind == "dates" else []
    for i in late:
        problems.append((path if i is None else f"{path}[{i}]",
                         f"expected a date on or before the import's as-of date {as_of.isoformat()}"))
