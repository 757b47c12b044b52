"""The faults found by testing frister with bad input and hostile content (issue 31):
each is a clear error naming what is wrong and where, a non-zero exit other than 70
(internal error), no value echoed, and nothing written. Real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ConfigError
from frister.escalation.config import load_ladder, load_recipients
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


def test_a_ladder_or_recipients_file_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "escalation.yaml"
    path.write_bytes(b"# " + LATIN1 + b"\ndefaults: {}\n")
    with pytest.raises(ConfigError, match=f"^{path}: line 1: not UTF-8 text"):
        load_ladder(path)
    path = tmp_path / "recipients.yaml"
    path.write_bytes(b"allowed_domains: [a.example]\nbarnevernsjef: s\xe6@a.example\n")
    with pytest.raises(ConfigError, match=f"^{path}: line 2: not UTF-8 text"):
        load_recipients(path)


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
