"""``frister rules``: check, list and test the rule files."""

from __future__ import annotations

import json
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
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def list_(app: App, directory, fmt) -> None:
    """Show every rule: kind of duty, legal basis and confidence per version, local values in force."""
    rule_set = app.rules(directory)
    described = [_described(r, on) for on, rs in ((True, rule_set), (False, rule_set.off)) for r in rs]
    if fmt == "json":
        click.echo(json.dumps(described, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    from frister.rules.model import CONFIDENCE_LABELS, DUTY_LABELS

    table = Table(title=f"frister rules ({len(rule_set)} in force), fingerprint {rule_set.fingerprint}",
                  show_lines=True)
    for col in ("rule", "title", "duty", "version", "valid", "basis", "conf"):
        table.add_column(col)
    for rule in described:
        for i, v in enumerate(rule["versions"]):
            title = rule["title"] + ("" if rule["enabled"] else " (slått av lokalt)")
            if i == 0 and rule["local_parameters"]:
                title += "\n" + "\n".join(f"lokalt: {p['name']} = {p['value']}" for p in rule["local_parameters"])
            table.add_row(rule["id"] if i == 0 else "", title if i == 0 else "", DUTY_LABELS[v["duty"]], v["name"],
                          f"{v['valid_from']} – {v['valid_to'] or ''}", v["basis"], v["confidence"])
    console = Console(width=200)
    console.print(table)
    console.print("Confidence: " + "; ".join(f"{k} = {v}" for k, v in CONFIDENCE_LABELS.items()))


def _described(rule, enabled: bool) -> dict:
    """A rule as ``rules list --format json`` shows it."""
    return {
        "id": rule.id, "title": rule.title, "kind": rule.kind, "subject": rule.subject, "duty": rule.duty,
        "confidence": rule.confidence, "enabled": enabled,
        "versions": [{"name": v.name, "valid_from": v.valid_from.isoformat(),
                      "valid_to": v.valid_to.isoformat() if v.valid_to else None, "duty": v.duty,
                      "confidence": v.confidence, "basis": v.basis} for v in rule.versions],
        "local_parameters": [{"name": p.name, "default": str(p.default), "value": str(p.in_force),
                              "law": str(p.law) if p.law else None, "text": p.text} for p in rule.local_parameters],
    }


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
