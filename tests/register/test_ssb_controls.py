"""A differential test against SSB's own deadline controls (Kravspesifikasjon):

* Melding Kontroll 3: a concluded referral whose Konklusjon/SluttDato is more than 7 days
  after its StartDato;
* Undersøkelse Kontroll 11: an unconcluded investigation related to a Melding, when
  DatoUttrekk is more than 7 + 90 days after the Melding's StartDato without a granted
  UtvidetFrist, or more than 7 + 180 days after it.

The oracle below re-implements them from the XML with the standard library, knowing
nothing of frister's mapper or rules, and is run over generated documents next to frister's
evaluation as of the extraction date. Every difference must be one of the known ones:

* ``days_vs_months``: SSB counts 90/180 days, frister calendar months as the law does
  (three months are 89 to 92 days), so the two deadlines can fall on different days;
* ``late_extension``: SSB counts any granted extension; frister only one requested before
  the original deadline ran out (a later one cannot undo a breach that has happened);
* not compared, because SSB does not check them: open referrals past their week (frister:
  overdue) and concluded investigations (frister: met or late).

The register's 7 days for a referral agree with frister's week; KOSTRA's old control used
8 days (a referral concluded on day 8 is late for frister and the register alike).
"""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

from frister.demo.register_xml import generate_cases, to_xml
from frister.evaluation.service import results_for
from frister.importer.register import import_register

AS_OF = date(2026, 6, 30)
NIGHT = datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)


def ssb_controls(xml: str) -> tuple[dict[str, bool], dict[str, bool]]:
    """SSB's flags: referral id -> Kontroll 3 (concluded ones), investigation id -> Kontroll 11 (open ones)."""
    root = ET.fromstring(xml)
    extracted = date.fromisoformat(root.get("DatoUttrekk")[:10])
    sak = root.find("Sak")
    referrals = {m.get("Id"): m for m in sak.findall("Melding")}
    referral_flags = {}
    for id_, m in referrals.items():
        k = m.find("Konklusjon")
        if k is not None:
            referral_flags[id_] = date.fromisoformat(k.get("SluttDato")) > date.fromisoformat(m.get("StartDato")) + \
                timedelta(days=7)
    origin = {r.get("TilId"): r.get("FraId") for r in sak.findall("Relasjon")
              if r.get("FraType") == "Melding" and r.get("TilType") == "Undersokelse"}
    investigation_flags = {}
    for u in sak.findall("Undersokelse"):
        if u.find("Konklusjon") is not None or u.get("Id") not in origin:
            continue
        start = date.fromisoformat(referrals[origin[u.get("Id")]].get("StartDato"))
        extension = u.find("UtvidetFrist")
        granted = extension is not None and extension.get("Innvilget") == "1"
        investigation_flags[u.get("Id")] = (extracted > start + timedelta(days=7 + 90) and not granted) or \
            extracted > start + timedelta(days=7 + 180)
    return referral_flags, investigation_flags


def _crafted():
    """Two investigations made to show each known difference."""
    months, extension = generate_cases(2, AS_OF, seed=99)
    for case in (months, extension):
        case.support = case.care = case.emergency = None
    # Received 24 March: frister's deadline is 31 March + 3 months = 30 June (not yet
    # passed on 30 June); SSB's is 24 March + 97 days = 29 June (passed).
    received = date(2026, 3, 24)
    months.referral.update(received=received, concluded=received + timedelta(days=3), code="2")
    months.investigation = dict(id=months.investigation["id"] if months.investigation else
                                "1b2c3d4e-0000-4000-8000-00000000000a", started=received + timedelta(days=3),
                                concluded=None, code=None, extension=None)
    # Received 8 February: frister's deadline 15 May; an extension asked for on 20 May and
    # granted is too late for frister (overdue), enough for SSB (not flagged before 7 + 180 days).
    received = date(2026, 2, 8)
    extension.referral.update(received=received, concluded=received + timedelta(days=2), code="2")
    extension.investigation = dict(id="1b2c3d4e-0000-4000-8000-00000000000b", started=received + timedelta(days=2),
                                   concluded=None, code=None, extension=(date(2026, 5, 20), True))
    return [months, extension]


def plus_months(d: date, n: int) -> date:
    """Calendar months, clamped to the month's end (the law's counting, done here by hand)."""
    year, month = divmod(d.month - 1 + n, 12)
    year, month = d.year + year, month + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _why(inv_id: str, received: date, extension, ssb: bool, frister_overdue: bool) -> str | None:
    """Which known difference explains a disagreement (None: none does)."""
    original = plus_months(received + timedelta(days=7), 3)
    if extension is not None and extension[1] and extension[0] > original:
        return "late_extension"
    for days, months in ((90, 3), (180, 6)):
        by_days = received + timedelta(days=7 + days)
        by_months = plus_months(received + timedelta(days=7), months)
        if min(by_days, by_months) < AS_OF <= max(by_days, by_months) or \
                min(by_days, by_months) <= AS_OF < max(by_days, by_months):
            return "days_vs_months"
    return None


def test_frister_agrees_with_ssbs_deadline_controls_but_for_the_known_differences(engine, rules, tmp_path):
    cases = generate_cases(400, AS_OF, seed=31) + _crafted()
    folder = tmp_path / "levering"
    folder.mkdir()
    ssb_referrals: dict[str, bool] = {}
    ssb_investigations: dict[str, bool] = {}
    for i, case in enumerate(cases):
        xml = to_xml(case, NIGHT, f"{i:08x}-0000-4000-8000-000000000000")
        (folder / f"{i:04d}.xml").write_text(xml, encoding="utf-8")
        flags = ssb_controls(xml)
        ssb_referrals.update(flags[0])
        ssb_investigations.update(flags[1])
    import_register(engine, folder, as_of=AS_OF)
    with engine.connect() as conn:
        status = {(r.rule, r.subject): r.status for r in results_for(conn, rules, AS_OF)}

    for referral, late in ssb_referrals.items():  # concluded referrals: no known difference
        assert (status[("referral_review", referral)] == "late") == late, referral
    assert sum(ssb_referrals.values()) > 20 and sum(not v for v in ssb_referrals.values()) > 20

    plans = {c.investigation["id"]: c for c in cases if c.investigation}
    differences: dict[str, str] = {}
    agree = 0
    for inv, flagged in ssb_investigations.items():
        overdue = status[("investigation_deadline", inv)] == "overdue"
        if overdue == flagged:
            agree += 1
            continue
        case = plans[inv]
        why = _why(inv, case.referral["received"], case.investigation["extension"], flagged, overdue)
        assert why is not None, (inv, flagged, status[("investigation_deadline", inv)])
        differences[inv] = why
    assert agree > 10, (agree, differences)
    crafted = _crafted()
    assert differences[crafted[0].investigation["id"]] == "days_vs_months"
    assert differences[crafted[1].investigation["id"]] == "late_extension"
