"""`frister user`: local accounts with argon2 hashes, roles and units checked."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from frister.cli import build
from frister.web.accounts import check_password
from frister.web.models import WebUser

ORG = """\
allowed_domains: [barnevern.kommune.example]
units: {mottak: {name: Mottak}, tiltak: {name: Tiltak, units: {tiltak-barn: {name: Tiltak barn}}}}
leaders:
  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
"""


def test_user_add_stores_an_argon2_hash_and_checks_role_and_units(cli_env, engine, tmp_path, monkeypatch):
    org = tmp_path / "organisation.yaml"
    org.write_text(ORG, encoding="utf-8")
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(org))
    secret = tmp_path / "pw"
    secret.write_text("et langt passord her\n", encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(build(), ["user", "add", "Leder@Barnevern.Kommune.Example", "--role", "avdelingsleder",
                                   "--unit", "tiltak", "--password-file", str(secret)])
    assert made.exit_code == 0, made.output
    assert made.output == "user leder@barnevern.kommune.example: avdelingsleder, units tiltak\n"
    with engine.connect() as conn:
        stored = conn.execute(select(WebUser.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and "langt" not in stored
        assert check_password(conn, "leder@barnevern.kommune.example", "et langt passord her").units == ("tiltak",)
        assert check_password(conn, "leder@barnevern.kommune.example", "feil passord her") is None
    unknown = runner.invoke(build(), ["user", "add", "x@barnevern.kommune.example", "--role", "teamleder",
                                      "--unit", "ingen", "--oidc-only"])
    assert unknown.exit_code != 0 and "not a unit of the organisation file: ingen" in unknown.output
    no_unit = runner.invoke(build(), ["user", "add", "x@barnevern.kommune.example", "--role", "teamleder",
                                      "--oidc-only"])
    assert no_unit.exit_code != 0 and "a teamleder needs the units they lead" in no_unit.output
    short = runner.invoke(build(), ["user", "add", "y@barnevern.kommune.example", "--role", "operator",
                                    "--password-file", "-"], input="kort\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    listed = runner.invoke(build(), ["user", "list"])
    assert listed.exit_code == 0 and "leder@barnevern.kommune.example" in listed.output


def test_user_token_prints_the_token_once_and_lists_and_revokes_it_by_name(cli_env, engine):
    import hashlib

    from frister.web.models import ApiToken

    runner = CliRunner()
    user = "powerbi@barnevern.kommune.example"
    assert runner.invoke(build(), ["user", "add", user, "--role", "barnevernsjef", "--oidc-only"]).exit_code == 0
    made = runner.invoke(build(), ["user", "token", "add", user, "--name", "powerbi", "--days", "30"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("frister_") and made.stdout == token + "\n"  # the token alone: a script can keep it
    assert "token 'powerbi' of powerbi@barnevern.kommune.example, expires " in made.stderr
    assert "shown this once" in made.stderr and token not in made.stderr
    with engine.connect() as conn:
        assert conn.execute(select(ApiToken.token_hash)).scalar_one() == hashlib.sha256(token.encode()).hexdigest()
    again = runner.invoke(build(), ["user", "token", "add", user, "--name", "powerbi"])
    assert again.exit_code != 0 and "has a token named 'powerbi'; revoke it first" in again.output
    listed = runner.invoke(build(), ["user", "token", "list", user])
    assert listed.exit_code == 0 and "powerbi" in listed.output and "active" in listed.output
    assert token not in listed.output and token[8:20] not in listed.output
    revoked = runner.invoke(build(), ["user", "token", "revoke", user, "powerbi"])
    assert (revoked.exit_code, revoked.output) == (0, "revoked\n")
    assert "revoked" in runner.invoke(build(), ["user", "token", "list", user]).output
    twice = runner.invoke(build(), ["user", "token", "revoke", user, "powerbi"])
    assert twice.exit_code != 0 and "no live token of that name" in twice.output
    renewed = runner.invoke(build(), ["user", "token", "add", user, "--name", "powerbi"])  # a rotation keeps the name
    assert renewed.exit_code == 0 and renewed.stdout.strip() != token
    unknown = runner.invoke(build(), ["user", "token", "add", "ingen@barnevern.kommune.example", "--name", "x"])
    assert unknown.exit_code != 0 and "no such user: ingen@barnevern.kommune.example" in unknown.output
