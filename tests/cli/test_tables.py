"""CLI tables show a value from the data on its own row: a line break in it is shown as
an escape, and rich markup in it is shown, not applied."""

from __future__ import annotations

import datetime as dt
import json
import re

from click.testing import CliRunner
from sqlalchemy import select, update

from frister.breaches.service import BreachKey, explain
from frister.cli import build
from frister.evaluation.models import Obligation
from frister.store.tables import cases as case_table

CASE = {"case_id": "BV-1", "unit": "mottak", "caseworker": "ks01",
        "referrals": [{"id": "M1", "received_on": "2025-03-15"}]}
INJECTED = "\nBcc: evil@attacker.example"


def invoke(*args):
    return CliRunner().invoke(build(), list(args), catch_exceptions=False)


def test_breach_list_shows_an_injected_unit_and_action_on_their_own_row(cli_env, engine, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CASE) + "\n")
    assert invoke("import", str(path), "--as-of", "2025-04-15").exit_code == 0
    with engine.begin() as conn:
        conn.execute(update(case_table).values(unit="mottak" + INJECTED))
    assert invoke("evaluate", "--as-of", "2025-04-15").exit_code == 0
    with engine.begin() as conn:
        rule, subject = conn.execute(select(Obligation.rule, Obligation.subject)
                                     .where(Obligation.status == "overdue")).first()
        explain(conn, BreachKey("BV-1", rule, subject), "other", "[bold]ringt[/bold]" + INJECTED,
                dt.datetime(2025, 4, 15, tzinfo=dt.timezone.utc), by="leder1")
    result = invoke("breach", "list")
    assert result.exit_code == 0, result.output
    assert re.findall(r"(?<!\\n)Bcc:", result.output) == []  # every "Bcc:" follows an escaped line break
    assert "mottak\\nBcc: evil@attacker.example" in result.output
    assert "[bold]ringt[/bold]" in result.output
