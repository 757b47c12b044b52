"""The pure evaluation core: rules and case facts in, results out."""

from frister.engine.core import evaluate, evaluate_case, evaluate_case_until, iter_results
from frister.engine.results import JSON_KEYS, STATUSES, Result

__all__ = ["JSON_KEYS", "STATUSES", "Result", "evaluate", "evaluate_case", "evaluate_case_until", "iter_results"]
