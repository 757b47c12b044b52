"""``frister metrics``: the night in Prometheus' text exposition format, on standard
output or as a textfile for node_exporter, with the values the database holds."""

from __future__ import annotations

import datetime as dt
import re
import stat

from click.testing import CliRunner

from frister.cli import build

from tests.nightly.conftest import AS_OF, at, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher, free_port

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{status="(?P<status>[a-z]+)"\})? (?P<value>[0-9.e+-]+)$')


def parse(text: str) -> dict[tuple[str, str | None], float]:
    """Samples by (name, status label); checks that each metric has its HELP and TYPE first."""
    out: dict[tuple[str, str | None], float] = {}
    described: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
        elif line.startswith("# TYPE "):
            assert line.split()[2:] == [name, "gauge"]
            described.add(name)
        else:
            m = SAMPLE.match(line)
            assert m and m["name"] in described, line
            out[(m["name"], m["status"])] = float(m["value"])
    return out


def test_the_metrics_say_when_the_night_last_succeeded_and_what_waits(cli_env, municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))  # 02:00 UTC: all five delivered
    # 01.12, server down: BV-1's breach, BV-3's warning to two (BV-2's weekly repeat is due
    # on 02.12, seven days after the night that sent its first notice).
    run(municipality, rules, config, smtp(free_port()), as_of=AS_OF + dt.timedelta(days=6))
    result = CliRunner().invoke(build(), ["metrics", "--delivery-grace", "0m"])
    assert result.exit_code == 0, result.output
    m = parse(result.output)
    assert m[("frister_last_success_timestamp_seconds", None)] == at(AS_OF).timestamp()
    assert m[("frister_last_completed_timestamp_seconds", None)] == at(AS_OF + dt.timedelta(days=6)).timestamp()
    assert m[("frister_last_run_duration_seconds", None)] == 0  # the runs' clock stood still
    assert {s for (name, s), v in m.items() if name == "frister_last_run_status" and v == 1} == {"degraded"}
    notices = {s: v for (name, s), v in m.items() if name == "frister_notices"}
    assert notices == {"pending": 4, "sending": 0, "uncertain": 0, "sent": 5, "dead": 0, "cancelled": 0}
    assert m[("frister_notices_overdue_for_delivery", None)] == 4
    assert m[("frister_cases_changed_waiting", None)] == 0


def test_before_the_first_night_the_last_success_is_zero(cli_env):
    m = parse(CliRunner().invoke(build(), ["metrics"]).output)
    assert m[("frister_last_success_timestamp_seconds", None)] == 0
    assert m[("frister_last_run_status", "succeeded")] == 0


def test_the_textfile_is_written_whole_and_readable_by_the_collector(cli_env, tmp_path):
    path = tmp_path / "textfile" / "frister.prom"
    for _ in range(2):  # written, then replaced
        result = CliRunner().invoke(build(), ["metrics", "--textfile", str(path)])
        assert (result.exit_code, result.output) == (0, "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert parse(path.read_text())[("frister_notices", "dead")] == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["frister.prom"]  # no temporary file left
