"""Fixtures of the report tests: the hand-worked municipality of :mod:`report_fixture`."""

from __future__ import annotations

import json

import pytest

from frister.evaluation.service import run_evaluation
from frister.importer import import_file
from report_fixture import AS_OF, CASES


@pytest.fixture
def municipality(engine, rules, tmp_path):
    """The fixture cases imported and evaluated as of AS_OF (so breaches can be explained)."""
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)
    return engine
