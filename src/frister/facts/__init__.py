"""Case facts (the import contract's concepts) and their validating parser."""

from frister.facts.model import (
    CareOrder,
    CaseFacts,
    EmergencyDecision,
    Extension,
    Investigation,
    Measure,
    Placement,
    Referral,
)
from frister.facts.parse import parse_case

__all__ = [
    "CareOrder",
    "CaseFacts",
    "EmergencyDecision",
    "Extension",
    "Investigation",
    "Measure",
    "Placement",
    "Referral",
    "parse_case",
]
