"""The escalation ladder and the recipients directory, loaded strictly from YAML.

Ladder (``config/escalation.yaml``)::

    defaults:
      stages:
        - {stage: reminder, days_before_due: 14, to: [avdelingsleder]}
        - {stage: warning, days_before_due: 3, to: [avdelingsleder, barnevernsjef]}
        - {stage: breach, days_after_due: 1, to: [barnevernsjef], repeat_every_days: 7,
           repeat_for_days: 84}
    rules:
      emergency_petition:
        stages: [...]          # replaces the default stages for this rule
    delivery:
      backoff_minutes: 10      # first retry after a transient failure
      backoff_cap_minutes: 360 # never wait longer than this (keep below the run interval)
      max_attempts: 10         # then the notice is dead
      lines_per_email: 50      # lines listed in an e-mail, the most urgent first; the rest counted
      max_lines_per_email: 5000 # notices one e-mail accounts for; more go out in parts ("del 2 av 7")
      retry_until: "07:00"     # retry within the night until then (Europe/Oslo, the as-of day)
      send_on: working_days    # or every_day; no e-mail on Saturdays, Sundays, Norwegian holidays
    catch_up_days: 31          # how far back a run catches up with notices it missed
    unit_mails:                # periodic e-mails to each unit's leader (absent: none)
      visit_plan: {enabled: true, day_of_month: 1}      # monthly: visits still missing
      weekly_worklist: {enabled: true, weekday: monday} # weekly: the unit's worklist

A unit mail is due on its day (the ``day_of_month`` of each month, the ``weekday`` of
each ISO week) and on every later night of the same month or week until it has been
created, so that a day without e-mail (``send_on``) carries it to the next working night
and never loses it; it is created once per kind, unit, recipient and month or week.

A stage with ``without_reason: true`` is created only while no reason is recorded for
the deadline (``frister breach explain``), and a waiting one is cancelled once one is: e.g.
the barnevernsjef again when a breach has stayed without a reason for 14 days.

A stage *before* the due date (``days_before_due``, 0 = on the due date) concerns an
obligation that is still ``open``; a stage *after* it (``days_after_due`` ≥ 1) one that
is ``overdue``. Only the latter may repeat: every ``repeat_every_days``, and with
``repeat_for_days`` no later than that many days after the stage's first day (without
it, for as long as the obligation stays overdue). ``catch_up_days`` bounds how old a notice
a run still creates for an obligation that has not changed since the last night (see
:mod:`frister.escalation.derive`); a bounded ladder lets a night read only the
obligations that changed or can get a notice, not every breach ever recorded.

``send_on`` (``working_days``, the default, or ``every_day``): on a Saturday, a Sunday or
a Norwegian public holiday (:func:`frister.calendar.is_working_day`) the night evaluates
but creates and sends no notice; the next working night creates every notice that fell
due in between (the latest repeat of a repeating stage; a stage the deadline has moved
past gives way to the next), so nothing is lost, only carried.

``retry_until`` (optional, ``"HH:MM"``) opens the night's retry window: a notice that
failed for now is tried again within the same run, each time its backoff ends, until
that time of the run's as-of day in Europe/Oslo. Without it, or for a run started after
that time (a rerun during the day), a failed notice waits for a later run. The window
never reaches the next night: it ends on the day the night is for.

The ladder sends to roles (:data:`frister.organisation.ROLES`); who holds them for a
unit is in the organisation file (:mod:`frister.organisation`). Every problem is a :class:`~frister.errors.ConfigError` naming the
file and the field (``defaults.stages[1].days_before_due``); all problems of a file are
reported together.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from frister.calendar import is_working_day
from frister.errors import ConfigError, RuleError
from frister.organisation import ROLES
from frister.rules.loader import _Node, read_yaml

CATCH_UP_DAYS = 31
SEND_ON = ("working_days", "every_day")
STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Upper bounds, refused when the file is loaded: a number of days or minutes beyond them
# means nothing for a deadline's notices, and added to a date it would overflow the night.
MAX_DAYS = 3660  # ten years
MAX_MINUTES = 10_080  # a week
MAX_ATTEMPTS = 1_000
MAX_LINES = 100_000


@dataclass(frozen=True, slots=True)
class Stage:
    """One rung of the ladder. ``offset`` is in days relative to the due date
    (negative: before; positive: after)."""

    name: str
    offset: int
    to: tuple[str, ...]
    repeat_every: int | None = None
    repeat_for: int | None = None  # days after the stage's first day that repeats may still fall on
    without_reason: bool = False  # only while no reason is recorded for the deadline

    @property
    def after_due(self) -> bool:
        return self.offset > 0

    @property
    def last_repeat(self) -> int | None:
        """The highest repeat number (0 without repeats), or None when repeats never end."""
        if not self.repeat_every:
            return 0
        return None if self.repeat_for is None else self.repeat_for // self.repeat_every

    @property
    def span(self) -> int | None:
        """Days from the due date to this stage's last notice (negative before the due
        date), or None when repeats never end."""
        last = self.last_repeat
        return None if last is None else self.offset + last * (self.repeat_every or 0)

    def concerns(self, status: str) -> bool:
        """Whether an obligation in ``status`` can get this stage's notice."""
        return status == ("overdue" if self.after_due else "open")


@dataclass(frozen=True, slots=True)
class Delivery:
    backoff_minutes: int = 10
    backoff_cap_minutes: int = 360
    max_attempts: int = 10
    max_lines_per_email: int = 5000
    retry_until: dt.time | None = None  # the end of the night's retry window (Europe/Oslo)
    lines_per_email: int = 50  # lines listed in one e-mail; the others are in its counts
    working_days_only: bool = True  # send_on: working_days (no e-mail on weekends and holidays)

    def sends_on(self, day: dt.date) -> bool:
        """Whether notices are created and sent on ``day``."""
        return not self.working_days_only or is_working_day(day)

    def backoff(self, attempts: int) -> int:
        """Minutes to wait after the ``attempts``-th failed attempt (1, 2, …): doubling, capped."""
        return min(self.backoff_minutes * 2 ** max(attempts - 1, 0), self.backoff_cap_minutes)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class UnitMails:
    """Which periodic unit-leader e-mails are on, and on which day (``unit_mails:``)."""

    visit_plan: bool = False
    visit_plan_day: int = 1  # day of the month (1–28: every month has it)
    weekly_worklist: bool = False
    weekly_weekday: int = 0  # Monday = 0 (datetime.date.weekday)

    def visit_plan_period(self, day: dt.date) -> str | None:
        """The month (``YYYY-MM``) whose visit plan is due on ``day``, or None: due from
        the configured day of the month to its end."""
        return f"{day:%Y-%m}" if self.visit_plan and day.day >= self.visit_plan_day else None

    def weekly_period(self, day: dt.date) -> str | None:
        """The ISO week (``YYYY-Www``) whose worklist e-mail is due on ``day``, or None:
        due from the configured weekday to the week's Sunday."""
        if not self.weekly_worklist or day.weekday() < self.weekly_weekday:
            return None
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Ladder:
    default: tuple[Stage, ...]
    overrides: Mapping[str, tuple[Stage, ...]] = field(default_factory=dict)
    delivery: Delivery = Delivery()
    source: str = ""
    catch_up_days: int = CATCH_UP_DAYS
    unit_mails: UnitMails = UnitMails()

    def stages_for(self, rule: str) -> tuple[Stage, ...]:
        return self.overrides.get(rule, self.default)

    def stage(self, rule: str, name: str) -> Stage | None:
        """The stage ``name`` of ``rule``'s ladder, or None (no longer in the ladder)."""
        return next((s for s in self.stages_for(rule) if s.name == name), None)

    @property
    def all_stages(self) -> Iterator[Stage]:
        """Every stage of the ladder: the defaults, then each rule's own."""
        for stages in (self.default, *self.overrides.values()):
            yield from stages

    @property
    def max_lead_days(self) -> int:
        """How many days before its due date an obligation can first get a notice."""
        offsets = [s.offset for s in self.all_stages]
        return max([0, *(-o for o in offsets)])

    @property
    def lookback_days(self) -> int | None:
        """How long after its due date an obligation that has not changed since the last
        night can still get a notice: the latest last notice of any stage, plus the
        catch-up. None when some stage repeats without end."""
        spans = [s.span for s in self.all_stages]
        if any(span is None for span in spans):
            return None
        return max([0, *spans]) + self.catch_up_days

    def is_last_repeat(self, rule: str, stage: str, due_on: dt.date, fire_on: dt.date) -> bool:
        """Whether a notice (of ``rule``'s ``stage`` for a deadline due on ``due_on``,
        due itself on ``fire_on``) is the last of a stage whose repeats end: the next
        one would fall after them. A stage without repeats, or no longer in the
        ladder, has none."""
        found = self.stage(rule, stage)
        if not (found and found.repeat_every and found.repeat_for is not None):
            return False
        end = due_on + dt.timedelta(days=found.offset + found.repeat_for)
        return fire_on + dt.timedelta(days=found.repeat_every) > end

    def urgency(self, stage: str) -> int:
        """Sort key, most urgent first: later stages (larger offset) come first; unknown last."""
        offsets = {s.name: s.offset for s in self.all_stages}
        return -offsets.get(stage, -10_000)

    @property
    def roles(self) -> set[str]:
        return {r for s in self.all_stages for r in s.to}


def _raise(errors: list[RuleError]) -> None:
    if errors:
        raise ConfigError("\n".join(str(e) for e in errors))


def _read(path: Path) -> object:
    try:
        return read_yaml(Path(path), str(path))
    except RuleError as exc:
        raise ConfigError(str(exc)) from None


def _stages(node: _Node, known_roles: tuple[str, ...]) -> tuple[Stage, ...]:
    if not isinstance(node.value, list) or not node.value:
        node.error("expected a list of stages")
        return ()
    out: list[Stage] = []
    names: set[str] = set()
    for i, raw in enumerate(node.value):
        s = _Node(node.file, f"{node.path}[{i}]", raw, node.errors)
        keys = {"stage", "days_before_due", "days_after_due", "to", "repeat_every_days", "repeat_for_days",
                "without_reason"}
        if not s.mapping(keys, {"stage", "to"}):
            continue
        name = s.child("stage").text()
        if name is not None and not STAGE_NAME.match(name):
            s.error("expected a lower-case name (a-z, 0-9, _)", "stage")
            name = None
        if name in names:
            s.error("duplicate stage name in this ladder", "stage")
        names.add(name or "")
        before, after = raw.get("days_before_due"), raw.get("days_after_due")
        offset = None
        if (before is None) == (after is None):
            s.error("give exactly one of days_before_due and days_after_due")
        elif before is not None:
            b = s.child("days_before_due").integer(0, maximum=MAX_DAYS)
            offset = -b if b is not None else None
        else:
            offset = s.child("days_after_due").integer(1, maximum=MAX_DAYS)
        to_node = s.child("to")
        to: list[str] = []
        if not isinstance(to_node.value, list) or not to_node.value:
            to_node.error(f"expected a list of roles ({', '.join(known_roles)})")
        else:
            for j, role in enumerate(to_node.value):
                r = _Node(s.file, f"{to_node.path}[{j}]", role, s.errors).choice(known_roles)
                if r is not None and r not in to:
                    to.append(r)
        repeat = s.child("repeat_every_days").integer(1, required=False, maximum=MAX_DAYS)
        if repeat is not None and offset is not None and offset <= 0:
            s.error("only a stage after the due date can repeat", "repeat_every_days")
        repeat_for = s.child("repeat_for_days").integer(1, required=False, maximum=MAX_DAYS)
        if repeat_for is not None and repeat is None:
            s.error("repeat_for_days needs repeat_every_days", "repeat_for_days")
        elif repeat_for is not None and repeat is not None and repeat_for < repeat:
            s.error(f"expected at least repeat_every_days ({repeat})", "repeat_for_days")
        without_reason = s.child("without_reason").boolean(False)
        if name and offset is not None and to:
            out.append(Stage(name, offset, tuple(to), repeat, repeat_for, without_reason))
    return tuple(sorted(out, key=lambda st: st.offset))


def _time_of_day(node: _Node) -> dt.time | None:
    """``"HH:MM"`` (24-hour clock) or absent."""
    if node.value is None:
        return None
    text = node.value if isinstance(node.value, str) else ""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        node.error("expected a time of day such as \"07:00\" (in quotes)")
        return None
    return dt.time(int(text[:2]), int(text[3:]))


def load_ladder(path: Path | str, rule_ids: Iterable[str] | None = None) -> Ladder:
    """Load the escalation ladder. ``rule_ids`` (the loaded rules) makes an override
    of an unknown rule an error."""
    path = Path(path)
    display = str(path)
    doc = _read(path)
    errors: list[RuleError] = []
    root = _Node(display, "", doc, errors)
    if not root.mapping({"defaults", "rules", "delivery", "catch_up_days", "unit_mails"}, {"defaults"}):
        _raise(errors)
    defaults = root.child("defaults")
    default: tuple[Stage, ...] = ()
    if defaults.mapping({"stages"}, {"stages"}):
        default = _stages(defaults.child("stages"), ROLES)
    overrides: dict[str, tuple[Stage, ...]] = {}
    rules = root.child("rules")
    known = set(rule_ids) if rule_ids is not None else None
    if rules.value is not None and not isinstance(rules.value, dict):
        rules.error("expected a mapping of rule id to stages")
    elif rules.value is not None:
        for rule_id in rules.value:
            node = rules.child(str(rule_id))
            if known is not None and rule_id not in known:
                node.error("unknown rule id")
                continue
            if node.mapping({"stages"}, {"stages"}):
                overrides[str(rule_id)] = _stages(node.child("stages"), ROLES)
    delivery = Delivery()
    d = root.child("delivery")
    if d.value is not None and d.mapping({"backoff_minutes", "backoff_cap_minutes", "max_attempts",
                                          "max_lines_per_email", "retry_until", "lines_per_email", "send_on"}):
        delivery = Delivery(
            d.child("backoff_minutes").integer(1, False, MAX_MINUTES) or delivery.backoff_minutes,
            d.child("backoff_cap_minutes").integer(1, False, MAX_MINUTES) or delivery.backoff_cap_minutes,
            d.child("max_attempts").integer(1, False, MAX_ATTEMPTS) or delivery.max_attempts,
            d.child("max_lines_per_email").integer(1, False, MAX_LINES) or delivery.max_lines_per_email,
            _time_of_day(d.child("retry_until")),
            d.child("lines_per_email").integer(1, False, MAX_LINES) or delivery.lines_per_email,
            d.child("send_on").choice(SEND_ON, required=False) != "every_day",
        )
    catch_up = root.child("catch_up_days").integer(0, required=False, maximum=MAX_DAYS)
    unit_mails = _unit_mails(root.child("unit_mails"))
    _raise(errors)
    return Ladder(default, overrides, delivery, display, CATCH_UP_DAYS if catch_up is None else catch_up,
                  unit_mails)


def _unit_mails(node: _Node) -> UnitMails:
    """``unit_mails:`` (optional): ``visit_plan: {enabled, day_of_month}`` and
    ``weekly_worklist: {enabled, weekday}``; a kind not given is off."""
    if node.value is None or not node.mapping({"visit_plan", "weekly_worklist"}):
        return UnitMails()
    out = UnitMails()
    visits = node.child("visit_plan")
    if visits.value is not None and visits.mapping({"enabled", "day_of_month"}):
        day = visits.child("day_of_month").integer(1, required=False, maximum=28)
        out = UnitMails(visits.child("enabled").boolean(True), day or 1)
    weekly = node.child("weekly_worklist")
    if weekly.value is not None and weekly.mapping({"enabled", "weekday"}):
        weekday = weekly.child("weekday").choice(WEEKDAYS, required=False)
        out = UnitMails(out.visit_plan, out.visit_plan_day, weekly.child("enabled").boolean(True),
                        WEEKDAYS.index(weekday) if weekday else 0)
    return out
