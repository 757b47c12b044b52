"""Rendering: the Jinja2 environment for ``templates/reports`` and the bokmål formatting.

Templates only lay out what the report modules compute; numbers and dates are
formatted here, the Norwegian way (``96,4 %``, ``1 234``, ``23.11.2026``), so every
report writes them alike. Every value a template outputs goes through
:func:`frister.text.printable`, so a line break in a unit name or an action is shown as
``\\n`` and never starts a line of its own. Output is deterministic: no clock, no random
ids.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from frister.disclosure import reveals_birth_date
from frister.nb import dato, month_text, num, pct
from frister.engine.results import STATUS_LABELS
from frister.errors import ConfigError
from frister.facts.contract import REASON_LABELS
from frister.reports.output import write_output
from frister.rules.model import CONFIDENCE_LABELS, DUTY_LABELS, Rule
from frister.text import printable

def month_name(month: dt.date) -> str:
    """``november 2025`` (the e-mails' wording)."""
    return month_text(month)


def due_text(rule: Rule, due_on: dt.date | None) -> str:
    """A due date as a report shows it: ``23.11.2025``, or only ``november 2025`` when the
    rule's dates give the birth date away (:func:`frister.disclosure.reveals_birth_date`)."""
    if due_on is not None and reveals_birth_date(rule):
        return month_text(due_on)
    return dato(due_on)


@lru_cache(maxsize=8)
def environment(templates_dir: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(templates_dir) / "reports")),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=printable,  # no value from the data starts a line of its own (frister.text)
    )
    env.filters.update(pct=pct, num=num, dato=dato, month_name=month_name)
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS, REASON_LABELS=REASON_LABELS, CONFIDENCE_LABELS=CONFIDENCE_LABELS,
        DUTY_LABELS=DUTY_LABELS,
        due_text=due_text, reveals_birth_date=reveals_birth_date,
    )
    return env


def render(templates_dir: str | Path, name: str, **context) -> str:
    """Render ``templates/reports/<name>`` with ``context``."""
    try:
        template = environment(str(templates_dir)).get_template(name)
    except UnicodeDecodeError:
        raise ConfigError(f"{Path(templates_dir) / 'reports' / name}: not UTF-8 text (save the file as UTF-8)") from None
    return template.render(**context)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends (the same bytes on every platform),
    whole or not at all, readable by its owner only (:func:`~frister.reports.output.write_output`)."""
    return write_output(path, text.encode("utf-8"))
