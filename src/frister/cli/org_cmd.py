"""``frister org``: the organisation file (municipalities, unit tree, leaders) and the data."""

from __future__ import annotations

import sys

import click

from frister.cli.common import App, pass_app


def register(group: click.Group) -> None:
    group.add_command(org)


@click.group()
def org() -> None:
    """The organisation file: FRISTER_ORGANISATION_CONFIG, else organisation.yaml in the config directory."""


@org.command("check")
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None,
              help="Check this file instead of the configured one.")
@pass_app
def check(app: App, path) -> None:
    """Validate the organisation file and compare it with the units, caseworkers and
    municipalities of the imported data. Exits 1 when the data holds a unit or a
    municipality the file does not know."""
    from pathlib import Path

    from frister.errors import ConfigError
    from frister.organisation import compare, load_organisation
    from frister.store.facts import holdings

    file = Path(path) if path else app.settings.organisation_file
    if file is None:
        raise ConfigError(f"{app.settings.config_dir / 'organisation.yaml'}: no organisation file "
                          "(copy organisation.example.yaml, or set FRISTER_ORGANISATION_CONFIG)")
    organisation = load_organisation(file)
    with app.ready_engine().connect() as conn:
        held = holdings(conn)
    findings = compare(organisation, held.units, held.municipalities)
    click.echo(f"{file}: {len(organisation.units)} unit(s), {len(organisation.leaders)} leader(s), "
               f"{len(organisation.municipalities)} municipality(ies); the data: {len(held.units)} unit(s), "
               f"{sum(held.municipalities.values())} case(s)")
    for unit in organisation.tree(held.units):
        steps = held.units.get(unit.code, {})
        caseworkers = len([k for k in steps if k])
        leaders = ", ".join(f"{leader.role} {leader.email}" for leader in organisation.leaders_of(unit.code))
        click.echo(f"  {'  ' * unit.depth}{unit.code} ({unit.name}): {sum(steps.values())} held, "
                   f"{caseworkers} caseworker(s)" + (f"; {leaders}" if leaders else ""))
    for finding in findings:
        click.echo(f"{'problem' if finding.problem else 'note'}: {finding.text}")
    if any(f.problem for f in findings):
        sys.exit(1)
