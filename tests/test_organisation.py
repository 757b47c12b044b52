"""The organisation file: loaded strictly (messages name the file and the path inside it),
routing by the unit that holds a step up the tree, display names and the tree order."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from frister.errors import ConfigError
from frister.organisation import load_organisation

ROOT = Path(__file__).resolve().parents[1]

ORG = """\
service: Vest barneverntjeneste
allowed_domains: [barnevern.kommune.example]
municipalities:
  "9901": Nordvik
  "9902": Sørdal
units:
  mottak: {name: Mottak}
  undersokelse:
    name: Undersøkelse
    units:
      us-1: {name: Undersøkelse team 1}
      us-2:
  omsorg: {}
leaders:
  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
  - {role: avdelingsleder, email: mottak@barnevern.kommune.example, units: [mottak]}
  - {role: avdelingsleder, email: us@barnevern.kommune.example, units: [undersokelse]}
  - {role: teamleder, email: us1@barnevern.kommune.example, units: [us-1]}
  - {role: stab, email: stab@barnevern.kommune.example}
"""


def write(tmp_path, text, name="organisation.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_notice_goes_to_the_leader_of_the_unit_or_the_nearest_unit_above_it(tmp_path):
    org = load_organisation(write(tmp_path, ORG))
    assert org.address("teamleder", "us-1") == "us1@barnevern.kommune.example"
    assert org.address("avdelingsleder", "us-1") == "us@barnevern.kommune.example"
    # us-2 has no teamleder: its department's avdelingsleder, then the barnevernsjef
    assert org.address("teamleder", "us-2") == "us@barnevern.kommune.example"
    assert org.address("avdelingsleder", "omsorg") == "sjef@barnevern.kommune.example"
    # a unit the file does not know (new in the data) goes to the barnevernsjef
    assert org.address("avdelingsleder", "ny-enhet") == "sjef@barnevern.kommune.example"
    assert org.address("stab", "mottak") == "stab@barnevern.kommune.example"
    assert org.role_of("us@barnevern.kommune.example") == "avdelingsleder"


def test_the_tree_gives_order_depth_display_names_and_what_lies_below(tmp_path):
    org = load_organisation(write(tmp_path, ORG))
    assert [(u.code, u.name, u.depth) for u in org.tree(seen=["us-2", "gammel"])] == [
        ("mottak", "Mottak", 0), ("undersokelse", "Undersøkelse", 0), ("us-1", "Undersøkelse team 1", 1),
        ("us-2", "us-2", 1), ("omsorg", "omsorg", 0), ("gammel", "gammel", 0)]
    assert org.below("undersokelse") == ["undersokelse", "us-1", "us-2"]
    assert org.chain("us-2") == ["us-2", "undersokelse"]
    assert org.municipality_name("9902") == "Sørdal" and org.municipality_name("0301") == "0301"
    assert org.service == "Vest barneverntjeneste"


def test_the_example_organisation_loads():
    org = load_organisation(ROOT / "config" / "organisation.example.yaml", ["avdelingsleder", "barnevernsjef"])
    assert set(org.municipalities) == {"9901", "9902"}
    assert org.below("tiltak") == ["tiltak", "tiltak-barn", "tiltak-ungdom"]


@pytest.mark.parametrize("change, where", [
    (("mottak@barnevern.kommune.example", "mottak@gmail.com"),
     "leaders[1].email: address outside the allowed domains"),
    (("mottak@barnevern.kommune.example", "Mottak <mottak@barnevern.kommune.example>"),
     "leaders[1].email: "),
    (('"9902": Sørdal', "9902: Sørdal"), 'municipalities.9902: expected a municipality number of four digits'),
    (('"9902": Sørdal', '"992": Sørdal'), 'municipalities.992: expected a municipality number of four digits'),
    (("units: [mottak]}", "units: [mottakk]}"), "leaders[1].units[0]: unknown unit (not in units)"),
    (("role: teamleder", "role: sjef"), "leaders[3].role: expected one of: barnevernsjef, avdelingsleder"),
    (("units: [us-1]}", "}"), "leaders[3].units: expected the list of units this teamleder leads"),
    (("  omsorg: {}\n", "  omsorg: {}\n  mottak: {name: To}\n"), "duplicate key 'mottak'"),
    (("      us-2:\n", "      us-2:\n      mottak: {}\n"), "units.undersokelse.units.mottak: unit given twice"),
    (("{name: Mottak}", "{name: Mottak, leder: x}"), "units.mottak.leder: unknown key"),
    (("  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}\n", ""),
     "leaders: expected exactly one leader with role barnevernsjef (0 given)"),
])
def test_an_invalid_organisation_is_an_error_naming_the_file_and_the_field(tmp_path, change, where):
    path = write(tmp_path, ORG.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_organisation(path)
    assert str(err.value).startswith(f"{path}: ") and where in str(err.value), str(err.value)
    assert "gmail" not in str(err.value)


def test_a_ladder_that_sends_to_stab_needs_a_stab(tmp_path):
    path = write(tmp_path, ORG.replace("  - {role: stab, email: stab@barnevern.kommune.example}\n", ""))
    with pytest.raises(ConfigError, match="leaders: the escalation ladder sends to stab, but no leader has role stab"):
        load_organisation(path, ["barnevernsjef", "stab"])


def test_org_check_lists_the_units_and_municipalities_the_file_does_not_know(cli_env, engine, tmp_path):
    from click.testing import CliRunner

    from frister.cli import build
    from frister.importer.jsonl import import_file

    cases = [
        {"case_id": "BV-1", "municipality": "9901", "unit": "mottak", "caseworker": "ks01",
         "child": {"birth_date": "2015-01-01"},
         "referrals": [{"id": "M1", "received_on": "2025-01-10", "unit": "mottak", "caseworker": "ks01"}],
         "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-01-15", "unit": "us-1",
                             "caseworker": "ks07"}]},
        {"case_id": "BV-2", "municipality": "9903", "unit": "ny-enhet", "caseworker": "ks01",
         "child": {"birth_date": "2016-01-01"}},
    ]
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    import_file(engine, data, as_of=dt.date(2025, 3, 1))
    result = CliRunner().invoke(build(), ["org", "check", "--file", str(write(tmp_path, ORG))])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "    us-1 (Undersøkelse team 1): 1 held, 1 caseworker(s); teamleder us1@barnevern.kommune.example" in lines
    assert "problem: unit 'ny-enhet' holds 1 case(s) or step(s) but is not in the file " \
           "(its notices go to the barnevernsjef)" in lines
    assert "problem: municipality 9903 has 1 case(s) but is not in the file" in lines
    assert "note: caseworker 'ks01' holds steps in 2 units: mottak, ny-enhet" in lines
    assert "note: unit 'omsorg' holds nothing in the data" in lines
    assert "note: municipality 9902 (Sørdal) has no case in the data" in lines


def test_a_leader_may_have_several_addresses_and_a_deputy_in_copy_while_away(tmp_path):
    text = ORG.replace("email: mottak@barnevern.kommune.example, units: [mottak]",
                       "email: [mottak@barnevern.kommune.example, felles@barnevern.kommune.example], units: [mottak], "
                       "deputy: vara@barnevern.kommune.example, away_until: 2025-07-31")
    org = load_organisation(write(tmp_path, text))
    assert org.address("avdelingsleder", "mottak") == "mottak@barnevern.kommune.example"
    assert org.copies_for("mottak@barnevern.kommune.example", dt.date(2025, 7, 31)) == \
        ["felles@barnevern.kommune.example", "vara@barnevern.kommune.example"]
    assert org.copies_for("mottak@barnevern.kommune.example", dt.date(2025, 8, 1)) == ["felles@barnevern.kommune.example"]
    assert "vara@barnevern.kommune.example" in org.all_addresses()
    bad = ORG.replace("email: mottak@barnevern.kommune.example, units: [mottak]",
                      "email: [mottak@barnevern.kommune.example, ola@gmail.com], units: [mottak], away_until: 2025-07-31")
    with pytest.raises(ConfigError) as err:
        load_organisation(write(tmp_path, bad, "bad.yaml"))
    assert "leaders[1].email[1]: address outside the allowed domains" in str(err.value)
    assert "leaders[1].away_until: away_until needs a deputy" in str(err.value)
