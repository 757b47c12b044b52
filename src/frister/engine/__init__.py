"""The evaluator: rules and case facts in, results out (pure; see :mod:`frister.engine.evaluate`)."""

from frister.engine.evaluate import Evaluation, evaluate, evaluate_case
from frister.engine.explain import explain
from frister.engine.results import JSON_KEYS, STATUSES, Result

__all__ = ["JSON_KEYS", "STATUSES", "Evaluation", "Result", "evaluate", "evaluate_case", "explain"]
