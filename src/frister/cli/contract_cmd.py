"""``frister contract schema``: the JSON Schema of one case record, for case-system vendors."""

from __future__ import annotations

import json

import click


def register(group: click.Group) -> None:
    group.add_command(contract)


@click.group()
def contract() -> None:
    """The import contract (one JSON object per line)."""


@contract.command()
def schema() -> None:
    """Print the JSON Schema of one case record (derived from the contract's models)."""
    from frister.facts.contract import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True))
