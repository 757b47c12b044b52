"""The demo's summary counts every obligation, the met ones too (they are not stored)."""

from __future__ import annotations

import datetime as dt
import re

from rich.console import Console

from frister.demo.generate import generate_cases, header, write_jsonl
from frister.engine.results import STATUSES
from frister.demo.summary import print_summary
from frister.evaluation.service import run_evaluation
from frister.importer import import_file

AS_OF = dt.date(2025, 11, 1)


def test_the_summary_shows_the_run_counts_per_status(engine, rules, tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=6, cases=120), header=header(AS_OF))
    import_file(engine, path, as_of=AS_OF)
    run = run_evaluation(engine, rules, AS_OF)
    console = Console(record=True, width=400)
    with engine.connect() as conn:
        print_summary(conn, rules, AS_OF, console=console)
    text = console.export_text()
    totals = [0] * len(STATUSES)
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) == 8 and re.fullmatch(r"\d+", cells[2]):
            for i in range(len(STATUSES)):
                totals[i] += int(cells[2 + i])
    assert totals == [run.by_status.get(s, 0) for s in STATUSES]
    assert totals[0] > 500 and totals[-1] > 0  # the history before the source's start: not evaluated
    # Law, guidance and the service's own routines are shown apart.
    assert "Frister per 2025-11-01: lovkrav" in text and "retningslinjer (ikke lov)" in text
    assert "tjenestens egne rutiner (ikke lovkrav)" in text
