"""A small-size run of the national benchmark (``bench/nightly.py``): it starts, every
figure is printed, and the last line is the ratio. The benchmark itself is not part of
the suite; this keeps it from rotting."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PG_ENV, ROOT

SCRIPT = ROOT / "bench" / "nightly.py"
FIGURES = ("database:", "load:", "(1) raw scan:", "(2) evaluate (nothing stored):", "(2) evaluate and store:",
           "(3) run, first night", "(4) import:", "(3) run, second night", "(6) report audit:",
           "(6) report monthly:", "(6) report half-year:", "(5) peak memory:")
RATIOS = ("audit", "monthly", "half-year", "evaluate-and-store", "evaluate")


def _bench(*args: str) -> list[str]:
    # In process: one interpreter instead of one per step keeps this test to a few seconds.
    done = subprocess.run([sys.executable, str(SCRIPT), "--cases", "300", "--in-process", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def _assert_figures(lines: list[str]) -> None:
    for prefix in FIGURES:
        assert any(line.startswith(prefix) for line in lines), f"no line starting with {prefix!r}:\n" + "\n".join(lines)
    imported = next(line for line in lines if line.startswith("(4) import:"))
    assert re.search(r"0 new, [1-9]\d* changed", imported), imported  # the next day's export: 1 % changed
    for line, name in zip(lines[-5:], RATIOS):
        assert re.fullmatch(rf"ratio {name}/raw-scan: \d+\.\d\d", line), line


def test_it_prints_every_figure_and_ends_with_the_ratio_on_sqlite():
    _assert_figures(_bench("--database", "sqlite"))


@pytest.mark.postgresql
def test_it_prints_every_figure_and_ends_with_the_ratio_on_postgresql():
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"PostgreSQL benchmark smoke run needs {PG_ENV}")
    lines = _bench("--database", "postgresql", "--postgres-server", server)
    _assert_figures(lines)
    assert lines[0].startswith("database: postgresql")


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_the_outbox_benchmark_sends_every_notice_once(database):
    extra = []
    if database == "postgresql":
        server = os.environ.get(PG_ENV)
        if not server:
            pytest.skip(f"PostgreSQL benchmark smoke run needs {PG_ENV}")
        extra = ["--postgres-server", server]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "outbox.py"), "--notices", "1200",
                           "--database", database, *extra], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    # 1,176 notices to the chief and 24 to one leader: one e-mail each (parts only from
    # 5,000 notices; each e-mail lists 50 lines and counts the rest).
    assert lines[1].startswith("claim, barnevernsjef: ") and lines[1].endswith(", 1 parts")
    assert lines[2].startswith("claim, leader: ") and lines[2].endswith(", 1 parts")
    assert re.fullmatch(r"send phase: \d+\.\d\d s \(1200 notices sent in 2 e-mails\); peak RSS \d+ MB", lines[3])
