"""``frister worklist`` and ``frister caseload``: what a unit's leader goes through each
week, and how many cases and deadlines each caseworker holds."""

from __future__ import annotations

import json

import click

from frister.cli.common import DATE, TEXT, App, pass_app, print_table, today

FORMATS = click.Choice(["text", "csv", "json"])


def register(group: click.Group) -> None:
    group.add_command(worklist)
    group.add_command(caseload)


def _unit_known(conn, organisation, unit: str | None, caseworker: str | None) -> None:
    """An unknown unit or caseworker is an error, not an empty list."""
    from frister.store.facts import holders

    units, caseworkers = holders(conn)
    if organisation is not None:
        units |= set(organisation.units)
    if unit is not None and unit not in units:
        raise click.BadParameter("not a unit of the data or the organisation file", param_hint="--unit")
    if caseworker is not None and caseworker not in caseworkers:
        raise click.BadParameter("not a caseworker of the data", param_hint="--caseworker")


@click.command()
@click.option("--unit", type=TEXT, default=None, help="The unit (with the units below it); default: the whole service.")
@click.option("--caseworker", type=TEXT, default=None, help="Only this caseworker's lines.")
@click.option("--weeks", type=click.IntRange(1, 52), default=4, show_default=True,
              help="List the open deadlines due within this many weeks.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write to this file (0600).")
@pass_app
def worklist(app: App, unit, caseworker, weeks, fmt, output) -> None:
    """Per caseworker: the overdue deadlines, the open ones due within --weeks, and the
    visit periods now running that still lack visits (how many, the last visit), sorted
    by due date — as of the latest evaluation (the night's run)."""
    from frister.cli.report_cmd import _emit
    from frister.organisation import organisation_of
    from frister.worklist import worklist as make

    organisation = organisation_of(app.settings)
    with app.ready_engine().connect() as conn:
        _unit_known(conn, organisation, unit, caseworker)
        made = make(conn, app.rules(), unit, caseworker, weeks, organisation)
    if fmt == "json":
        data = {"as_of": made.as_of.isoformat(), "run_id": made.run_id, "units": list(made.units), "weeks": weeks,
                "missed_visit_periods": made.missed_visit_periods, "lines": [line.to_json() for line in made.lines]}
        _emit((json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), output)
    elif fmt == "csv":
        _emit(_worklist_csv(made), output)
    else:
        _worklist_text(made, unit, organisation)


CSV_HEADER = ("Del", "Saksbehandler", "Enhet", "Sak", "Frist", "Plikt", "Gjelder", "Periode", "Frist dato",
              "Frist måned", "Dager over", "Dager igjen", "Besøk krevd", "Besøk gjort", "Besøk mangler",
              "Siste besøk")
SECTION_LABELS = {"overdue": "Over fristen", "due": "Forfaller snart", "visits": "Besøk som mangler"}
DUTY_LABELS = {"law": "lovkrav", "guidance": "retningslinje", "local": "lokal rutine"}


def _worklist_csv(made) -> bytes:
    from frister.reports.tabular import to_csv

    rows = [CSV_HEADER] + [
        (SECTION_LABELS[line.section], line.caseworker, line.unit, line.case_id, line.title,
         DUTY_LABELS.get(line.duty, line.duty), line.subject, line.period, line.due_on, line.due_month,
         line.days_late, line.days_left, line.required, line.done, line.missing, line.last_visit_on)
        for line in made.lines]
    info = [("Arbeidsliste per", made.as_of), ("Frister som forfaller innen uker", made.weeks),
            ("Besøksperioder som er over og ikke oppfylt (ikke listet)", made.missed_visit_periods)]
    return to_csv([info, rows])


def _worklist_text(made, unit, organisation) -> None:
    where = (organisation.name(unit) if organisation else unit) if unit else "the whole service"
    click.echo(f"worklist of {where} as of {made.as_of.isoformat()} (evaluation run {made.run_id}): "
               f"{made.count('overdue')} overdue, {made.count('due')} due within {made.weeks} weeks, "
               f"{made.count('visits')} visit period(s) short of visits")
    for caseworker, lines in made.by_caseworker():
        rows = []
        for line in lines:
            due = line.due_on.isoformat() if line.due_on else line.due_month
            when = (f"{line.days_late} days late" if line.days_late is not None else "late") \
                if line.section == "overdue" else (f"in {line.days_left} days" if line.days_left is not None
                                                   else "this month") if line.section == "due" \
                else f"{line.missing} missing, last {line.last_visit_on or 'none'}"
            duty = "" if line.duty == "law" else f" ({DUTY_LABELS[line.duty]})"
            rows.append((line.section, line.case_id, line.rule + duty, line.subject, line.period or "", line.unit,
                         due, when))
        print_table(f"caseworker {caseworker or '(none)'}", ["section", "case", "rule", "subject", "period", "unit",
                                                              "due", ""], rows)
    if made.missed_visit_periods:
        click.echo(f"{made.missed_visit_periods} visit period(s) already over and missed are not listed "
                   "(frister breach list)")


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Count as of this day (default: the latest evaluation's, else today).")
@click.option("--unit", type=TEXT, default=None, help="Only this unit and the units below it.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write to this file (0600).")
@pass_app
def caseload(app: App, as_of, unit, fmt, output) -> None:
    """Active cases and open deadlines per caseworker and unit on a date, and active
    cases at the end of each of the last 12 months. A case is active when one of its
    subjects is open (a referral not yet reviewed, an investigation, a measure or a
    placement not ended, a care order before the child is 18)."""
    from frister.caseload import caseload as count
    from frister.cli.report_cmd import _emit
    from frister.organisation import organisation_of, units_in_tree_order
    from frister.reports.data import default_as_of

    organisation = organisation_of(app.settings)
    with app.ready_engine().connect() as conn:
        _unit_known(conn, organisation, unit, None)
        as_of = as_of or default_as_of(conn, today())
        made = count(conn, app.rules(), as_of, organisation)
    seen = {u for u, _ in made.active} | {u for u, _ in made.open_deadlines}
    tree = list(units_in_tree_order(organisation, seen))
    if unit is not None:
        keep = set(organisation.below(unit)) if organisation else {unit}
        tree = [u for u in tree if u.code in keep]
    units = [(u, organisation.below(u.code) if organisation else [u.code]) for u in tree]
    if fmt == "json":
        data = {"as_of": as_of.isoformat(), "months": [d.isoformat() for d in made.days],
                "service": {"active": made.total,
                            "open_deadlines": sum(made.open_deadlines.values()),
                            "overdue": sum(made.overdue.values())},
                "units": [{"unit": u.code, "name": u.name, "parent": u.parent,
                           "active": made.unit_active.get(u.code, [0] * len(made.days)),
                           "open_deadlines": made.unit_deadlines(below),
                           "overdue": made.unit_deadlines(below, "overdue")} for u, below in units],
                "caseworkers": [{"unit": k[0], "caseworker": k[1] or None,
                                 "active": made.active.get(k, [0] * len(made.days)),
                                 "open_deadlines": made.open_deadlines.get(k, 0), "overdue": made.overdue.get(k, 0)}
                                for k in made.caseworkers([u.code for u, _ in units])]}
        _emit((json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), output)
        return
    if fmt == "csv":
        from frister.reports.tabular import to_csv

        months = [d.isoformat() for d in made.days]
        unit_rows = [("Enhet", "Navn", "Aktive saker", "Åpne frister", "Over fristen", *months)] + [
            (u.code, u.name, made.unit_active.get(u.code, [0])[-1], made.unit_deadlines(below),
             made.unit_deadlines(below, "overdue"), *made.unit_active.get(u.code, [0] * len(months)))
            for u, below in units]
        worker_rows = [("Enhet", "Saksbehandler", "Aktive saker", "Åpne frister", "Over fristen", *months)] + [
            (k[0], k[1], made.active.get(k, [0])[-1], made.open_deadlines.get(k, 0), made.overdue.get(k, 0),
             *made.active.get(k, [0] * len(months))) for k in made.caseworkers([u.code for u, _ in units])]
        _emit(to_csv([[("Saksmengde per", as_of)], unit_rows, worker_rows]), output)
        return
    click.echo(f"caseload as of {as_of.isoformat()}: {made.total[-1]} active case(s) in the service, "
               f"{sum(made.open_deadlines.values())} open deadline(s), {sum(made.overdue.values())} overdue")
    print_table("per unit", ["unit", "name", "active", "deadlines", "overdue", "caseworkers", "per caseworker"], [
        ("  " * u.depth + u.code, u.name, made.unit_active.get(u.code, [0])[-1], made.unit_deadlines(below),
         made.unit_deadlines(below, "overdue"), n := len([k for k in made.caseworkers(below) if k[1]]),
         f"{made.unit_active.get(u.code, [0])[-1] / n:.1f}" if n else "")
        for u, below in units])
    print_table("per caseworker", ["unit", "caseworker", "active", "deadlines", "overdue"], [
        (k[0], k[1] or "(none)", made.active.get(k, [0])[-1], made.open_deadlines.get(k, 0), made.overdue.get(k, 0))
        for k in made.caseworkers([u.code for u, _ in units])])
    print_table("active cases at each month's end", ["unit", *[d.strftime("%Y-%m") for d in made.days]], [
        ("service", *made.total), *((u.code, *made.unit_active.get(u.code, [0] * len(made.days))) for u, _ in units)])
