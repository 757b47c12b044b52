"""``bench/register.py`` at a small size: it runs and prints every figure."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_register_benchmark_prints_documents_per_second():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "register.py"), "--documents", "200"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "generate", "read and map", "import (sqlite)", "import again (sqlite)"]
    assert "documents/s (one core)" in lines[1] and "200 imported" in lines[2] and "200 unchanged" in lines[3]
