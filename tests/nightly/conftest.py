"""Helpers for nightly-run tests: a small municipality with known deadlines, a test
ladder and recipients, a fixed clock, and a parser for received digests.

As of 2025-11-25 the cases below give (ladder: reminder 14 days before → leader,
warning 3 days before → leader + chief, breach the day after → chief, weekly repeat):

* BV-1 (mottak): referral_review due 2025-11-27, open → reminder + warning;
  reporter_feedback due 2025-12-11, open → nothing yet.
* BV-2 (undersokelse): investigation_deadline due 2025-11-08, overdue → breach repeat 2.
* BV-3 (omsorg): emergency_petition due 2025-12-01, open → reminder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from frister.importer import import_file
from frister.nightly.run import NightlyConfig, load_config, nightly_run
from frister.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 11, 25)
CHIEF = "sjef@barnevern.kommune.example"
MOTTAK = "mottak@barnevern.kommune.example"
OMSORG = "omsorg@barnevern.kommune.example"

LADDER = """\
defaults:
  stages:
    - {stage: reminder, days_before_due: 14, to: [avdelingsleder]}
    - {stage: warning, days_before_due: 3, to: [avdelingsleder, barnevernsjef]}
    - {stage: breach, days_after_due: 1, to: [barnevernsjef], repeat_every_days: 7}
delivery:
  backoff_minutes: 10
  backoff_cap_minutes: 360
  max_attempts: 3
"""

ORGANISATION = f"""\
allowed_domains: [barnevern.kommune.example]
units: {{mottak: {{}}, undersokelse: {{}}, omsorg: {{}}}}
leaders:
  - {{role: barnevernsjef, email: {CHIEF}}}
  - {{role: avdelingsleder, email: {MOTTAK}, units: [mottak]}}
  - {{role: avdelingsleder, email: undersokelse@barnevern.kommune.example, units: [undersokelse]}}
  - {{role: avdelingsleder, email: {OMSORG}, units: [omsorg]}}
"""


def case_records(bv1_concluded: str | None = None) -> list[dict]:
    referral = {"id": "M1", "received_on": "2025-11-20"}
    if bv1_concluded:
        referral |= {"concluded_on": bv1_concluded, "conclusion": "closed"}
    return [
        {"case_id": "BV-1", "unit": "mottak", "caseworker": "ks01", "child": {"birth_date": "2014-03-09"},
         "referrals": [referral]},
        {"case_id": "BV-2", "unit": "undersokelse", "caseworker": "ks07", "child": {"birth_date": "2011-06-30"},
         "referrals": [{"id": "M1", "received_on": "2025-08-01", "concluded_on": "2025-08-05",
                        "conclusion": "investigate", "feedback_sent_on": "2025-08-10"}],
         "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-08-05"}]},
        {"case_id": "BV-3", "unit": "omsorg", "caseworker": "ks30", "child": {"birth_date": "2019-01-15"},
         "emergency_decisions": [{"id": "A1", "kind": "care", "decided_on": "2025-10-20"}]},
    ]


def load_cases(engine, tmp_path: Path, records: list[dict], as_of: dt.date = AS_OF, name: str = "cases.jsonl") -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    import_file(engine, path, as_of=as_of)


def at(day: dt.date, hour: int = 2) -> dt.datetime:
    """The run's clock: ``hour`` o'clock UTC on ``day``."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone.utc)


@pytest.fixture
def config(tmp_path, rules) -> NightlyConfig:
    (tmp_path / "escalation.yaml").write_text(LADDER, encoding="utf-8")
    (tmp_path / "organisation.yaml").write_text(ORGANISATION, encoding="utf-8")
    settings = Settings.from_env({
        "FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
        "FRISTER_TEMPLATES_DIR": str(ROOT / "templates"),
    })
    return load_config(settings, rules, "smtp")


@pytest.fixture
def municipality(engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    return engine


def run(engine, rules, config, transport, as_of=AS_OF, hour=2, fail_at=None):
    return nightly_run(engine, rules, config, transport, as_of, now=lambda: at(as_of, hour), fail_at=fail_at)


LINE = re.compile(r"^  - Sak (?P<case>\S+?)(?:, (?P<period>[^:]+))?: frist (?P<due>\d\d\.\d\d\.\d{4}), ")


def is_unit_mail(message) -> bool:
    """A unit leader's visit plan or weekly worklist (frister.escalation.unit_mails), not a digest."""
    return message["Subject"].startswith(("[frister] Besøksplan", "[frister] Ukens arbeidsliste"))


def digest_lines(message) -> list[tuple[str, str, str, str]]:
    """``(to, stage label, rule title, case)`` for every notice line of a received digest
    (none for a unit mail)."""
    out = []
    if is_unit_mail(message):
        return out
    stage = title = None
    body = message.get_body(("plain",)).get_content()
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if m := re.match(r"^== (.+) \(\d+\) ==$", line):
            stage = m.group(1)
        elif line.startswith("Hjemmel: "):
            title = re.sub(r" \(\d+\)$", "", lines[i - 1])
        elif m := LINE.match(line):
            out.append((message["To"], stage, title, m.group("case")))
    return out


def all_lines(messages) -> list[tuple[str, str, str, str]]:
    return sorted(x for m in messages for x in digest_lines(m))


def accounted(messages) -> int:
    """How many notices the received digests account for: each e-mail's total of
    deadlines plus the notices it folded into a deadline already shown (one line per
    deadline, at its most urgent stage)."""
    total = 0
    for message in messages:
        if is_unit_mail(message):
            continue
        body = message.get_body(("plain",)).get_content()
        total += int(re.search(r"^  Totalt\s+(\d+)\r?$", body, re.M).group(1))
        if m := re.search(r"^(\d+) av de \d+ varslene gjaldt", body, re.M):
            total += int(m.group(1))
    return total


def own_organisation(directory: Path) -> Path:
    """The shipped example organisation with the service's own addresses (the example's
    are refused for e-mail): ``bv.`` before each local part, e.g.
    ``bv.barnevernsjef@barnevern.kommune.example``."""
    text = (ROOT / "config" / "organisation.example.yaml").read_text(encoding="utf-8")
    path = directory / "own-organisation.yaml"
    path.write_text(text.replace("email: ", "email: bv."), encoding="utf-8")
    return path
