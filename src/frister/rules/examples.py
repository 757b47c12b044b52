"""Legal examples: YAML test cases beside the rules (``rules/**/tests/*.yaml``).

A file names the rule it exercises and lists examples::

    rule: referral_review
    tests:
      - name: reviewed on the last day is met
        as_of: 2025-04-01
        case:                       # a contract-v1 case (case_id and unit may be left out)
          referrals: [{id: M1, received_on: 2025-03-15, concluded_on: 2025-03-22}]
        expected:                   # that rule's results, in order; only the keys given are compared
          - {subject: M1, due_on: 2025-03-22, status: met, days_late: 0}

An example may say ``periods: [2024-H2, 2025-H1]`` to compare only the results for
those visit periods (a placement of many years has many periods).

They run under ``frister rules test`` and under pytest (``conftest.py`` collects them);
a failure shows the file, the example's name and a diff, never a traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from frister.engine.evaluate import evaluate_case
from frister.engine.results import JSON_KEYS
from frister.errors import RuleError
from frister.facts.parse import parse_case
from frister.rules.loader import _Node, read_yaml
from frister.rules.model import RuleSet

FILE_KEYS = {"rule", "tests"}
TEST_KEYS = {"name", "as_of", "case", "expected", "note", "periods"}


@dataclass(frozen=True)
class Example:
    file: str
    name: str
    rule: str
    as_of: date
    case: dict
    expected: tuple[dict, ...]
    periods: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    example: Example
    passed: bool
    diff: str = ""


def example_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*.yaml") if "tests" in p.relative_to(directory).parts[:-1])


def load_examples(directory: Path | str, rules: RuleSet) -> list[Example]:
    """Load every example file strictly. Raises :class:`RuleError` for the first bad file."""
    directory = Path(directory)
    examples: list[Example] = []
    for path in example_files(directory):
        examples.extend(load_example_file(path, rules, _display(path, directory)))
    return examples


def _display(path: Path, directory: Path) -> str:
    return str(Path(directory.name) / path.relative_to(directory))


def load_example_file(path: Path, rules: RuleSet, display: str | None = None) -> list[Example]:
    display = display or str(path)
    doc = read_yaml(path, display)
    errors: list[RuleError] = []
    root = _Node(display, "", doc, errors)
    if root.mapping(FILE_KEYS, FILE_KEYS):
        rule_id = root.child("rule").text()
        if rule_id and rule_id not in rules:
            root.error(f"unknown rule {rule_id!r}", "rule")
        tests = root.child("tests")
        if not isinstance(tests.value, list) or not tests.value:
            tests.error("expected a list of examples")
    if errors:
        raise errors[0]
    out = []
    names: set[str] = set()
    for i, item in enumerate(doc["tests"]):
        node = _Node(display, f"tests[{i}]", item, errors)
        if not node.mapping(TEST_KEYS, {"name", "as_of", "case", "expected"}):
            raise errors[0]
        name = node.child("name").text()
        as_of = node.child("as_of").date()
        exp = node.child("expected")
        if not isinstance(exp.value, list):
            exp.error("expected a list of result objects (may be empty: [])")
        else:
            for j, e in enumerate(exp.value):
                en = _Node(display, f"{exp.path}[{j}]", e, errors)
                en.mapping(set(JSON_KEYS))
        if not isinstance(node.child("case").value, dict):
            node.error("expected a contract-v1 case object", "case")
        if name in names:
            node.error("duplicate example name", "name")
        names.add(name or "")
        if errors:
            raise errors[0]
        periods = item.get("periods") or []
        if not isinstance(periods, list) or not all(isinstance(p, str) for p in periods):
            node.error("expected a list of period labels such as 2025-H1", "periods")
            raise errors[0]
        out.append(Example(display, name, doc["rule"], as_of, item["case"], tuple(item["expected"]), tuple(periods)))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def run_example(example: Example, rules: RuleSet) -> Outcome:
    case = {"case_id": "TEST-1", "unit": "test", **_to_json_like(example.case)}
    record, _, problems = parse_case(case, as_of=None)
    if problems:
        detail = "\n".join(f"  case.{f}: {e}" for f, e in problems)
        return Outcome(example, False, f"the example's case is not a valid contract-v1 case:\n{detail}")
    rule = rules.get(example.rule)
    results = [r.to_json() for r in evaluate_case((rule,), record, example.as_of)
               if not example.periods or r.period in example.periods]
    expected = [{k: _plain(v) for k, v in e.items()} for e in example.expected]
    actual = [{k: r.get(k) for k in e} for r, e in zip(results, expected)]
    # Show the extra results (or missing ones) in full so the diff explains itself.
    if len(results) > len(expected):
        actual.extend({k: r[k] for k in ("subject", "period", "due_on", "status")} for r in results[len(expected):])
    if actual == expected and len(results) == len(expected):
        return Outcome(example, True)
    a = yaml.safe_dump(expected, sort_keys=False, allow_unicode=True).splitlines()
    b = yaml.safe_dump(actual, sort_keys=False, allow_unicode=True).splitlines()
    diff = "\n".join(difflib.unified_diff(a, b, "expected", "actual", lineterm=""))
    return Outcome(example, False, diff)


def _to_json_like(obj: Any) -> Any:
    """YAML gives dates; the contract parser wants what JSON would give."""
    if isinstance(obj, dict):
        return {k: _to_json_like(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_json_like(v) for v in obj]
    return _plain(obj)


def run_all(directory: Path | str, rules: RuleSet) -> list[Outcome]:
    return [run_example(e, rules) for e in load_examples(directory, rules)]
