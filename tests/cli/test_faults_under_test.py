"""The faults found by testing frister with bad input and hostile content (issue 31):
each is a clear error naming what is wrong and where, a non-zero exit other than 70
(internal error), no value echoed, and nothing written. Real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ConfigError
from frister.escalation.config import load_ladder
from frister.organisation import load_organisation
from frister.settings import Settings

from tests.conftest import RULES
from tests.nightly.conftest import AS_OF, case_records, load_cases

LATIN1 = "Frist for tilbakemelding til melder (æøå)".encode("latin-1")


def invoke(*args):
    return CliRunner().invoke(build(), list(args))


def not_internal(result, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


@pytest.fixture
def municipality_cli(cli_env, engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    assert invoke("evaluate", "--as-of", AS_OF.isoformat(), "--format", "summary").exit_code == 0
    return engine


# --- files that are not UTF-8 -----------------------------------------------------------

@pytest.mark.parametrize("content", [b"id: x\ntitle: " + LATIN1 + b"\n", b"id: x\n\xc3\x28: y\n"])
def test_a_rule_file_that_is_not_utf8_is_an_error_naming_the_file_and_line(tmp_path, content):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    bad = rules / "deadlines" / "bad.yaml"
    bad.write_bytes(content)
    result = invoke("rules", "check", "--dir", str(rules))
    not_internal(result)
    assert result.output == "error: rules/deadlines/bad.yaml: line 2: not UTF-8 text (save the file as UTF-8)\n"


def test_a_ladder_or_organisation_file_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "escalation.yaml"
    path.write_bytes(b"# " + LATIN1 + b"\ndefaults: {}\n")
    with pytest.raises(ConfigError, match=f"^{path}: line 1: not UTF-8 text"):
        load_ladder(path)
    path = tmp_path / "organisation.yaml"
    path.write_bytes(b"allowed_domains: [a.example]\nleaders: [{role: barnevernsjef, email: s\xe6@a.example}]\n")
    with pytest.raises(ConfigError, match=f"^{path}: line 2: not UTF-8 text"):
        load_organisation(path)


def test_a_secret_file_that_is_not_utf8_is_a_config_error_naming_the_setting(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_bytes(b"hemmelig\xe6\n")
    settings = Settings.from_env({"FRISTER_SMTP_PASSWORD_FILE": str(secret)})
    with pytest.raises(ConfigError) as err:
        settings.get("FRISTER_SMTP_PASSWORD")
    assert str(err.value) == f"FRISTER_SMTP_PASSWORD_FILE: {secret} is not UTF-8 text"


@pytest.mark.parametrize("template, command", [
    ("email/digest/body.txt", ("run", "--transport", "console", "--quiet")),
    ("reports/monthly.html", ("report", "monthly")),
])
def test_a_template_that_is_not_utf8_is_a_config_error_naming_it(municipality_cli, tmp_path, monkeypatch,
                                                                 template, command):
    templates = tmp_path / "templates"
    shutil.copytree(RULES.parent / "templates", templates)
    (templates / template).write_bytes(b"Hilsen " + LATIN1 + b"\n")
    monkeypatch.setenv("FRISTER_TEMPLATES_DIR", str(templates))
    result = invoke(*command, "--as-of", AS_OF.isoformat())
    not_internal(result)
    assert result.output == f"error: {templates / template}: not UTF-8 text (save the file as UTF-8)\n"


def test_a_breach_reason_csv_that_is_not_utf8_is_refused_naming_the_file_and_line(municipality_cli, tmp_path):
    path = tmp_path / "reasons.csv"
    path.write_bytes(b"case_id,rule,subject,reason,action\nBV-2,investigation_deadline,U1,other," + LATIN1 + b"\n")
    result = invoke("breach", "import", str(path))
    not_internal(result)
    assert result.output == f"error: {path}: line 2: not UTF-8 text (save the file as UTF-8)\n"


def test_a_breach_reason_csv_with_a_huge_field_is_refused_naming_the_line(municipality_cli, tmp_path):
    path = tmp_path / "reasons.csv"
    path.write_text("case_id,rule,subject,reason,action\nBV-2,investigation_deadline,U1,other,\"" + "a" * 200_000
                    + "\"\n", encoding="utf-8")
    result = invoke("breach", "import", str(path))
    not_internal(result)
    assert result.output.startswith("error: reasons.csv:2: case ?: row: expected CSV cells of at most ")
    assert "aaaa" not in result.output


# --- the command line ------------------------------------------------------------------

def test_json_output_into_a_reader_that_stops_early_exits_quietly(municipality_cli, db_url):
    env = dict(os.environ, FRISTER_DATABASE_URL=db_url, FRISTER_RULES_DIR=str(RULES))
    process = subprocess.Popen([str(Path(sys.executable).parent / "frister"), "evaluate", "--as-of",
                                AS_OF.isoformat(), "--format", "json"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is written (`| head -0`)
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert stderr == ""


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
@pytest.mark.parametrize("command", [
    ("run", "--transport", "console", "--quiet"),
    ("report", "monthly"),
    ("report", "audit", "--from", "2025-01-01", "--to", "2025-12-31"),
    ("evaluate", "--format", "summary"),
])
def test_an_as_of_date_outside_the_supported_years_is_refused(municipality_cli, command, as_of):
    result = invoke(*command, "--as-of", as_of)
    not_internal(result)
    assert "expected a date YYYY-MM-DD from 1900-01-01 to 2199-12-31" in result.output


def test_the_last_supported_as_of_dates_work(municipality_cli):
    for as_of in ("2199-12-31", "1900-01-01"):
        assert invoke("run", "--transport", "console", "--quiet", "--as-of", as_of).exit_code == 0
        assert invoke("report", "monthly", "--as-of", as_of).exit_code == 0


def test_a_health_age_too_large_is_refused(cli_env):
    result = invoke("health", "--max-age", "99999999999d")
    not_internal(result)
    assert "expected an age such as 26h, 90m, 2d or 1d6h, of at most 3650d" in result.output


def test_a_runs_limit_too_large_is_refused(cli_env):
    result = invoke("runs", "--limit", "99999999999999999999")
    not_internal(result)
    assert "is not in the range 1<=x<=10000" in result.output


def test_an_empty_month_is_refused(municipality_cli):
    result = invoke("report", "monthly", "--month", "")
    not_internal(result)
    assert "expected a month YYYY-MM" in result.output


@pytest.mark.parametrize("args", [
    ("evaluate", "--case", "BV-\udced\udca0\udc80"),
    ("evaluate", "--rule", "\udcff"),
    ("breach", "list", "--unit", "mottak\udce6"),
    ("breach", "explain", "BV-\udce6", "investigation_deadline", "U1", "--reason", "other", "--action", "x"),
    ("breach", "explain", "BV-2", "investigation_deadline", "U1", "--reason", "other", "--action", "\udce6"),
])
def test_an_argument_with_bytes_that_are_not_utf8_is_refused(municipality_cli, args):
    result = invoke(*args)
    not_internal(result)
    assert "expected UTF-8 text" in result.output and "\udce6" not in result.output
