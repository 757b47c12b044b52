"""``frister report``: audit listing, monthly report, half-year and annual figures.

Every report evaluates the stored cases as of one date, the as-of date of the data:
``--as-of``, else the as-of date of the latest evaluation run, else today (see
:mod:`frister.reports.data`). Output goes to ``--output`` (written whole or not at all,
mode 0600: :mod:`frister.reports.output`) or standard output.
"""

from __future__ import annotations

import os
import re
import sys

import click

from frister.cli.common import DATE, TEXT, App, pass_app, today


def register(group: click.Group) -> None:
    group.add_command(report)


@click.group()
def report() -> None:
    """Reports for the Statsforvalteren, the leaders and the council."""


def _emit(data: bytes, output: str | None, binary: bool = False) -> None:
    """Write a report to ``--output`` (whole, 0600, or not at all) or to standard output."""
    from frister.errors import OutputError
    from frister.reports.output import write_output

    if output:
        click.echo(f"wrote {write_output(output, data)}", err=True)
        return
    if binary and sys.stdout.isatty():
        raise click.UsageError("xlsx is binary: give --output FILE")
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # the reader stopped early (`| head`): a quiet exit (frister.cli.common)
    except OSError as exc:
        # What is still buffered would fail again when the interpreter exits: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise OutputError(f"standard output: cannot write: {exc.strerror or type(exc).__name__}") from None


def _write(app: App, report, fmt: str, output: str | None, kind: str | None = None) -> None:
    """Write ``report`` (a context, whose ``report`` entry names its kind, or ``kind``) as ``fmt``."""
    from frister.reports.formats import BINARY, render_report

    data = render_report(kind or report["report"], report, fmt, app.settings.templates_dir)
    _emit(data, output, binary=fmt in BINARY)


def _as_of(conn, as_of):
    from frister.reports.data import default_as_of

    return as_of or default_as_of(conn, today())


def _organisation(app: App):
    """The organisation file's organisation (unit tree, municipality names), or None without one."""
    from frister.organisation import organisation_of

    return organisation_of(app.settings)


def _check_number(ctx, param, value):
    if value is not None and not re.fullmatch(r"[0-9]{4}", value):
        raise click.BadParameter("expected a municipality number of four digits, e.g. 3316")
    return value


municipality_option = click.option("--municipality", type=TEXT, default=None, callback=_check_number,
                                   help="Only the cases of this municipality (kommunenummer), e.g. 3316.")
assessment_option = click.option("--assessment", type=click.Path(dir_okay=False, exists=True), default=None,
                                 help="The leader's assessment (a UTF-8 text file), printed in its section.")
formats_option = click.option("--format", "fmt", type=click.Choice(["html", "json", "xlsx"]), default="html",
                              show_default=True)
as_of_option = click.option("--as-of", type=DATE, default=None,
                            help="As-of date of the data (default: the latest evaluation run's, else today).")
from_option = click.option("--from", "start", type=DATE, default=None,
                           help="Any period instead: its first day (with --to).")
to_option = click.option("--to", "end", type=DATE, default=None, help="Any period instead: its last day (inclusive).")
output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                             help="Write to this file (default: standard output).")


@report.command()
@click.option("--from", "start", type=DATE, required=True, help="First day of the range (inclusive).")
@click.option("--to", "end", type=DATE, required=True, help="Last day of the range (inclusive).")
@click.option("--by", type=click.Choice(["due", "met", "start"]), default="due", show_default=True,
              help="Which date falls in the range: the due date, the day it was met (referrals reviewed, "
                   "investigations concluded) or the event that started it (referrals received).")
@click.option("--rule", "rule_ids", multiple=True, type=TEXT, help="Only this rule id (repeatable).")
@click.option("--unit", "units", multiple=True, type=TEXT, help="Only this unit (repeatable).")
@click.option("--status", "statuses", multiple=True, type=TEXT,
              help="Only rows of this status (repeatable): met, late, open, overdue, not_evaluated.")
@click.option("--sample", type=int, default=None, help="Only the rows of N cases per rule, drawn at random.")
@click.option("--seed", type=int, default=0, show_default=True, help="The seed the sample is drawn with.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "html"]), default="csv", show_default=True)
@municipality_option
@as_of_option
@output_option
@pass_app
def audit(app: App, start, end, by, rule_ids, units, statuses, sample, seed, fmt, municipality, as_of,
          output) -> None:
    """Every deadline and visit period of a date range (for the Statsforvalteren)."""
    from frister.reports.audit import build_audit

    rules = app.rules()
    organisation = _organisation(app)
    with app.ready_engine().connect() as conn:
        listing = build_audit(conn, rules, start, end, _as_of(conn, as_of), rule_ids, units,
                              municipality=municipality, organisation=organisation, by=by, statuses=statuses,
                              sample=sample, seed=seed)
    _write(app, listing, fmt, output, kind="audit")


@report.command()
@click.option("--month", "month_text", default=None, help="The month YYYY-MM (default: the as-of date's month).")
@from_option
@to_option
@formats_option
@municipality_option
@as_of_option
@output_option
@pass_app
def monthly(app: App, month_text, start, end, fmt, municipality, as_of, output) -> None:
    """The monthly report (månedsrapport) for internal control, of a month or any period."""
    from frister.reports import period
    from frister.reports.monthly import build_monthly_period

    given = month_text is not None or start or end
    chosen = period.choose(period.month(month_text) if month_text is not None else None, start, end,
                           "--month") if given else None
    rules = app.rules()
    organisation = _organisation(app)
    with app.ready_engine().connect() as conn:
        as_of = _as_of(conn, as_of)
        if chosen is None:  # neither --month nor --from/--to: the as-of date's month
            chosen = period.month(as_of.strftime("%Y-%m"))
        ctx = build_monthly_period(conn, rules, chosen, as_of, organisation, municipality)
    _write(app, ctx, fmt, output)


def _config(app: App):
    from frister.reports.periodic import figure_keys
    from frister.reports.targets import load_report_config

    return load_report_config(app.settings.report_config, figure_keys())


@report.command("half-year")
@click.option("--period", "period_text", default=None, help="The half-year, e.g. 2025-H1.")
@from_option
@to_option
@formats_option
@municipality_option
@assessment_option
@as_of_option
@output_option
@pass_app
def half_year(app: App, period_text, start, end, fmt, municipality, assessment, as_of, output) -> None:
    """The half-year report (or any period's): indicators, activity, per unit and municipality."""
    from frister.reports import period
    from frister.reports.periodic import build_period
    from frister.reports.targets import read_assessment

    chosen = period.choose(period.half_year(period_text) if period_text is not None else None, start, end,
                           "--period (e.g. 2025-H1)")
    rules = app.rules()
    organisation, config, text = _organisation(app), _config(app), read_assessment(assessment)
    with app.ready_engine().connect() as conn:
        ctx = build_period(conn, rules, chosen, _as_of(conn, as_of), organisation, municipality, config, text)
    _write(app, ctx, fmt, output)


@report.command()
@click.option("--year", type=click.IntRange(1993, 2200), default=None, help="The last year of the report.")
@click.option("--years", type=click.IntRange(1, 15), default=None, help="How many years to show (default 5).")
@from_option
@to_option
@formats_option
@municipality_option
@assessment_option
@as_of_option
@output_option
@pass_app
def annual(app: App, year, years, start, end, fmt, municipality, assessment, as_of, output) -> None:
    """Status-report (tilstandsrapport) tables and charts, one column per calendar year."""
    from frister.reports import period
    from frister.reports.periodic import build_annual_period
    from frister.reports.targets import read_assessment

    if years is not None and year is None:
        raise click.UsageError("--years goes with --year")
    chosen = period.choose(period.years(year, years or 5) if year is not None else None, start, end, "--year")
    rules = app.rules()
    organisation, config, text = _organisation(app), _config(app), read_assessment(assessment)
    with app.ready_engine().connect() as conn:
        ctx = build_annual_period(conn, rules, chosen, _as_of(conn, as_of), organisation, municipality, config,
                                  text)
    _write(app, ctx, fmt, output)
