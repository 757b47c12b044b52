"""``frister rules``: check, list and test the rule files."""

from __future__ import annotations

import sys

import click

from frister.cli.common import App, pass_app


def register(group: click.Group) -> None:
    group.add_command(rules)


_dir_option = click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
                           help="Rules directory (default: FRISTER_RULES_DIR or the bundled rules/).")


@click.group()
def rules() -> None:
    """The rules directory: one statutory deadline or visit frequency per YAML file."""


@rules.command()
@_dir_option
@pass_app
def check(app: App, directory) -> None:
    """Validate every rule file and legal example; list every problem."""
    from frister.rules.examples import load_examples

    rule_set = app.rules(directory)
    examples = load_examples(directory or app.settings.rules_dir, rule_set)
    click.echo(f"{len(rule_set)} rules and {len(examples)} examples are valid (fingerprint {rule_set.fingerprint})")


@rules.command("list")
@_dir_option
@pass_app
def list_(app: App, directory) -> None:
    """Show every rule with its legal basis per version and its confidence."""
    from rich.console import Console
    from rich.table import Table

    from frister.rules.model import CONFIDENCE_LABELS

    rule_set = app.rules(directory)
    table = Table(title=f"frister rules ({len(rule_set)}), fingerprint {rule_set.fingerprint}", show_lines=True)
    for col in ("rule", "title", "kind", "version", "valid", "basis", "conf"):
        table.add_column(col)
    for rule in rule_set:
        for i, v in enumerate(rule.versions):
            valid = f"{v.valid_from.isoformat()} – {v.valid_to.isoformat() if v.valid_to else ''}"
            title = rule.title + ("" if rule.statutory else " (ikke lovpålagt)")
            table.add_row(rule.id if i == 0 else "", title if i == 0 else "", rule.kind if i == 0 else "",
                          v.name, valid, v.basis, f"{v.confidence}")
    console = Console(width=200)
    console.print(table)
    console.print("Confidence: " + "; ".join(f"{k} = {v}" for k, v in CONFIDENCE_LABELS.items()))


@rules.command("test")
@_dir_option
@click.option("-k", "match", default=None, help="Only examples whose rule or name contains this text.")
@pass_app
def test(app: App, directory, match) -> None:
    """Run the legal examples (rules/**/tests/*.yaml); a failure shows a diff."""
    from frister.rules.examples import load_examples, run_example

    rule_set = app.rules(directory)
    examples = load_examples(directory or app.settings.rules_dir, rule_set)
    if match:
        examples = [e for e in examples if match in e.rule or match in e.name]
    failed = 0
    for e in examples:
        outcome = run_example(e, rule_set)
        if not outcome.passed:
            failed += 1
            click.echo(f"FAILED {e.file}: {e.name}\n{outcome.diff}\n")
    click.echo(f"{len(examples) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)
