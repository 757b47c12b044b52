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

**Whatever the text, a problem, never an exception.** A record is read twice: by
``json.loads``, to see every key (a key given twice, at any depth, is refused: the last
value would otherwise win silently), and by pydantic, which validates the values from
the text. What one of them cannot read becomes a problem naming the field: an integer
of any length (Python refuses to convert more than 4,300 digits; the value is never
needed, only the field is refused), nesting deeper than a parser's limit (the field
whose value is nested too deeply), and a ``\\ud800``-style escape of a lone surrogate,
which ``json.loads`` decodes into a string that no database could store (the field
holding it). A record given as bytes must be UTF-8: ``json.loads`` would otherwise
guess UTF-16 or UTF-32 from the bytes.

:func:`implausible` lists what the contract allows but a case system should not say
(visits before a placement started, …): the importer warns about those, or refuses them
with ``--strict``.
"""

from __future__ import annotations

import json
import re
import typing
from collections import Counter
from datetime import date
from functools import partial
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
    if isinstance(record, bytes):
        try:
            record = record.decode("utf-8")
        except UnicodeDecodeError:
            return None, None, [("(line)", "expected UTF-8 text")]
    elif not isinstance(record, str):
        record = json.dumps(record, default=_iso)
    repeated: list[bool] = []
    try:
        obj = json.loads(record, object_pairs_hook=partial(_object, repeated=repeated),
                         parse_int=_number, parse_float=_number)
    except RecursionError:
        problem, case_id = _too_deep(record)
        return None, case_id, [problem]
    except ValueError:
        return None, None, [("(line)", _NOT_JSON)]
    if not isinstance(obj, dict):
        return None, None, [("(record)", "expected a JSON object, one case per line")]
    case_id = obj.get("case_id")
    case_id = case_id if isinstance(case_id, str) and len(case_id) <= 64 and case_id.isprintable() else None
    if repeated:
        return None, case_id, _given_twice(obj)
    try:
        case = c.Case.model_validate_json(record)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            return None, case_id, _unreadable(record, obj)
        return None, case_id, [_problem(e) for e in errors]
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


_NOT_JSON = "expected one JSON object (JSON Lines, one case per line)"
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE = "(a lone surrogate \\ud800-\\udfff is not a character)"
_DEEP = "(the value is nested too deeply to be read)"
NESTING = 100  # containers deep; the contract needs 4, pydantic's JSON parser reads 200


class _Repeated(dict):
    """A JSON object in which a key was given more than once (``twice``)."""

    __slots__ = ("twice",)


def _object(pairs: list[tuple[str, Any]], repeated: list[bool]) -> dict:
    """A JSON object; one in which a key is given more than once is marked (and
    ``repeated`` noted), to be reported with its place in the record."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    marked.twice = [key for key, n in Counter(k for k, _ in pairs).items() if n > 1]
    repeated.append(True)
    return marked


class _Long:
    """A number too long for pydantic's JSON parser (more than 4,300 digits)."""


_LONG = _Long()
LONGEST_NUMBER = 4300


def _number(literal: str) -> Any:
    """Numbers are not converted: only pydantic reads values (the contract has no
    number), and Python refuses to convert an integer of more than 4,300 digits. One
    that pydantic cannot read either is marked, to name its field."""
    return _LONG if len(literal) > LONGEST_NUMBER else 0


def _walk(obj: Any) -> typing.Iterator[tuple[tuple, Any]]:
    """Every value of a parsed record with its place (``loc``), without recursion."""
    stack: list[tuple[tuple, Any]] = [((), obj)]
    while stack:
        loc, value = stack.pop()
        yield loc, value
        if isinstance(value, dict):
            stack.extend((loc + (k,), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((loc + (i,), v) for i, v in reversed(list(enumerate(value))))


def _given_twice(obj: dict) -> list[Problem]:
    """``key 'birth_date' given twice in child``, for every repeated key."""
    problems: list[Problem] = []
    for loc, value in _walk(obj):
        if isinstance(value, _Repeated):
            where = f" in {_path(loc)}" if loc else ""
            for key in value.twice:
                named = f"key '{key}'" if _path((key,)) == key else "a key"
                problems.append(("", f"{named} given twice{where}"))
    return problems


def _unreadable(record: str, obj: dict) -> list[Problem]:
    """What made pydantic's JSON parser give up on text that ``json.loads`` read: a
    lone surrogate in a string (or a key), a number too long, or nesting beyond its
    limit."""
    problems: list[Problem] = []
    for loc, value in _walk(obj):
        if isinstance(value, dict):
            problems += [(_path(loc + (k,)), f"unknown field {_LONE}") for k in value if _SURROGATE.search(k)]
        elif isinstance(value, str) and _SURROGATE.search(value):
            problems.append((_path(loc), f"{_expected_at(loc)} {_LONE}"))
        elif value is _LONG:
            problems.append((_path(loc), f"{_expected_at(loc)} (a number too long to read)"))
    return problems or [_too_deep(record)[0]]


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _too_deep(record: str) -> tuple[Problem, str | None]:
    """The field whose value is nested more than :data:`NESTING` deep and what the
    contract expects there, and the record's ``case_id``: read from the text, which the
    parsers gave up on."""
    stack: list[list] = []  # per open container within NESTING: [kind, key or index]
    beyond = 0  # containers open beyond NESTING
    deep: tuple | None = None
    case_id: str | None = None
    for token in _TOKEN.finditer(record):
        t = token.group()
        if t in "{[":
            if len(stack) < NESTING:
                stack.append([t, None if t == "{" else 0])
                continue
            beyond += 1
            if deep is None:
                deep = tuple(place for _, place in stack)
        elif beyond:
            beyond -= t in "}]"
        elif t in "}]":
            if stack:
                stack.pop()
        elif t == ",":
            if stack:
                stack[-1][1] = stack[-1][1] + 1 if stack[-1][0] == "[" else None
        elif stack and stack[-1][0] == "{":
            text = _string(t)
            if stack[-1][1] is None:  # a key
                stack[-1][1] = text if text is not None else "(unknown key)"
            elif len(stack) == 1 and stack[0][1] == "case_id" and case_id is None:
                case_id = text if text and len(text) <= 64 and text.isprintable() else None
    if deep is None:
        return ("(line)", _NOT_JSON), case_id
    loc, known = _contract_part(deep)
    if not loc:
        return ("(record)", "expected a JSON object, one case per line"), None
    if not known:
        return (_path(loc), _STRUCTURE["extra_forbidden"]), case_id
    expected = "expected an object" if isinstance(loc[-1], int) else _expected_at(loc)
    return (_path(loc), f"{expected} {_DEEP}"), case_id


def _string(token: str) -> str | None:
    try:
        return json.loads(token)
    except ValueError:
        return None


def _contract_part(loc: tuple) -> tuple[tuple, bool]:
    """The longest beginning of ``loc`` that names a place in the contract (a field,
    or an item of a list of subjects), and True; or that beginning and the unknown key
    after it, and False."""
    model: type[BaseModel] | None = c.Case
    listed: type[BaseModel] | None = None  # the item model when at a list of subjects
    out: list = []
    for part in loc:
        if isinstance(part, int):
            if listed is None:
                break
            out.append(part)
            model, listed = listed, None
            continue
        if model is None or not isinstance(part, str):
            break
        out.append(part)
        if part not in model.model_fields:
            return tuple(out), False
        info = model.model_fields[part]
        annotation, _, _ = _unwrap(typing.Annotated[info.annotation, *info.metadata]
                                   if info.metadata else info.annotation)
        args = typing.get_args(annotation)
        item = args[0] if typing.get_origin(annotation) is tuple and args else None
        if isinstance(item, type) and issubclass(item, BaseModel):
            model, listed = None, item
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break  # a leaf
    return tuple(out), True


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


def implausible(case: c.Case, as_of: date | None = None) -> list[Problem]:
    """Orderings across subjects that the contract allows but that a case system should
    not record, as ``(field path, expected)``: a follow-up or supervision visit before
    its placement started, an investigation started before its referral was received,
    a child born after a referral. A birth date after ``as_of`` is an expected one
    (termindato: a referral about an unborn child), so it is not a birth after the
    referral. The importer lists these as warnings, or refuses them (``--strict``)."""
    problems: list[Problem] = []
    for i, placement in enumerate(case.placements):
        for name in ("followup_visits", "supervision_visits"):
            visits = getattr(placement, name)  # sorted
            if visits and visits[0] < placement.started_on:
                problems.append((f"placements[{i}].{name}", "expected every visit on or after started_on"))
    referral_at = {r.id: i for i, r in enumerate(case.referrals)}
    for i, investigation in enumerate(case.investigations):
        j = referral_at.get(investigation.referral_id)
        if j is not None and investigation.started_on < case.referrals[j].received_on:
            problems.append((f"investigations[{i}].started_on",
                             f"expected a date on or after referrals[{j}].received_on (its referral)"))
    birth = case.birth_date
    if birth is not None and case.referrals and (as_of is None or birth <= as_of):
        first = min(range(len(case.referrals)), key=lambda j: case.referrals[j].received_on)
        if birth > case.referrals[first].received_on:
            problems.append(("child.birth_date", f"expected a date on or before referrals[{first}].received_on "
                             "(an expected birth date is one after the as-of date)"))
    return problems
