"""``frister import``: read a contract case file (JSON Lines) or the register's XML."""

from __future__ import annotations

import sys

import click

from frister.cli.common import DATE, App, pass_app, today


def register(group: click.Group) -> None:
    group.add_command(import_)


@click.command("import")
@click.argument("file", metavar="PATH", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["register-xml", "jsonl"]), default=None,
              help="The format of PATH (default: detected from the content; a folder is register XML).")
@click.option("--all-or-nothing", is_flag=True,
              help="Register XML: one refused document and nothing is written (the JSON Lines behaviour).")
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
@click.option("--as-of", type=DATE, default=None,
              help="Reject dates after this day (default: today).")
@click.option("--full", is_flag=True,
              help="JSON Lines: PATH is the complete export; stored cases absent from it are removed.")
@click.option("--allow-shrink", is_flag=True,
              help="With --full: remove cases even when the file holds none, or when more than "
                   "FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT (default 10) of the stored cases would go.")
@click.option("--allow-empty", is_flag=True, help="Accept a file without any case (refused otherwise).")
@click.option("--strict", is_flag=True, help="Refuse implausible dates instead of importing them with a warning.")
@pass_app
def import_(app: App, file: str, fmt: str | None, all_or_nothing: bool, dry_run: bool, as_of, full: bool,
            allow_shrink: bool, allow_empty: bool, strict: bool) -> None:
    """Import PATH: a JSON Lines file (contract v1/v2; all or nothing: one invalid record
    and nothing is written), or register XML (a Barnevern document or a folder of them;
    each document atomic, see deploy/register-import.md).

    Waits up to FRISTER_LOCK_WAIT_SECONDS (default 600) while a nightly run, a purge or
    another import is working, then exits with status 75. The summary says how many
    cases were new, changed, unchanged and removed, and lists implausible dates by case
    and field.
    """
    from pathlib import Path

    from frister.importer import import_file
    from frister.importer.register import looks_like_register_xml

    path = Path(file)
    if fmt is None:
        fmt = "register-xml" if looks_like_register_xml(path) else "jsonl"
    if fmt == "register-xml":
        if full or allow_shrink or allow_empty or strict:
            raise click.UsageError("--full, --allow-shrink, --allow-empty and --strict apply to JSON Lines")
        return _register(app, path, dry_run, as_of, all_or_nothing)
    if all_or_nothing:
        raise click.UsageError("--all-or-nothing applies to register XML (a JSON Lines import always is)")
    if path.is_dir():
        raise click.UsageError("a JSON Lines import reads one file, not a folder")
    if allow_shrink and not full:
        raise click.UsageError("--allow-shrink applies to --full")
    settings = app.settings
    options = dict(full=full, allow_shrink=allow_shrink, allow_empty=allow_empty, strict=strict,
                   max_removed_share=settings.max_removed_share, lock_wait=settings.lock_wait)
    engine = app.ready_engine()
    bar = progress = None
    if sys.stderr.isatty():  # a progress bar for people, nothing for cron and logs
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                       TimeRemainingColumn(), transient=True)
        bar.start()
        task = bar.add_task("importing", total=None)
        progress = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
    try:
        stats = import_file(engine, file, as_of=as_of or today(), dry_run=dry_run, progress=progress, **options)
    finally:
        if bar is not None:
            bar.stop()
    click.echo(stats.summary())


def _register(app: App, path, dry_run: bool, as_of, all_or_nothing: bool) -> None:
    from frister.importer.register import RegisterRefused, import_register

    settings = app.settings
    engine = app.ready_engine()
    try:
        stats = import_register(engine, path, as_of=as_of or today(), dry_run=dry_run, all_or_nothing=all_or_nothing,
                                schema=settings.register_xsd, lock_wait=settings.lock_wait)
    except RegisterRefused as exc:
        click.echo(exc.stats.summary())
        raise
    click.echo(stats.summary())
