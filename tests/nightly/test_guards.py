"""Guards before anything is sent: the shipped example's addresses, and a unit of the
organisation file that holds cases but has no leader of its own. Real SQLite and
PostgreSQL, a real SMTP server on loopback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from frister.cli import build
from frister.errors import ConfigError
from frister.escalation.models import Notice
from frister.nightly.models import NightlyRun
from frister.nightly.run import load_config
from frister.settings import Settings

from tests.nightly.conftest import AS_OF, CHIEF, MOTTAK, ORGANISATION, ROOT, case_records, load_cases, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_shipped_example_addresses_are_refused_before_anything_is_sent(cli_env, engine, tmp_path, monkeypatch):
    load_cases(engine, tmp_path, case_records())
    with SmtpCatcher() as server:
        for name, value in {"FRISTER_SMTP_HOST": "127.0.0.1", "FRISTER_SMTP_PORT": str(server.port),
                            "FRISTER_SMTP_SECURITY": "none", "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
                            "FRISTER_ORGANISATION_CONFIG": str(ROOT / "config" / "organisation.example.yaml")}.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2
    assert result.output == (f"error: {ROOT / 'config' / 'organisation.example.yaml'}: 8 address(es) are the shipped "
                             "example's (organisation.example.yaml): put the service's own leaders in the file\n")
    assert server.messages == [] and count(engine, NightlyRun) == 0


def test_a_unit_with_cases_and_no_leader_of_its_own_is_refused_before_anything_is_sent(municipality, rules, tmp_path):
    # Omsorg holds BV-3, but the file names no avdelingsleder for it.
    without = "\n".join(x for x in ORGANISATION.splitlines() if "units: [omsorg]" not in x) + "\n"
    (tmp_path / "organisation.yaml").write_text(without, encoding="utf-8")
    (tmp_path / "escalation.yaml").write_text((ROOT / "config" / "escalation.yaml").read_text(), encoding="utf-8")
    settings = Settings.from_env({"FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
                                  "FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    config = load_config(settings, rules, "smtp")
    with SmtpCatcher() as server:
        with pytest.raises(ConfigError) as err:
            run(municipality, rules, config, smtp(server.port))
    assert str(err.value) == (f"{tmp_path / 'organisation.yaml'}: unit(s) omsorg hold cases but have no avdelingsleder "
                              "or teamleder at or above them: name one in leaders (frister org check)")
    assert server.messages == [] and count(municipality, Notice) == 0 and count(municipality, NightlyRun) == 0
    assert {CHIEF, MOTTAK} <= set(config.organisation.all_addresses())


def test_a_mail_catcher_may_be_given_the_example_addresses_when_the_setting_says_so(rules):
    env = {"FRISTER_ORGANISATION_CONFIG": str(ROOT / "config" / "organisation.example.yaml"),
           "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example", "FRISTER_TEMPLATES_DIR": str(ROOT / "templates")}
    with pytest.raises(ConfigError, match="are the shipped example's"):
        load_config(Settings.from_env(env), rules, "smtp")
    allowed = load_config(Settings.from_env({**env, "FRISTER_ALLOW_EXAMPLE_ADDRESSES": "yes"}), rules, "smtp")
    assert "barnevernsjef@barnevern.kommune.example" in allowed.organisation.all_addresses()


def test_several_addresses_for_a_leader_and_a_deputy_while_away_get_the_email_in_copy(municipality, rules, tmp_path):
    import datetime as dt

    from tests.nightly.conftest import OMSORG, all_lines

    several = ORGANISATION.replace(
        f"email: {MOTTAK}, units: [mottak]",
        f"email: [{MOTTAK}, mottak.felles@barnevern.kommune.example], units: [mottak], "
        "deputy: vara.mottak@barnevern.kommune.example, away_until: 2025-11-25")
    (tmp_path / "organisation.yaml").write_text(several, encoding="utf-8")
    (tmp_path / "escalation.yaml").write_text((ROOT / "config" / "escalation.yaml").read_text(), encoding="utf-8")
    settings = Settings.from_env({"FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
                                  "FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    config = load_config(settings, rules, "smtp")
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))  # 25.11: the leader is away
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 11, 28))  # back
    to_mottak = [sorted(to) for _, to in server.envelopes if MOTTAK in to]
    away = sorted([MOTTAK, "mottak.felles@barnevern.kommune.example", "vara.mottak@barnevern.kommune.example"])
    # 25.11: the digest and the week's worklist (the shipped config mails it), both with the deputy.
    assert to_mottak == [away, away, sorted([MOTTAK, "mottak.felles@barnevern.kommune.example"])]
    first = next(m for m in server.messages if m["To"] == MOTTAK)
    assert first["Cc"] == "mottak.felles@barnevern.kommune.example, vara.mottak@barnevern.kommune.example"
    assert all(to == [OMSORG] for _, to in server.envelopes if OMSORG in to)
    assert all_lines(server.messages)
