"""Loading the escalation ladder: strict, with messages that name the file and the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from frister.errors import ConfigError
from frister.escalation.config import Delivery, load_ladder

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


def write(tmp_path, text, name="escalation.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_loads_the_bundled_ladder(rules):
    ladder = load_ladder(CONFIG / "escalation.yaml", [r.id for r in rules])
    assert [(s.name, s.offset, s.to, s.repeat_every) for s in ladder.default] == [
        ("reminder", -14, ("avdelingsleder",), None),
        ("warning", -3, ("avdelingsleder", "barnevernsjef"), None),
        ("breach", 1, ("avdelingsleder", "barnevernsjef"), 7),
    ]
    assert ladder.stages_for("emergency_petition")[0].offset == -7
    assert ladder.stages_for("investigation_deadline") == ladder.default
    # Every repeat ends (twelve weeks; a lapsed emergency decision: two weeks daily), and
    # a visit period's breach, final once the period is over, is not repeated.
    assert (ladder.default[-1].repeat_for, ladder.default[-1].last_repeat) == (84, 12)
    assert ladder.stages_for("emergency_petition")[-1].last_repeat == 14
    assert ladder.stages_for("foster_home_supervision_visits")[-1].repeat_every is None
    assert ladder.catch_up_days == 31 and ladder.lookback_days == 1 + 84 + 31
    assert ladder.delivery.retry_until == dt.time(7, 0)


def test_a_ladder_with_a_repeat_without_end_has_no_lookback(tmp_path, rules):
    text = "defaults:\n  stages:\n    - {stage: a, days_after_due: 2, to: [stab], repeat_every_days: 7}\n"
    assert load_ladder(write(tmp_path, text)).lookback_days is None
    bounded = load_ladder(write(tmp_path, text.replace("7}", "7, repeat_for_days: 20}") + "catch_up_days: 5\n"))
    assert (bounded.default[0].last_repeat, bounded.default[0].span, bounded.lookback_days) == (2, 16, 21)


def test_stages_are_ordered_most_urgent_first_for_the_digest(rules):
    ladder = load_ladder(CONFIG / "escalation.yaml")
    assert sorted(["reminder", "breach", "warning", "custom"], key=ladder.urgency) == \
        ["breach", "warning", "reminder", "custom"]


@pytest.mark.parametrize("stage, where, bounds", [
    ("{stage: a, days_before_due: 99999999999, to: [stab]}", "defaults.stages[0].days_before_due", "0 to 3660"),
    ("{stage: a, days_after_due: 99999999999, to: [stab]}", "defaults.stages[0].days_after_due", "1 to 3660"),
    ("{stage: a, days_after_due: 1, to: [stab], repeat_every_days: 99999999999}",
     "defaults.stages[0].repeat_every_days", "1 to 3660"),
    ("{stage: a, days_after_due: 1, to: [stab], repeat_every_days: 7, repeat_for_days: 99999999999}",
     "defaults.stages[0].repeat_for_days", "1 to 3660"),
])
def test_huge_numbers_of_days_in_a_stage_are_refused_when_the_ladder_is_loaded(tmp_path, stage, where, bounds):
    path = write(tmp_path, f"defaults:\n  stages:\n    - {stage}\n")
    with pytest.raises(ConfigError) as err:
        load_ladder(path)
    assert str(err.value) == f"{path}: {where}: expected a whole number from {bounds}"


@pytest.mark.parametrize("key, bounds", [
    ("catch_up_days", "0 to 3660"), ("delivery.backoff_minutes", "1 to 10080"),
    ("delivery.backoff_cap_minutes", "1 to 10080"), ("delivery.max_attempts", "1 to 1000"),
    ("delivery.max_lines_per_email", "1 to 100000"), ("delivery.lines_per_email", "1 to 100000"),
])
def test_huge_numbers_elsewhere_in_the_ladder_are_refused_when_it_is_loaded(tmp_path, key, bounds):
    section, _, name = key.rpartition(".")
    value = f"{section}:\n  {name}: 99999999999999999999\n" if section else f"{name}: 99999999999999999999\n"
    path = write(tmp_path, "defaults:\n  stages:\n    - {stage: a, days_after_due: 1, to: [stab]}\n" + value)
    with pytest.raises(ConfigError) as err:
        load_ladder(path)
    assert str(err.value) == f"{path}: {key}: expected a whole number from {bounds}"


@pytest.mark.parametrize("value", ['"7:00"', "700", '"24:00"', '"07:60"', '"07:00 "', "[7]"])
def test_a_retry_window_that_is_not_a_time_of_day_is_refused(tmp_path, value):
    text = f"defaults:\n  stages:\n    - {{stage: a, days_after_due: 1, to: [stab]}}\ndelivery:\n  retry_until: {value}\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_ladder(path)
    assert str(err.value) == f'{path}: delivery.retry_until: expected a time of day such as "07:00" (in quotes)'


@pytest.mark.parametrize("text, where", [
    ("defaults:\n  stages:\n    - {stage: reminder, days_before_due: 14, to: [leder]}\n",
     "defaults.stages[0].to[0]: expected one of: barnevernsjef, avdelingsleder, teamleder, stab"),
    ("defaults:\n  stages:\n    - {stage: reminder, days_before_due: 14, days_after_due: 1, to: [stab]}\n",
     "defaults.stages[0]: give exactly one of days_before_due and days_after_due"),
    ("defaults:\n  stages:\n    - {stage: reminder, days_before_due: 3, to: [stab], repeat_every_days: 7}\n",
     "defaults.stages[0].repeat_every_days: only a stage after the due date can repeat"),
    ("defaults:\n  stages:\n    - {stage: breach, days_after_due: 0, to: [stab]}\n",
     "defaults.stages[0].days_after_due: expected a whole number from 1 to 3660"),
    ("defaults:\n  stages:\n    - {stage: breach, days_after_due: 1, to: [stab], colour: red}\n",
     "defaults.stages[0].colour: unknown key"),
    ("defaults:\n  stages:\n    - {stage: breach, days_after_due: 1, to: [stab], repeat_for_days: 28}\n",
     "defaults.stages[0].repeat_for_days: repeat_for_days needs repeat_every_days"),
    ("defaults:\n  stages:\n    - {stage: breach, days_after_due: 1, to: [stab], repeat_every_days: 7, "
     "repeat_for_days: 6}\n", "defaults.stages[0].repeat_for_days: expected at least repeat_every_days (7)"),
    ("defaults:\n  stages:\n    - {stage: a, days_after_due: 1, to: [stab]}\ncatch_up_days: -1\n",
     "catch_up_days: expected a whole number from 0 to 3660"),
    ("defaults:\n  stages: []\n", "defaults.stages: expected a list of stages"),
    ("defaults:\n  stages:\n    - {stage: a, days_after_due: 1, to: [stab]}\nrules:\n  no_such_rule:\n    stages: []\n",
     "rules.no_such_rule: unknown rule id"),
    ("defaults:\n  stages:\n    - {stage: a, days_after_due: 1, to: [stab]}\n  stages: []\n", "duplicate key 'stages'"),
])
def test_an_invalid_ladder_is_an_error_naming_the_file_and_the_field(tmp_path, rules, text, where):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_ladder(path, [r.id for r in rules])
    assert str(path) in str(err.value) and where in str(err.value)


def test_the_backoff_doubles_and_is_capped():
    delivery = Delivery(backoff_minutes=10, backoff_cap_minutes=60, max_attempts=5)
    assert [delivery.backoff(n) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_email_goes_out_on_working_days_unless_every_day_is_chosen(tmp_path, rules):
    shipped = load_ladder(CONFIG / "escalation.yaml", [r.id for r in rules]).delivery
    assert (shipped.lines_per_email, shipped.max_lines_per_email, shipped.working_days_only) == (50, 5000, True)
    assert [shipped.sends_on(dt.date(2025, 12, d)) for d in (24, 25, 26, 27, 28, 29)] == \
        [True, False, False, False, False, True]  # Christmas Day, Boxing Day, a weekend
    stage = "defaults:\n  stages:\n    - {stage: a, days_after_due: 1, to: [stab]}\n"
    every = load_ladder(write(tmp_path, stage + "delivery:\n  send_on: every_day\n")).delivery
    assert every.sends_on(dt.date(2025, 12, 25))
    path = write(tmp_path, stage + "delivery:\n  send_on: weekdays\n", "bad.yaml")
    with pytest.raises(ConfigError) as err:
        load_ladder(path)
    assert str(err.value) == f"{path}: delivery.send_on: expected one of: working_days, every_day"


def test_the_bundled_ladder_mails_the_visit_plan_on_the_first_and_the_worklist_on_mondays(rules):
    mails = load_ladder(CONFIG / "escalation.yaml", [r.id for r in rules]).unit_mails
    assert (mails.visit_plan, mails.visit_plan_day, mails.weekly_worklist, mails.weekly_weekday) == (True, 1, True, 0)


@pytest.mark.parametrize("day, plan, week", [
    (dt.date(2025, 12, 1), "2025-12", "2025-W49"),  # Monday the 1st: both
    (dt.date(2025, 12, 4), "2025-12", "2025-W49"),  # a later day of the month and week: still due (carried)
    (dt.date(2025, 12, 14), "2025-12", "2025-W50"),  # Sunday: the week's last day
    (dt.date(2025, 12, 29), "2025-12", "2026-W01"),  # ISO week 1 of 2026 starts in December
    (dt.date(2024, 2, 29), "2024-02", "2024-W09"),  # leap day
])
def test_a_unit_mail_is_due_from_its_day_to_the_end_of_its_month_or_week(day, plan, week):
    from frister.escalation.config import UnitMails

    mails = UnitMails(True, 1, True, 0)
    assert (mails.visit_plan_period(day), mails.weekly_period(day)) == (plan, week)
    later = UnitMails(True, 15, True, 3)  # the 15th; Thursdays
    assert later.visit_plan_period(dt.date(2025, 12, 14)) is None
    assert later.visit_plan_period(dt.date(2025, 12, 31)) == "2025-12"
    assert later.weekly_period(dt.date(2025, 12, 3)) is None  # Wednesday, before Thursday
    assert later.weekly_period(dt.date(2025, 12, 7)) == "2025-W49"


def test_without_unit_mails_no_kind_is_on_and_bad_values_name_the_field(tmp_path):
    base = "defaults:\n  stages:\n    - {stage: reminder, days_before_due: 14, to: [avdelingsleder]}\n"
    assert not load_ladder(write(tmp_path, base)).unit_mails.visit_plan
    assert not load_ladder(write(tmp_path, base)).unit_mails.weekly_worklist
    off = load_ladder(write(tmp_path, base + "unit_mails:\n  visit_plan: {enabled: false}\n")).unit_mails
    assert not off.visit_plan and not off.weekly_worklist
    bad = base + ("unit_mails:\n  visit_plan: {day_of_month: 31}\n  weekly_worklist: {weekday: mandag}\n"
                  "  monthly_report: {}\n")
    with pytest.raises(ConfigError) as err:
        load_ladder(write(tmp_path, bad))
    message = str(err.value)
    assert "unit_mails.visit_plan.day_of_month" in message and "unit_mails.weekly_worklist.weekday" in message
    assert "monthly_report" in message
