"""The ``frister`` command line. One small module per command group; each module
exposes ``register(group)``. Errors are printed without a traceback and exit non-zero."""

from __future__ import annotations

import importlib

from frister.cli.common import FristerGroup

COMMAND_MODULES = (
    "frister.cli.db_cmd",
    "frister.cli.import_cmd",
    "frister.cli.evaluate_cmd",
    "frister.cli.rules_cmd",
    "frister.cli.demo_cmd",
    "frister.cli.run_cmd",
    "frister.cli.scheduler_cmd",
    "frister.cli.breach_cmd",
    "frister.cli.report_cmd",
)


def build() -> FristerGroup:
    group = FristerGroup(name="frister", help="Deadline tracking and internal control for child-welfare services.")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(group)
    return group


def main(argv: list[str] | None = None) -> None:
    build().main(args=argv, prog_name="frister")
