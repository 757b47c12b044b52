"""The ``frister`` command line. One small module per command group; each module
exposes ``register(group)``. Errors are printed without a traceback and exit non-zero.

**Files only the service can read.** :func:`main` sets the process umask to ``077``
before anything else, so every file a command creates (the SQLite database and its
``-wal``, ``-shm`` and lock files, reports, the demo's case file) is readable by its
owner only, whatever umask the shell or the service manager gave. The umask covers what
libraries create too (SQLite, Alembic), where frister does not choose the mode;
where frister creates a file itself it also asks for ``0600`` explicitly
(:mod:`frister.db.engine`, :mod:`frister.reports.output`, :mod:`frister.db.locks`), so
that using frister as a library, without this entry point, is covered as well.
"""

from __future__ import annotations

import importlib
import os

from frister.cli.common import FristerGroup

COMMAND_MODULES = (
    "frister.cli.db_cmd",
    "frister.cli.import_cmd",
    "frister.cli.contract_cmd",
    "frister.cli.evaluate_cmd",
    "frister.cli.rules_cmd",
    "frister.cli.demo_cmd",
    "frister.cli.run_cmd",
    "frister.cli.notices_cmd",
    "frister.cli.alert_cmd",
    "frister.cli.scheduler_cmd",
    "frister.cli.breach_cmd",
    "frister.cli.report_cmd",
    "frister.cli.purge_cmd",
    "frister.cli.org_cmd",
    "frister.cli.worklist_cmd",
    "frister.cli.web_cmd",
)


def build() -> FristerGroup:
    group = FristerGroup(name="frister", help="Deadline tracking and internal control for child-welfare services.")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(group)
    return group


PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> None:
    os.umask(PRIVATE_UMASK)
    build().main(args=argv, prog_name="frister")
