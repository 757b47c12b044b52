"""The escalation step of the demo: a compact table of tonight's notices per recipient."""

from __future__ import annotations

import io

from rich.console import Console

from frister.nightly import demo_step
from frister.settings import Settings

from tests.nightly.conftest import AS_OF, ROOT, at


def test_the_demo_step_shows_which_leaders_get_which_notices_tonight(municipality, rules):
    out = io.StringIO()
    settings = Settings.from_env({"FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    report = demo_step(municipality, rules, AS_OF, Console(file=out, width=160), settings, now=at(AS_OF))
    text = out.getvalue()
    assert "barnevernsjef@barnevern.kommune.example" in text and "avdelingsleder Mottak" in text
    assert "Sak BV-" not in text  # counts, not e-mails
    assert text.strip().splitlines()[-1] == report.line()
    again = io.StringIO()
    demo_step(municipality, rules, AS_OF, Console(file=again, width=160), settings, now=at(AS_OF, 3))
    assert "Ingen nye varsler i natt" in again.getvalue()
