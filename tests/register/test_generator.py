"""The generated register documents are what SSB's schema accepts, and name nobody."""

from __future__ import annotations

from datetime import date, datetime, timezone
import random

from lxml import etree

from frister.demo.register_xml import generate_cases, mod11_valid, synthetic_fodselsnummer, to_xml

AS_OF = date(2026, 6, 30)


def test_generated_documents_are_valid_against_the_v4_schema(register_xsd):
    schema = etree.XMLSchema(etree.parse(str(register_xsd)))
    cases = generate_cases(300, AS_OF, seed=7)
    extracted = datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)
    for i, case in enumerate(cases):
        doc = etree.fromstring(to_xml(case, extracted, f"{i:08x}-0000-4000-8000-000000000000").encode())
        assert schema.validate(doc), (case.journalnummer, str(schema.error_log))
    kinds = {"investigation": sum(c.investigation is not None for c in cases),
             "care": sum(c.care is not None for c in cases), "support": sum(c.support is not None for c in cases),
             "emergency": sum(c.emergency is not None for c in cases)}
    assert all(n > 10 for n in kinds.values()), kinds


def test_synthetic_identity_numbers_fail_the_mod11_check():
    rng = random.Random(3)
    numbers = [synthetic_fodselsnummer(rng, date(2014, 3, 9)) for _ in range(2000)]
    assert all(len(n) == 11 and n.startswith("090314") for n in numbers)
    assert not any(mod11_valid(n) for n in numbers)


def test_the_checksum_accepts_a_valid_number():
    # A made-up number whose control digits were computed by hand with the published
    # weights (3 7 6 1 8 9 4 5 2; 5 4 3 2 7 6 5 4 3 2): 010101 001 -> k1 = 11 - 19 % 11 = 3, k2 = 11 - 21 % 11 = 1.
    assert mod11_valid("01010100131")
    assert not mod11_valid("01010100132")
