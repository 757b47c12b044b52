"""Which stage of the ladder is due, for an obligation in a given state, on a given day."""

from __future__ import annotations

from datetime import date

import pytest

from frister.escalation.config import Stage
from frister.escalation.derive import due_points

REMINDER = Stage("reminder", -14, ("avdelingsleder",))
ON_DUE = Stage("due", 0, ("avdelingsleder",))
BREACH = Stage("breach", 1, ("barnevernsjef",), repeat_every=7)
ONCE = Stage("breach_once", 1, ("barnevernsjef",))
TWELVE_WEEKS = Stage("breach", 1, ("barnevernsjef",), repeat_every=7, repeat_for=84)
DUE = date(2025, 3, 31)


@pytest.mark.parametrize("stage, status, as_of, expected", [
    (REMINDER, "open", date(2025, 3, 16), None),                       # 15 days before: not yet
    (REMINDER, "open", date(2025, 3, 17), (0, date(2025, 3, 17))),     # 14 days before
    (REMINDER, "open", date(2025, 3, 31), (0, date(2025, 3, 17))),     # still due on the due date
    (REMINDER, "overdue", date(2025, 4, 1), None),                     # moot once overdue
    (REMINDER, "met", date(2025, 3, 20), None),                        # met: never
    (ON_DUE, "open", date(2025, 3, 31), (0, DUE)),
    (BREACH, "open", date(2025, 3, 31), None),
    (BREACH, "overdue", date(2025, 4, 1), (0, date(2025, 4, 1))),      # the day after the due date
    (BREACH, "overdue", date(2025, 4, 7), (0, date(2025, 4, 1))),
    (BREACH, "overdue", date(2025, 4, 8), (1, date(2025, 4, 8))),      # weekly repeat
    (BREACH, "overdue", date(2025, 4, 30), (4, date(2025, 4, 29))),    # after downtime: the latest only
    (BREACH, "late", date(2025, 4, 30), None),                          # done late meanwhile: nothing
    (ONCE, "overdue", date(2026, 1, 1), (0, date(2025, 4, 1))),        # no repeat: the first, once
    (TWELVE_WEEKS, "overdue", date(2025, 6, 23), (11, date(2025, 6, 17))),
    (TWELVE_WEEKS, "overdue", date(2025, 6, 24), (12, date(2025, 6, 24))),  # the last repeat, 84 days on
    (TWELVE_WEEKS, "overdue", date(2026, 1, 1), (12, date(2025, 6, 24))),   # and no later one
    (Stage("end", 1, ("stab",)), "overdue", date(2024, 3, 1), None),   # (as_of before due+1)
])
def test_a_stage_is_due_from_its_day_while_the_obligation_is_in_its_state(stage, status, as_of, expected):
    assert due_points(stage, DUE, status, as_of) == expected


def test_month_end_and_leap_day_need_no_special_case_for_day_offsets():
    leap = Stage("reminder", -14, ("avdelingsleder",))
    assert due_points(leap, date(2024, 3, 14), "open", date(2024, 2, 29)) == (0, date(2024, 2, 29))
    assert due_points(BREACH, date(2024, 2, 29), "overdue", date(2024, 3, 8)) == (1, date(2024, 3, 8))
