"""Which results' dates give the birth date away, and how their due date is shown."""

from __future__ import annotations

import datetime as dt

from frister.disclosure import birth_linked, month_text, reveals_birth_date


def test_of_the_bundled_rules_only_aftercare_reveals_the_birth_date(rules):
    assert birth_linked(rules) == {"aftercare_assessment"}
    # Tilsyn stops at 18, but its due dates are the ends of calendar periods.
    assert not reveals_birth_date(rules.get("foster_home_supervision_visits"))


def test_a_birth_linked_due_date_is_shown_as_its_month_in_norwegian():
    assert [month_text(dt.date(2025, m, 28)) for m in (1, 11, 12)] == ["januar 2025", "november 2025", "desember 2025"]
