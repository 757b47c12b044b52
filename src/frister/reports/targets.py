"""Targets and comparison values of the reports, and the leader's assessment.

``config/reports.yaml`` (``FRISTER_REPORTS_CONFIG``; see ``config/reports.example.yaml``)
names, per figure key of the reports (``investigations_late``, ``referrals_closed`` …),
the service's own **target** and **comparison** values such as the national share, each a
share (0–1) for a share figure or a count for a count, with the label to print::

    targets:
      referrals_reviewed: {value: 1.0, label: Mål}
    comparisons:
      investigations_late: {value: 0.073, label: Landet 2024}

The report shows them beside the service's figure, never in its place. Unknown keys and
values out of range are errors naming the file and the path. The **leader's assessment**
(«vurdering og forslag til tiltak») is a UTF-8 text file given with ``--assessment``:
paragraphs separated by blank lines, printed as written (escaped) in its section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from frister.errors import ConfigError, RuleError
from frister.rules.loader import _Node, read_yaml
from frister.text import NotUtf8, decode_utf8


@dataclass(frozen=True, slots=True)
class Value:
    value: float
    label: str


@dataclass(frozen=True)
class ReportConfig:
    targets: dict[str, Value] = field(default_factory=dict)
    comparisons: dict[str, Value] = field(default_factory=dict)

    def beside(self, key: str) -> list[Value]:
        """The target and comparison values to print beside figure ``key``."""
        return [v for v in (self.targets.get(key), self.comparisons.get(key)) if v is not None]


def load_report_config(path: Path | None, keys: set[str]) -> ReportConfig:
    """Load the report settings (None: none); ``keys`` are the figure keys the reports know."""
    if path is None:
        return ReportConfig()
    display = str(path)
    try:
        doc = read_yaml(path, display)
    except RuleError as exc:
        raise ConfigError(str(exc)) from None
    errors: list[RuleError] = []
    root = _Node(display, "", doc if doc is not None else {}, errors)
    out: dict[str, dict[str, Value]] = {"targets": {}, "comparisons": {}}
    if root.mapping({"targets", "comparisons"}):
        for section in out:
            node = root.child(section)
            if node.value is None:
                continue
            if not isinstance(node.value, dict):
                node.error("expected a mapping of figure key to {value, label}")
                continue
            for key in node.value:
                item = node.child(str(key))
                if key not in keys:
                    item.error(f"unknown figure key (known: {', '.join(sorted(keys))})")
                    continue
                if not item.mapping({"value", "label"}, {"value", "label"}):
                    continue
                value = item.child("value").value
                label = item.child("label").text()
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    item.child("value").error("expected a number ≥ 0 (a share as 0.073, or a count)")
                elif label is not None:
                    out[section][key] = Value(float(value), label)
    if errors:
        raise ConfigError("\n".join(str(e) for e in errors))
    return ReportConfig(out["targets"], out["comparisons"])


def read_assessment(path: str | Path | None) -> list[str]:
    """The leader's assessment as paragraphs (an empty list without a file)."""
    if path is None:
        return []
    path = Path(path)
    try:
        text = decode_utf8(path.read_bytes(), bom=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the assessment: {exc.strerror}") from None
    except NotUtf8 as exc:
        raise ConfigError(f"{path}: line {exc.line}: not UTF-8 text (save the file as UTF-8)") from None
    paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p for p in paragraphs if p]
