"""``frister demo``: the whole main job on a synthetic municipality."""

from __future__ import annotations

from pathlib import Path

import click

from frister.cli.common import DATE, App, pass_app, today


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Evaluate as of this date (default: today).")
@click.option("--cases", default=2000, show_default=True, help="Number of synthetic cases.")
@click.option("--seed", default=2025, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Where the generated case file is written.")
@click.option("--source", type=click.Choice(["jsonl", "register-xml"]), default="jsonl", show_default=True,
              help="The path in: frister's own JSON Lines, or the national register's XML (one document per case).")
@pass_app
def demo(app: App, as_of, cases: int, seed: int, out_dir: str, source: str) -> None:
    """Migrate, generate a synthetic municipality, import it, evaluate and summarise."""
    from frister.db.engine import migrate
    from frister.demo.generate import generate_cases, header, write_jsonl
    from frister.demo.summary import print_summary, print_units
    from frister.evaluation.service import run_evaluation
    from frister.importer import import_file
    from frister.nightly import demo_step
    from frister.organisation import organisation_of
    from frister.reports import write_monthly
    from frister.reports.periodic import write_annual

    as_of = as_of or today()
    rules = app.rules()
    migrate(app.engine, app.settings.migrations_dir)
    if source == "register-xml":
        _register_xml(app, Path(out_dir) / "register", as_of, cases, seed)
    else:
        path = Path(out_dir) / "municipality.jsonl"
        n = write_jsonl(path, generate_cases(as_of, seed=seed, cases=cases), header=header(as_of))
        click.echo(f"generated {n} cases in {path}")
        stats = import_file(app.engine, path, as_of=as_of)
        click.echo(stats.summary())
    summary = run_evaluation(app.engine, rules, as_of)
    click.echo(f"run {summary.run_id}: {summary.line()}\n")
    organisation = organisation_of(app.settings, example=True)
    with app.engine.connect() as conn:
        print_summary(conn, rules, as_of)
        click.echo("")
        print_units(conn, rules, as_of, organisation)
    click.echo(f"\nA unit's worklist: frister worklist --unit {next(iter(organisation.units))} "
               "(organisation: config/organisation.example.yaml)")
    click.echo("\nTonight's escalation (console transport, example organisation):")
    demo_step(app.engine, rules, as_of, settings=app.settings)
    report = write_monthly(app.engine, rules, as_of.replace(day=1),
                           Path(out_dir) / f"maanedsrapport-{as_of:%Y-%m}.html",
                           as_of=as_of, templates_dir=app.settings.templates_dir,
                           organisation=organisation_of(app.settings, example=True))
    click.echo(f"\nmonthly report (månedsrapport): {report}")
    annual = write_annual(app.engine, rules, as_of, Path(out_dir) / f"tilstandsrapport-{as_of.year}.html",
                          app.settings.templates_dir, organisation_of(app.settings, example=True))
    click.echo(f"annual report (tilstandsrapport): {annual}")
    _web_logins(app, organisation)


def _register_xml(app: App, folder: Path, as_of, cases: int, seed: int) -> None:
    """The register's path: one generated Barnevern document per case, imported as a folder."""
    import uuid
    from datetime import datetime, time, timezone

    from frister.demo.register_xml import generate_cases, to_xml
    from frister.importer.register import import_register

    folder.mkdir(parents=True, exist_ok=True)
    night = datetime.combine(as_of, time(22), tzinfo=timezone.utc)
    made = generate_cases(cases, as_of, seed=seed)
    for i, case in enumerate(made):
        text = to_xml(case, night, str(uuid.UUID(int=seed * 10**9 + i, version=4)))
        (folder / f"{case.journalnummer}.xml").write_text(text, encoding="utf-8")
    click.echo(f"generated {len(made)} register documents (Barnevern XSD 4.0.1) in {folder}/")
    stats = import_register(app.engine, folder, as_of=as_of, schema=app.settings.register_xsd)
    click.echo(stats.summary(shown=0))


def _web_logins(app: App, organisation) -> None:
    """Demo accounts for the web pages: the example organisation's leaders and an
    operator, all with one password made now (printed once, never stored in clear)."""
    import secrets

    from frister.evaluation.service import utcnow
    from frister.web.accounts import add_user
    from frister.web.access import LEADERS

    password = secrets.token_urlsafe(12)
    with app.engine.begin() as conn:
        for leader in organisation.leaders:
            if leader.role in LEADERS:
                add_user(conn, leader.email, leader.role, leader.units, password=password, now=utcnow())
        add_user(conn, "drift@barnevern.kommune.example", "operator", password=password, now=utcnow())
    click.echo("\nweb pages: frister web --example-organisation, then open http://localhost:8080/")
    click.echo(f"  log in as {organisation.barnevernsjef} with password {password}")
    click.echo("  (the same password for leder.undersokelse@…, leder.us1@… and drift@barnevern.kommune.example)")
