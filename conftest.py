"""Collects the legal examples (rules/**/tests/*.yaml) as pytest items.

Each example is one item named after the example; a failure prints the file, the
example's name and a diff of expected against actual results, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_RULES_DIR = Path(__file__).parent / "rules"
_rule_set = None


def _rules():
    global _rule_set
    if _rule_set is None:
        from frister.rules.loader import load_rules

        _rule_set = load_rules(_RULES_DIR)
    return _rule_set


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent.name == "tests" and _RULES_DIR in file_path.parents:
        return RuleExampleFile.from_parent(parent, path=file_path)
    return None


class RuleExampleFile(pytest.File):
    def collect(self):
        from frister.rules.examples import load_example_file

        display = str(self.path.relative_to(_RULES_DIR.parent))
        for example in load_example_file(self.path, _rules(), display):
            yield RuleExampleItem.from_parent(self, name=example.name, example=example)


class RuleExampleFailed(Exception):
    pass


class RuleExampleItem(pytest.Item):
    def __init__(self, *, example, **kwargs):
        super().__init__(**kwargs)
        self.example = example

    def runtest(self):
        from frister.rules.examples import run_example

        outcome = run_example(self.example, _rules())
        if not outcome.passed:
            raise RuleExampleFailed(outcome.diff)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, RuleExampleFailed):
            return f"{self.example.file}: {self.example.name}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.example.rule}: {self.example.name}"
