"""A property of the importer over mutated exports: every outcome is either the stored
state the export gives, or a clear error (exit 2, no value echoed) with nothing written.

A generated municipality is imported once; each example mutates its export — keys given
twice, lines dropped, duplicated or reordered, fields reordered, blank lines, another
encoding, a byte-order mark, values of the wrong type, a file cut short — and imports it
over the same database. Mutations that must be refused are, naming the field (or, for
an encoding, the byte offset); those that keep the facts must import; a cut file may do
either. After every example the stored state is the original one.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from frister.demo.generate import generate_cases, write_jsonl
from frister.errors import FristerError
from frister.importer import import_file
from frister.store.tables import cases

AS_OF = dt.date(2025, 11, 1)
MARKER = "SECRET4711"  # in every wrong value: it must never appear in a message
CESU = "CESU8SURROGATE"  # replaced by a surrogate's CESU-8 bytes


class Raw(str):
    """JSON text written as it is (a value no serialiser would produce)."""


class Pairs(list):
    """An object as its (key, value) pairs, which may repeat a key."""


WRONG = [
    [MARKER], {"v": MARKER}, 17, 1.5, f"{MARKER}\x00", f"{MARKER}\x1b[2J",
    Raw("4711" + "9" * 5000), Raw("[" * 3000 + f'"{MARKER}"' + "]" * 3000), Raw(f'"{MARKER}\\ud800"'),
]
MUST_FAIL = {"duplicate_key", "wrong_type", "duplicate_line", "utf16", "utf32", "latin1", "cesu8"}
KEEP = {"drop_lines", "reorder_lines", "reorder_fields", "blank_lines", "bom"}
KINDS = sorted(MUST_FAIL | KEEP | {"truncate"})


def dump(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def places(value, kind):
    """Every (container, key) in ``value`` holding an object (``kind`` 'object') or a leaf."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        if isinstance(child, (dict, list)):
            if kind == "object" and isinstance(child, dict) and child:
                out.append((value, key))
            out += places(child, kind)
        elif kind == "leaf":
            out.append((value, key))
    return out


def shuffled(value, rnd: random.Random):
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


def mutate(records: list[dict], kinds: list[str], rnd: random.Random) -> tuple[bytes, list[str]]:
    """The export with ``kinds`` applied in turn, and the kinds that could be applied
    (a change to a record needs a line that is still a plain record)."""
    lines: list = [json.loads(json.dumps(r)) for r in records]
    encoding, bom, cut = "utf-8", False, None
    applied = []
    for kind in sorted(kinds, key=lambda k: k != "drop_lines"):  # drop first: a changed line stays
        plain = [j for j, line in enumerate(lines) if type(line) is dict]
        if kind in ("duplicate_key", "wrong_type", "latin1", "cesu8", "duplicate_line") and not plain:
            continue
        i = rnd.choice(plain) if plain else 0
        applied.append(kind)
        if kind == "duplicate_key":
            holder, key = rnd.choice([(None, None)] + places(lines[i], "object"))
            obj = lines[i] if holder is None else holder[key]
            name = rnd.choice(list(obj))
            again = obj[name] if rnd.random() < 0.5 else rnd.choice(list(obj.values()))
            pairs = Pairs([*obj.items(), (name, again)])
            if holder is None:
                lines[i] = pairs
            else:
                holder[key] = pairs
        elif kind == "wrong_type":
            holder, key = rnd.choice(places(lines[i], "leaf"))
            holder[key] = rnd.choice(WRONG)
        elif kind == "duplicate_line":
            lines.insert(rnd.randrange(len(lines) + 1), lines[i])
        elif kind == "drop_lines" and len(lines) > 1:
            for _ in range(rnd.randrange(1, len(lines))):
                lines.pop(rnd.randrange(len(lines)))
        elif kind == "reorder_lines":
            rnd.shuffle(lines)
        elif kind == "reorder_fields":
            lines = [shuffled(line, rnd) if type(line) is dict else line for line in lines]
        elif kind == "blank_lines":
            lines.insert(rnd.randrange(len(lines) + 1), Raw(rnd.choice(["", "  ", "\t", "\r"])))
        elif kind in ("utf16", "utf32"):
            name = "utf-16" if kind == "utf16" else "utf-32"
            encoding = rnd.choice([name, f"{name}-le", f"{name}-be"])
        elif kind == "latin1":
            lines[i] = {**lines[i], "caseworker": "ks-Ø"}
            encoding = "latin-1"
        elif kind == "cesu8":
            lines[i] = {**lines[i], "caseworker": f"ks{CESU}"}
        elif kind == "bom":
            bom = True
        elif kind == "truncate":
            cut = rnd.random()
    text = "".join(dump(line) + "\n" for line in lines)
    data = text.encode(encoding).replace(CESU.encode(), b"\xed\xa0\x80")  # a surrogate, CESU-8
    if bom:
        data = b"\xef\xbb\xbf" + data
    if cut is not None:
        data = data[:int(len(data) * cut)]
    return data, applied


def state(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(cases.c.case_id, cases.c.fingerprint)).all())


def test_a_mutated_export_imports_as_the_export_or_is_refused_with_nothing_written(engine, tmp_path):
    records = list(generate_cases(AS_OF, seed=33, cases=25, years=2))
    original = tmp_path / "export.jsonl"
    write_jsonl(original, records)
    import_file(engine, original, as_of=AS_OF)
    expected = state(engine)
    path = tmp_path / "cases.jsonl"

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3), rnd=st.randoms(use_true_random=False))
    def check(kinds, rnd):
        data, kinds = mutate(records, kinds, rnd)
        path.write_bytes(data)
        try:
            stats = import_file(engine, path, as_of=AS_OF)
        except FristerError as err:
            assert err.exit_code == 2
            message = str(err)
            assert MARKER not in message and "Traceback" not in message
            assert all(line.startswith(("cases.jsonl", "... and ", "import rejected: ")) for line in
                       message.splitlines()), message
            assert not KEEP.issuperset(kinds) or "truncate" in kinds, (kinds, message)
            if "truncate" not in kinds:  # a whole line is unreadable only when cut; else a field is named
                assert ": (line): " not in message and ": (record): " not in message, (kinds, message)
        else:
            assert not MUST_FAIL.intersection(kinds), (kinds, stats.summary())
            assert stats.new == stats.changed == stats.removed == 0
        assert state(engine) == expected, kinds

    check()
