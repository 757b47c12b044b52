"""What an output may show of a result's dates: never what gives the birth date away.

The aftercare deadline (rule ``aftercare_assessment``, subject ``child``) falls due a
fixed lead time before the 18th birthday, so its exact due date, or its day count
together with the as-of date, *is* the birth date. :func:`reveals_birth_date` is the one
place that decides which results are like that; every output outside the case system
asks it: e-mails (:mod:`frister.notify.digest`) and reports (:mod:`frister.reports`)
show such a due date as its month (:func:`month_text`, ``november 2025``) and leave out
its days late and its start date (the birthday itself).

Today the predicate is "the rule's subject is the child". The other rules anchored on
the birth date do not reveal it: tilsyn (``until_age: 18``) ends with the last visit
period that is over by the 18th birthday, so a visit period's due date is a calendar
half-year's or quarter's end and says at most in which period the birthday falls. A result whose
dates come from the birthday in another way (a period ending on the 18th birthday,
say) belongs here, decided on the result's rule and, if need be, the result itself.
"""

from __future__ import annotations

from typing import Iterable

from frister.nb import month_text  # the wording of a birth-linked due date
from frister.rules.model import Rule

__all__ = ["birth_linked", "month_text", "reveals_birth_date"]

def reveals_birth_date(rule: Rule) -> bool:
    """Whether the dates of this rule's results give away the child's birth date."""
    return rule.subject == "child"


def birth_linked(rules: Iterable[Rule]) -> frozenset[str]:
    """The ids of the rules whose results' dates give away the birth date."""
    return frozenset(r.id for r in rules if reveals_birth_date(r))

