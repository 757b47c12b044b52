"""The published JSON Schema of the import contract says what the importer accepts."""

from __future__ import annotations

import json
from datetime import date

import jsonschema
from click.testing import CliRunner

from frister.cli import build
from frister.demo.generate import generate_cases
from frister.facts.parse import parse_case


def _schema() -> dict:
    result = CliRunner().invoke(build(), ["contract", "schema"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_generated_record_is_valid_under_the_published_schema():
    validator = jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker())
    records = list(generate_cases(date(2025, 11, 1), seed=3, cases=60))
    for record in records:
        validator.validate(record)
        assert parse_case(record)[2] == []


def test_the_schema_refuses_what_the_importer_refuses():
    validator = jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker())
    good = {"case_id": "BV-1", "unit": "mottak", "referrals": [{"id": "M1", "received_on": "2025-03-15"}]}
    for bad in (
        {**good, "fnr": "01010112345"},  # unknown key
        {**good, "referrals": [{"id": "M1", "received_on": "15.03.2025"}]},  # not a date
        {**good, "unit": "mottak\nBcc: x@example.org"},  # a control character
        {**good, "measures": [{"id": "T1", "kind": "sometimes", "decided_on": "2025-03-15"}]},  # not a kind
        {"unit": "mottak"},  # no case reference
    ):
        assert not validator.is_valid(bad), bad
        assert parse_case(bad)[2], bad
    assert validator.is_valid(good) and parse_case(good)[2] == []
