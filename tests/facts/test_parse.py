"""Contract-v1 validation: every rule of INTERCHANGE.md names the field and never the value."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from frister.facts.parse import parse_case

AS_OF = date(2025, 11, 1)

BASE = {
    "case_id": "BV-1",
    "unit": "mottak",
    "caseworker": "ks01",
    "child": {"birth_date": "2012-05-01"},
    "referrals": [{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-20", "conclusion": "investigate"}],
    "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-03-20"}],
    "measures": [{"id": "T1", "kind": "support", "decided_on": "2025-06-12", "evaluations": ["2025-09-10"]}],
    "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2021-02-10", "followup_visits": ["2025-01-15"]}],
}


def problems_of(mutate) -> list[tuple[str, str]]:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    facts, case_id, problems = parse_case(doc, as_of=AS_OF)
    assert facts is None if problems else facts is not None
    return problems


def test_the_base_record_is_valid():
    facts, case_id, problems = parse_case(copy.deepcopy(BASE), as_of=AS_OF)
    assert problems == [] and case_id == "BV-1" and facts.referrals[0].received_on == date(2025, 3, 15)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        # malformed dates
        (lambda d: d["child"].update(birth_date="2012-13-01"), [("child.birth_date", "expected a date YYYY-MM-DD")]),
        (lambda d: d["child"].update(birth_date="01.05.2012"), [("child.birth_date", "expected a date YYYY-MM-DD")]),
        (lambda d: d["referrals"][0].update(received_on="2025-3-15"), [("referrals[0].received_on", "expected a date YYYY-MM-DD")]),
        (lambda d: d["measures"][0].update(evaluations=["2025-02-29"]), [("measures[0].evaluations[0]", "expected a date YYYY-MM-DD")]),
        # dates after the import's as-of date
        (lambda d: d["placements"][0].update(followup_visits=["2025-11-02"]),
         [("placements[0].followup_visits[0]", "expected a date on or before the import's as-of date 2025-11-01")]),
        # a conclusion before the start it concludes
        (lambda d: d["referrals"][0].update(concluded_on="2025-03-14"),
         [("referrals[0].concluded_on", "expected a date on or after received_on")]),
        (lambda d: d["investigations"][0].update(concluded_on="2025-03-19"),
         [("investigations[0].concluded_on", "expected a date on or after started_on")]),
        (lambda d: d["measures"][0].update(ended_on="2025-06-11"), [("measures[0].ended_on", "expected a date on or after decided_on")]),
        (lambda d: d["placements"][0].update(ended_on="2021-02-09"), [("placements[0].ended_on", "expected a date on or after started_on")]),
        # references to unknown ids
        (lambda d: d["investigations"][0].update(referral_id="M9"),
         [("investigations[0].referral_id", "expected the id of a referral in this case")]),
        # duplicate ids within a case
        (lambda d: d["referrals"].append(dict(d["referrals"][0])),
         [("referrals[1].id", "expected an id unique among this case's referrals")]),
        # unknown keys, at any level
        (lambda d: d.update(name="Ola"), [("name", "unknown field (the contract does not have it)")]),
        (lambda d: d["child"].update(fnr="01051212345"), [("child.fnr", "unknown field (the contract does not have it)")]),
        # required fields and closed vocabularies
        (lambda d: d.pop("case_id"), [("case_id", "required: expected a non-empty string of at most 64 characters without control characters")]),
        (lambda d: d.pop("unit"), [("unit", "required: expected a non-empty string of at most 64 characters without control characters")]),
        (lambda d: d["measures"][0].update(kind="sometimes"), [("measures[0].kind", "expected one of support, care")]),
        (lambda d: d["referrals"][0].update(conclusion="maybe"),
         [("referrals[0].conclusion", "expected one of investigate, closed, closed_active_measures, in_ongoing_investigation")]),
        (lambda d: d["investigations"][0].update(extension={"requested_on": "2025-06-01", "granted": "yes"}),
         [("investigations[0].extension.granted", "expected true or false")]),
        (lambda d: d["investigations"][0].update(extension={"requested_on": "2025-06-01", "granted": True, "reason": "busy"}),
         [("investigations[0].extension.reason",
           "expected one of holiday_absence, hard_to_reach, complex_case, avoids_contact, lack_of_capacity, other")]),
        # A record of the wrong shape is not checked further (its references would only repeat it).
        (lambda d: d.update(referrals={"id": "M1"}), [("referrals", "expected a list of objects")]),
    ],
)
def test_each_contract_rule_names_the_field_and_what_was_expected(mutate, expected):
    assert problems_of(mutate) == expected


def test_a_bad_value_is_never_echoed():
    for bad in ("2012-13-01", "01.05.2012", "Ola Nordmann", "01051212345"):
        problems = problems_of(lambda d: d["child"].update(birth_date=bad))
        assert problems and all(bad not in f and bad not in e for f, e in problems)


def test_a_record_that_is_not_an_object_is_rejected():
    assert parse_case(["BV-1"], as_of=AS_OF) == (None, None, [("(record)", "expected a JSON object, one case per line")])
