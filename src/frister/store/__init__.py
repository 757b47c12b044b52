"""Case facts in the database: tables, bulk reading and replacing."""

from frister.store.facts import iter_case_facts, replace_cases, stored_fingerprints

__all__ = ["iter_case_facts", "replace_cases", "stored_fingerprints"]
