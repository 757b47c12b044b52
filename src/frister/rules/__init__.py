"""Rules as data: the rule model, the strict YAML loader and the YAML legal examples."""

from frister.rules.loader import load_rules
from frister.rules.model import Rule, RuleSet, RuleVersion

__all__ = ["Rule", "RuleSet", "RuleVersion", "load_rules"]
