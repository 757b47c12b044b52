"""A case removed by a full import: its facts go at once, its results with the next
night; the breach register, the notices sent and the runs keep their history; no
evaluation or report shows it any more."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from sqlalchemy import func, select

from frister.breaches.service import BreachKey, explain
from frister.cli import build
from frister.escalation.models import Notice
from frister.evaluation.models import BreachReason, CaseEvaluation, Obligation
from frister.importer import import_file
from frister.nightly.models import NightlyRun
from frister.notify.transport import ConsoleTransport
from frister.store.tables import case_changes

from tests.nightly.conftest import AS_OF, at, case_records, run

NEXT = AS_OF + dt.timedelta(days=1)


def by_case(engine, model) -> dict[str, int]:
    with engine.connect() as conn:
        table = model.__table__ if hasattr(model, "__table__") else model
        return dict(conn.execute(select(table.c.case_id, func.count()).group_by(table.c.case_id)).all())


def test_a_removed_cases_results_go_with_the_next_night_and_its_history_stays(
        municipality, rules, config, tmp_path, cli_env):
    run(municipality, rules, config, ConsoleTransport(quiet=True))
    with municipality.begin() as conn:
        explain(conn, BreachKey("BV-2", "investigation_deadline", "U1"), "complex_case", "Ekstra ressurs",
                at=at(AS_OF, 9), by="leder1")
    assert "BV-2" in by_case(municipality, Obligation)
    sent_before = by_case(municipality, Notice)["BV-2"]

    path = tmp_path / "full.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in case_records() if r["case_id"] != "BV-2"))
    stats = import_file(municipality, path, as_of=NEXT, full=True, allow_shrink=True)
    assert (stats.unchanged, stats.removed) == (2, 1)
    assert "BV-2" in by_case(municipality, case_changes)  # logged for the next run

    report = run(municipality, rules, config, ConsoleTransport(quiet=True), as_of=NEXT)
    assert report.counts["cases"] == 2
    assert "BV-2" not in by_case(municipality, Obligation)
    assert "BV-2" not in by_case(municipality, CaseEvaluation)
    assert by_case(municipality, BreachReason) == {"BV-2": 1}  # the register keeps its history
    assert by_case(municipality, Notice)["BV-2"] == sent_before  # and so do the notices sent
    with municipality.connect() as conn:
        assert conn.execute(select(func.count()).select_from(NightlyRun)).scalar_one() == 2
        pending = conn.execute(select(func.count()).select_from(Notice).where(
            Notice.case_id == "BV-2", Notice.status == "pending")).scalar_one()
    assert pending == 0

    shown = CliRunner().invoke(build(), ["evaluate", "--as-of", NEXT.isoformat(), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert {r["case_id"] for r in json.loads(shown.output)} == {"BV-1", "BV-3"}
    audit = tmp_path / "audit.csv"
    result = CliRunner().invoke(build(), ["report", "audit", "--from", "2025-01-01", "--to", "2025-12-31",
                                          "--as-of", NEXT.isoformat(), "--output", str(audit)])
    assert result.exit_code == 0, result.output
    text = audit.read_text(encoding="utf-8-sig")
    assert "BV-1" in text and "BV-2" not in text

