"""Where each line of a digest's text body came from: the template, or the renderer.

:func:`stray_lines` returns the lines of a body that are neither a literal line of
``templates/email/digest/body.txt`` nor one of the lines the template builds from the
context (greeting, counts, stage and rule headings, legal basis, notice lines), each
matched against the values it may hold: the rules' titles and bases, and for notice
lines a case reference, unit and caseworker code that are in the database. A line that
comes from the data (an injected ``Bcc: …``) is stray.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Iterable

from frister.nb import month_text
from frister.notify.digest import ROLE_GREETING, STAGE_LABELS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "email" / "digest" / "body.txt"

DATE = r"\d\d\.\d\d\.\d{4}"
MONTH = r"(?:" + "|".join(month_text(dt.date(2000, m, 1)).split()[0] for m in range(1, 13)) + r") \d{4}"
DAYS = r"(?:\d+ dager igjen|1 dag igjen|fristen er i dag|1 dag over fristen|\d+ dager over fristen|over fristen" \
       r"|ikke forfalt ennå)"
PERIOD = r"[1-4]\. (?:halvår|kvartal) \d{4}"
ASSESSED = r"; (?:årsak vurdert|årsak registrert|årsak ikke vurdert|årsak mangler)"
REPEAT = r"(?: \((?:Gjentatt varsel nr\. \d+(?:, det siste)?|Eneste varsel)\.\))?"


def _alternatives(values: Iterable[str]) -> str:
    return "(?:" + "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True)) + ")"


def literal_lines() -> set[str]:
    """The template's lines that hold neither a value nor a tag: they appear as they are."""
    return {line for line in TEMPLATE.read_text(encoding="utf-8").splitlines() if "{" not in line}


def line_patterns(rules, case_ids: Iterable[str], units: Iterable[str], caseworkers: Iterable[str]) -> list[re.Pattern]:
    stages = _alternatives(STAGE_LABELS.values())
    titles = _alternatives(r.title for r in rules)
    bases = _alternatives(v.basis for r in rules for v in r.versions)
    roles = _alternatives(ROLE_GREETING.values())
    notice = (rf"  - Sak {_alternatives(case_ids)}(?:, {PERIOD})?: frist (?:{DATE}|{MONTH}), {DAYS}\. "
              rf"Enhet {_alternatives(units)}, saksbehandler {_alternatives([*caseworkers, '–'])}{ASSESSED}\.{REPEAT}")
    return [re.compile(p) for p in (
        rf"Hei {roles},",
        rf"saker du har ansvar for å følge opp\. Oversikten gjelder per {DATE}\.",
        r"fristene først\. Dette er del \d+ av \d+; tallene under gjelder",
        r"Oversikten er lang og er delt i \d+ e-poster, de mest hastende",
        rf"  (?:{stages}|Totalt) *\d+",
        rf"== {stages} \(\d+\) ==",
        rf"{titles} \(\d+\)",
        rf"Hjemmel: {bases} \((lovkrav|retningslinje, ikke lov|tjenestens egen rutine, ikke lovkrav)\)",
        rf"  {_alternatives(units)}, {titles}: \d+ / \d+ / \d+",
        r"\d+ av de \d+ varslene gjaldt en frist som alt står i oversikten, og",
        r"Og \d+ til som ikke er listet her \(\d+ av \d+ vist, de mest",
        notice,
    )]


def stray_lines(body: str, patterns: list[re.Pattern], literal: set[str] | None = None) -> list[str]:
    literal = literal_lines() if literal is None else literal
    return [line for line in body.splitlines()
            if line not in literal and not any(p.fullmatch(line) for p in patterns)]


UNIT_MAIL_TEMPLATES = [ROOT / "templates" / "email" / kind / "body.txt" for kind in ("visit_plan", "weekly_worklist")]
COUNT_LABELS = ("Over fristen", "Frist innen to uker", "Brudd uten registrert årsak", "Åpne avvik",
                "Besøksperioder som mangler besøk")
SECTION_LABELS = ("Over fristen", "Frist innen to uker", "Besøk som mangler")


def unit_mail_literal_lines() -> set[str]:
    """The literal lines of the unit mails' text templates (visit plan, weekly worklist)."""
    return {line for path in UNIT_MAIL_TEMPLATES for line in path.read_text(encoding="utf-8").splitlines()
            if "{" not in line}


def unit_mail_patterns(rules, case_ids: Iterable[str], units: Iterable[str],
                       caseworkers: Iterable[str]) -> list[re.Pattern]:
    """The lines the unit mails' templates build. A unit's name comes from the organisation
    file (the operator's), so any name is accepted; every value from the data is matched
    against what the database holds."""
    titles = _alternatives(r.title for r in rules)
    roles = _alternatives(ROLE_GREETING.values())
    cases, units, workers = _alternatives(case_ids), _alternatives(units), _alternatives([*caseworkers, "–"])
    return [re.compile(p) for p in (
        rf"Hei {roles},",
        rf"Her er månedens besøksplan for .+ per {DATE}: \d+ besøk",
        r"mangler i \d+ plasseringe?r? i perioden som løper nå\. Planlegg besøkene nå,",
        rf"Her er ukens arbeidsliste for .+ per {DATE}\.",
        rf"  {_alternatives(COUNT_LABELS)} +\d+",
        rf"== {_alternatives(SECTION_LABELS)} ==",
        rf"  - Sak {cases}, {titles}, {PERIOD}: \d+ av \d+ besøk mangler\. Siste besøk: (?:{DATE}|ingen registrert)\. "
        rf"Perioden slutter {DATE} \({DAYS}\)\. Enhet {units}, saksbehandler {workers}\.",
        rf"  - Sak {cases}, {titles}, {PERIOD}: \d+ av \d+ besøk mangler, perioden slutter {DATE}\. "
        rf"Saksbehandler {workers}\.",
        rf"  - Sak {cases}, {titles}: frist (?:{DATE}|{MONTH}), {DAYS}\. Enhet {units}, saksbehandler {workers}\.",
        r"\d+ til — se arbeidslisten \(\d+ av \d+ vist, de som haster mest først\):",
        rf"(?:https?://\S+/arbeidsliste\?enhet=\S+|frister worklist --unit {units})",
    )]
