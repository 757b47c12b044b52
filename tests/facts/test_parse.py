"""Contract-v1 validation: every rule of INTERCHANGE.md names the field and never the value."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from frister.facts.parse import implausible, parse_case

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


# --- text that one of the two JSON readers cannot read ------------------------------------

PREFIX = '{"case_id": "BV-1", "unit": "mottak", '


@pytest.mark.parametrize(
    "text, expected",
    [
        (PREFIX + '"child": {"birth_date": "2012-05-01", "birth_date": "2013-06-02"}}',
         [("", "key 'birth_date' given twice in child")]),
        ('{"case_id": "BV-1", "unit": "mottak", "unit": "tiltak"}', [("", "key 'unit' given twice")]),
        (PREFIX + '"referrals": [{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-04-01", '
                  '"concluded_on": null}]}',
         [("", "key 'concluded_on' given twice in referrals[0]")]),
        (PREFIX + '"investigations": [{"id": "U1", "started_on": "2025-03-20", '
                  '"extension": {"requested_on": "2025-06-10", "granted": true, "granted": false}}]}',
         [("", "key 'granted' given twice in investigations[0].extension")]),
    ],
    ids=["depth 2", "depth 1", "depth 3", "depth 4"],
)
def test_a_key_given_twice_at_any_depth_is_refused_with_its_place(text, expected):
    assert parse_case(text, as_of=AS_OF) == (None, "BV-1", expected)


TEXT = "expected a non-empty string of at most 64 characters without control characters"


@pytest.mark.parametrize("value", ["[1]", '{"a": "b"}', "5", "1.5", "true", "null"])
def test_a_string_field_of_another_type_names_the_field(value):
    _, _, problems = parse_case(PREFIX + '"referrals": [{"id": ' + value + ', "received_on": "2025-03-15"}]}')
    assert problems == [("referrals[0].id", TEXT)]


def test_an_integer_of_5000_digits_names_its_field_and_is_not_echoed():
    _, case_id, problems = parse_case(PREFIX + '"child": {"birth_date": ' + "9" * 5000 + "}}")
    assert (case_id, problems) == ("BV-1", [("child.birth_date", "expected a date YYYY-MM-DD (a number too long to read)")])


@pytest.mark.parametrize("depth", [300, 100_000])  # beyond pydantic's parser; beyond json.loads's recursion
def test_nesting_deeper_than_the_parsers_read_names_the_field(depth):
    deep = "[" * depth + "]" * depth
    assert parse_case(PREFIX + '"child": ' + deep + "}")[1:] == \
        ("BV-1", [("child", "expected an object (the value is nested too deeply to be read)")])
    assert parse_case('{"child": ' + deep + ', "unit": "mottak", "case_id": "BV-2"}')[1] == "BV-2"
    assert parse_case(PREFIX + '"referrals": [{"id": ' + deep + ', "received_on": "2025-03-15"}]}')[2] == \
        [("referrals[0].id", f"{TEXT} (the value is nested too deeply to be read)")]
    assert parse_case(PREFIX + '"name": ' + deep + "}")[2] == \
        [("name", "unknown field (the contract does not have it)")]
    assert parse_case(deep)[2] == [("(record)", "expected a JSON object, one case per line")]


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b"])
def test_a_lone_surrogate_escape_is_refused_as_a_field_error(escape):
    _, case_id, problems = parse_case(PREFIX + f'"caseworker": "{escape}"}}')
    assert (case_id, problems) == ("BV-1", [("caseworker", f"{TEXT} (a lone surrogate \\ud800-\\udfff is not a character)")])
    _, case_id, problems = parse_case('{"case_id": "' + escape + '", "unit": "mottak"}')
    assert case_id is None and [f for f, _ in problems] == ["case_id"]


def test_a_surrogate_pair_escape_is_one_character_and_valid():
    facts, _, problems = parse_case(PREFIX + '"caseworker": "\\ud83d\\ude00"}')
    assert problems == [] and facts.caseworker == "\U0001F600"


def test_a_record_given_as_bytes_must_be_utf8():
    text = PREFIX + '"caseworker": "ks01"}'
    assert parse_case(text.encode("utf-16"))[2] == [("(line)", "expected UTF-8 text")]
    assert parse_case(text.encode("utf-8"))[2] == []


# --- plausibility ---------------------------------------------------------------------------

def implausible_of(mutate, as_of=AS_OF) -> list[tuple[str, str]]:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    facts, _, problems = parse_case(doc, as_of=as_of)
    assert problems == []
    return implausible(facts, as_of)


def test_the_base_record_is_plausible():
    assert implausible_of(lambda d: None) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["placements"][0].update(followup_visits=["2021-02-09", "2025-01-15"]),
         [("placements[0].followup_visits", "expected every visit on or after started_on")]),
        (lambda d: d["placements"][0].update(supervision_visits=["2020-12-01"]),
         [("placements[0].supervision_visits", "expected every visit on or after started_on")]),
        (lambda d: d["investigations"][0].update(started_on="2025-03-14"),
         [("investigations[0].started_on", "expected a date on or after referrals[0].received_on (its referral)")]),
        (lambda d: d["child"].update(birth_date="2025-03-16"),
         [("child.birth_date", "expected a date on or before referrals[0].received_on "
                               "(an expected birth date is one after the as-of date)")]),
    ],
    ids=["visit before placement", "supervision before placement", "investigation before referral",
         "born after referral"],
)
def test_implausible_orderings_name_the_field(mutate, expected):
    assert implausible_of(mutate) == expected


def test_an_expected_birth_date_after_the_as_of_date_is_plausible():
    # v1 refuses any date after the as-of date; v2 allows an expected birth date (termindato).
    doc = copy.deepcopy(BASE)
    doc["child"]["birth_date"] = "2025-12-24"
    facts, _, problems = parse_case(doc)  # no as-of date: not refused
    assert problems == [] and implausible(facts, AS_OF) == []
    assert implausible(facts, None) != []  # without an as-of date it is a birth date like any other
