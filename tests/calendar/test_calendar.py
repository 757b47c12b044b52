"""Period arithmetic: month-end clamp, leap years, no chaining, working days, periods."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frister.calendar import (
    Period,
    add_months,
    add_period,
    age_on,
    birthday,
    days_in_month,
    half_year_of,
    next_working_day,
    parse_period_label,
    quarter_of,
    subtract_period,
)


@pytest.mark.parametrize(
    "start, months, expected",
    [
        # around the end of January into February
        (date(2025, 1, 28), 1, date(2025, 2, 28)),
        (date(2025, 1, 29), 1, date(2025, 2, 28)),
        (date(2025, 1, 30), 1, date(2025, 2, 28)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 28), 1, date(2024, 2, 28)),
        (date(2024, 1, 29), 1, date(2024, 2, 29)),
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        # three months from the end of November (RULES.md example)
        (date(2024, 11, 28), 3, date(2025, 2, 28)),
        (date(2024, 11, 29), 3, date(2025, 2, 28)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2023, 11, 29), 3, date(2024, 2, 29)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        # 31st into 30-day months
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 5, 31), 1, date(2025, 6, 30)),
        (date(2025, 8, 31), 1, date(2025, 9, 30)),
        (date(2025, 10, 31), 1, date(2025, 11, 30)),
        (date(2025, 1, 31), 2, date(2025, 3, 31)),  # one step, not chained
        # across years, leap days, backwards
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2024, 3, 30), -1, date(2024, 2, 29)),
        (date(2026, 5, 10), -6, date(2025, 11, 10)),
        (date(2025, 6, 15), 0, date(2025, 6, 15)),
    ],
)
def test_it_adds_months_in_one_step_clamping_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_it_never_chains_month_additions():
    start = date(2025, 1, 31)
    assert add_months(add_months(start, 1), 1) == date(2025, 3, 28)
    assert add_months(start, 2) == date(2025, 3, 31)


@pytest.mark.parametrize(
    "text, start, expected",
    [
        ("1 week", date(2024, 2, 25), date(2024, 3, 3)),
        ("1 week", date(2023, 2, 25), date(2023, 3, 4)),
        ("3 weeks", date(2024, 12, 20), date(2025, 1, 10)),
        ("6 weeks", date(2024, 1, 31), date(2024, 3, 13)),
        ("0 days", date(2024, 2, 29), date(2024, 2, 29)),
        ("3 months", date(2025, 1, 31), date(2025, 4, 30)),
        ("6 months", date(2024, 8, 31), date(2025, 2, 28)),
        ("2 years", date(2020, 2, 29), date(2022, 2, 28)),
        ("1 year", date(2023, 2, 28), date(2024, 2, 28)),
    ],
)
def test_it_adds_periods_as_the_rules_state_them(text, start, expected):
    assert add_period(start, Period.parse(text)) == expected


@pytest.mark.parametrize("text", ["", "3", "three months", "3 fortnights", "-1 week", "1.5 months", None, 3])
def test_it_rejects_malformed_periods(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_periods_read_in_norwegian():
    assert Period.parse("1 week").norwegian == "1 uke"
    assert Period.parse("3 months").norwegian == "3 måneder"
    assert Period.parse("2 years").norwegian == "2 år"


def test_a_child_born_on_a_leap_day_turns_a_year_older_on_1_march_in_a_common_year():
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 29), 16) == date(2024, 2, 29)
    assert birthday(date(2008, 3, 31), 18) == date(2026, 3, 31)
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2004, 2, 29), date(2020, 2, 29)) == 16


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2025, 5, 17), date(2025, 5, 19)),  # Constitution Day (Saturday) -> Monday
        (date(2025, 12, 24), date(2025, 12, 24)),  # Christmas Eve is not a public holiday
        (date(2025, 12, 25), date(2025, 12, 29)),  # 25th, 26th, then the weekend
        (date(2025, 4, 17), date(2025, 4, 22)),  # Maundy Thursday .. Easter Monday
        (date(2025, 6, 2), date(2025, 6, 2)),  # an ordinary Monday
    ],
)
def test_it_rolls_to_the_next_norwegian_working_day(day, expected):
    assert next_working_day(day) == expected


def test_calendar_periods_cover_half_years_and_quarters():
    assert half_year_of(date(2025, 6, 30)).label == "2025-H1"
    assert half_year_of(date(2025, 7, 1)).label == "2025-H2"
    q = quarter_of(date(2024, 2, 29))
    assert (q.label, q.start, q.end) == ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31))
    assert parse_period_label("2025-H2").end == date(2025, 12, 31)
    assert [x.label for x in parse_period_label("2025-H2").quarters()] == ["2025-Q3", "2025-Q4"]
    with pytest.raises(ValueError):
        parse_period_label("2025-H3")


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
months = st.integers(min_value=-240, max_value=240)


@given(days, months)
def test_adding_months_lands_in_the_right_month_on_the_clamped_day(start, n):
    result = add_months(start, n)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == n
    assert result.day == min(start.day, days_in_month(result.year, result.month))


@given(days, st.integers(min_value=0, max_value=240), st.integers(min_value=0, max_value=240))
def test_adding_months_is_monotonic_and_one_step_bounds_the_chain(start, a, b):
    assert add_months(start, a) <= add_months(start, a + b)
    # Chaining can only lose days to a clamp, never gain them.
    assert add_months(add_months(start, a), b) <= add_months(start, a + b)


@given(days, st.integers(min_value=0, max_value=240))
def test_subtracting_after_adding_returns_at_most_the_start(start, n):
    back = add_months(add_months(start, n), -n)
    assert back <= start and start - back <= timedelta(days=3)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 12, 31)), st.integers(min_value=0, max_value=30))
def test_the_day_before_the_birthday_is_one_year_younger(birth, years):
    turn = birthday(birth, years)
    assert age_on(birth, turn) == years
    if years:
        assert age_on(birth, turn - timedelta(days=1)) == years - 1


@given(days, st.sampled_from(["1 week", "3 months", "6 weeks", "2 years", "0 days"]))
def test_subtract_period_undoes_add_period_for_day_periods(start, text):
    p = Period.parse(text)
    if p.unit in ("days", "weeks"):
        assert subtract_period(add_period(start, p), p) == start
    else:
        assert subtract_period(add_period(start, p), p) <= start


def test_days_in_month_agrees_with_the_standard_library_for_two_centuries():
    import calendar as stdcal

    assert all(days_in_month(y, m) == stdcal.monthrange(y, m)[1] for y in range(1900, 2101) for m in range(1, 13))
