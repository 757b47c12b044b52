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


def _as_of(conn, as_of):
    from frister.reports.data import default_as_of

    return as_of or default_as_of(conn, today())


as_of_option = click.option("--as-of", type=DATE, default=None,
                            help="As-of date of the data (default: the latest evaluation run's, else today).")
output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                             help="Write to this file (default: standard output).")


@report.command()
@click.option("--from", "start", type=DATE, required=True, help="First due date (inclusive).")
@click.option("--to", "end", type=DATE, required=True, help="Last due date (inclusive).")
@click.option("--rule", "rule_ids", multiple=True, type=TEXT, help="Only this rule id (repeatable).")
@click.option("--unit", "units", multiple=True, type=TEXT, help="Only this unit (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "html"]), default="csv", show_default=True)
@as_of_option
@output_option
@pass_app
def audit(app: App, start, end, rule_ids, units, fmt, as_of, output) -> None:
    """Every deadline and visit period due in a date range (for the Statsforvalteren)."""
    from frister.reports.audit import build_audit, render_audit

    rules = app.rules()
    with app.ready_engine().connect() as conn:
        listing = build_audit(conn, rules, start, end, _as_of(conn, as_of), rule_ids, units)
    _emit(render_audit(listing, fmt, app.settings.templates_dir), output, binary=fmt == "xlsx")


def _month(value: str):
    import datetime as dt

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value or ""):
        raise click.BadParameter("expected a month YYYY-MM", param_hint="--month")
    return dt.date(int(value[:4]), int(value[5:]), 1)


@report.command()
@click.option("--month", "month_text", default=None, help="The month YYYY-MM (default: the as-of date's month).")
@click.option("--format", "fmt", type=click.Choice(["html"]), default="html", show_default=True)
@as_of_option
@output_option
@pass_app
def monthly(app: App, month_text, fmt, as_of, output) -> None:
    """The monthly report (månedsrapport) for internal control."""
    from frister.reports.monthly import monthly_html

    rules = app.rules()
    with app.ready_engine().connect() as conn:
        as_of = _as_of(conn, as_of)
        month = _month(month_text) if month_text is not None else as_of.replace(day=1)
        html = monthly_html(conn, rules, month, as_of, app.settings.templates_dir)
    _emit(html.encode("utf-8"), output)


@report.command("half-year")
@click.option("--period", "period_text", required=True, help="The half-year, e.g. 2025-H1.")
@click.option("--format", "fmt", type=click.Choice(["html"]), default="html", show_default=True)
@as_of_option
@output_option
@pass_app
def half_year(app: App, period_text, fmt, as_of, output) -> None:
    """The half-year reporting indicators (per unit and in total)."""
    from frister.calendar import parse_period_label
    from frister.reports.periodic import half_year_html

    try:
        period = parse_period_label(period_text)
    except ValueError:
        raise click.BadParameter("expected a half-year such as 2025-H1", param_hint="--period") from None
    if period.kind != "H":
        raise click.BadParameter("expected a half-year such as 2025-H1", param_hint="--period")
    rules = app.rules()
    with app.ready_engine().connect() as conn:
        html = half_year_html(conn, rules, period, _as_of(conn, as_of), app.settings.templates_dir)
    _emit(html.encode("utf-8"), output)


@report.command()
@click.option("--year", type=click.IntRange(1993, 2200), required=True, help="The last year of the report.")
@click.option("--years", type=click.IntRange(1, 15), default=5, show_default=True, help="How many years to show.")
@click.option("--format", "fmt", type=click.Choice(["html"]), default="html", show_default=True)
@as_of_option
@output_option
@pass_app
def annual(app: App, year, years, fmt, as_of, output) -> None:
    """Status-report (tilstandsrapport) tables and charts over several years."""
    from frister.reports.periodic import annual_html

    rules = app.rules()
    with app.ready_engine().connect() as conn:
        html = annual_html(conn, rules, year, years, _as_of(conn, as_of), app.settings.templates_dir)
    _emit(html.encode("utf-8"), output)
