"""Report outputs: written whole and 0600, or a clear error naming the path and nothing
left behind. The CLI runs as a separate process, as an operator runs it."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from report_fixture import AS_OF
from frister.errors import OutputError
from frister.reports.output import write_output

ROOT = Path(__file__).resolve().parents[2]
FRISTER = str(Path(sys.executable).parent / "frister")
AUDIT = ["report", "audit", "--from", "2025-01-01", "--to", "2025-06-30", "--as-of", AS_OF.isoformat()]


def frister(db_url, *args, preexec_fn=None, stdout=subprocess.PIPE):
    env = dict(os.environ, FRISTER_DATABASE_URL=db_url, FRISTER_RULES_DIR=str(ROOT / "rules"))
    return subprocess.run([FRISTER, *args], env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=120, preexec_fn=preexec_fn)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_report_replaces_the_old_file_whole_and_only_its_owner_can_read_it(tmp_path):
    target = tmp_path / "audit.csv"
    target.write_bytes(b"old")
    target.chmod(0o644)
    assert write_output(target, b"new report") == target
    assert target.read_bytes() == b"new report"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_missing_directories_are_created(tmp_path):
    write_output(tmp_path / "rapporter" / "2025" / "audit.csv", b"x")
    assert (tmp_path / "rapporter" / "2025" / "audit.csv").read_bytes() == b"x"


def test_a_device_is_refused_not_replaced():
    with pytest.raises(OutputError, match=r"^/dev/full: not a regular file"):
        write_output("/dev/full", b"x")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_path_under_a_file_is_an_error_naming_the_path(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match=r"notes\.txt/audit\.csv: cannot write there: Not a directory"):
        write_output(tmp_path / "notes.txt" / "audit.csv", b"x")
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_a_directory_where_no_file_can_be_created_is_an_error_naming_the_path():
    with pytest.raises(OutputError, match=r"^/proc/frister-audit\.csv: cannot create a file there: "):
        write_output("/proc/frister-audit.csv", b"x")
    assert not os.path.exists("/proc/frister-audit.csv")


@pytest.mark.parametrize("output, message", [
    ("/dev/full", "error: /dev/full: not a regular file"),
    ("/proc/frister-audit.csv", "error: /proc/frister-audit.csv: cannot create a file there: "),
])
def test_the_cli_names_the_path_and_exits_with_a_usage_error_not_an_internal_one(municipality, db_url, output,
                                                                                  message):
    done = frister(db_url, *AUDIT, "--output", output)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and "internal error" not in done.stderr


def test_the_cli_under_a_path_whose_parent_is_a_file(municipality, db_url, tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    output = tmp_path / "notes.txt" / "audit.csv"
    done = frister(db_url, *AUDIT, "--output", str(output))
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {output}: cannot write there: Not a directory")


def _small_file_limit():
    """Files may grow to 4 KiB at most: writing more fails (EFBIG), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_write_that_fails_halfway_leaves_the_old_file_and_no_partial_one(municipality, db_url, tmp_path):
    target = tmp_path / "audit.html"
    target.write_text("the previous report")
    done = frister(db_url, *AUDIT, "--format", "html", "--output", str(target), preexec_fn=_small_file_limit)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {target}: cannot write: File too large")
    assert target.read_text() == "the previous report"
    assert leftovers(tmp_path) == []


def test_standard_output_on_a_full_device_is_a_clear_error(municipality, db_url):
    with open("/dev/full", "w") as full:
        done = frister(db_url, *AUDIT, stdout=full)
    assert (done.returncode, done.stderr.strip()) == (2, "error: standard output: cannot write: No space left on device")
