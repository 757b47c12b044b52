"""A service of two municipalities whose steps are held by different units, worked out by hand.

Organisation (ORGANISATION below): municipalities 3316 Modum and 3318 Krødsherad; units
mottak; undersokelse with the teams us-nord and us-sor; tiltak. Intake is held by mottak,
investigations by the investigation teams (K-3's by the department itself), measures by
tiltak, whatever the case's current unit. Data as of AS_OF = 2026-08-01 (RULES.md: due =
received + 1 week for the review, + 3 weeks for the feedback; an investigation is due 3
months after received + 1 week; a plan evaluation 3 months after the previous one).

K-1 (3316, case unit tiltak)
  M1 (mottak) received 01-05, reviewed 01-09 (due 01-12: met), feedback 01-20 (due 01-26: met)
  U1 (us-nord) anchor 01-12, due 04-12, concluded 04-10: met
  T1 (tiltak) support decided 2025-12-01 with a plan; evaluations 02-20 (due 03-01: met),
     05-15 (due 05-20: met); the next is due 08-15 (open on AS_OF)
K-2 (3316, case unit undersokelse)
  M1 (mottak) received 02-02, reviewed 02-12 (due 02-09: late 3), feedback 02-10 (due 02-23: met)
  U1 (us-sor) anchor 02-09, due 05-09, concluded 05-20: late 11
K-3 (3318, case unit undersokelse)
  M1 (mottak) received 03-02, reviewed 03-06 (due 03-09: met), feedback 03-16 (due 03-23: met)
  U1 (undersokelse, the department's own) due 06-09, not concluded: overdue
K-4 (3318, case unit tiltak)
  M1 (mottak) received 01-12, closed 01-16 (due 01-19: met), feedback 01-30 (due 02-02: met)
  T1 (tiltak) support decided 05-04 without a plan: measure_plan due 05-04, overdue
K-5 (3318, case unit mottak)
  M2 (mottak) received 06-22, not reviewed (due 06-29: overdue), feedback 06-30 (due 07-13: met)
  M1 (mottak) received 07-06, reviewed 07-15 (due 07-13: late 2), feedback 07-20 (due 07-27: met)
"""

from __future__ import annotations

from datetime import date

AS_OF = date(2026, 8, 1)

ORGANISATION = """\
service: Test barneverntjeneste
allowed_domains: [barnevern.kommune.example]
municipalities:
  "3316": Modum
  "3318": Krødsherad
units:
  mottak: {name: Mottak}
  undersokelse:
    name: Undersøkelse
    units:
      us-nord: {name: Undersøkelse nord}
      us-sor: {name: Undersøkelse sør}
  tiltak: {name: Tiltak}
leaders:
  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
"""

HEADER = {"frister_export": 2, "source": "testsystem", "extracted_on": "2026-08-01"}


def _referral(rid, received, concluded, conclusion, feedback):
    return {"id": rid, "received_on": received, "concluded_on": concluded, "conclusion": conclusion,
            "feedback_sent_on": feedback, "unit": "mottak", "caseworker": "cw-m"}


CASES = [
    {"case_id": "K-1", "municipality": "3316", "unit": "tiltak", "caseworker": "cw-t1",
     "referrals": [_referral("M1", "2026-01-05", "2026-01-09", "investigate", "2026-01-20")],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2026-01-09", "unit": "us-nord",
                         "caseworker": "cw-u1", "concluded_on": "2026-04-10", "conclusion": "measures"}],
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2025-12-01", "plan_made_on": "2025-12-01",
                   "unit": "tiltak", "evaluations": ["2026-02-20", "2026-05-15"]}]},
    {"case_id": "K-2", "municipality": "3316", "unit": "undersokelse", "caseworker": "cw-u2",
     "referrals": [_referral("M1", "2026-02-02", "2026-02-12", "investigate", "2026-02-10")],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2026-02-12", "unit": "us-sor",
                         "concluded_on": "2026-05-20", "conclusion": "closed"}]},
    {"case_id": "K-3", "municipality": "3318", "unit": "undersokelse", "caseworker": "cw-u3",
     "referrals": [_referral("M1", "2026-03-02", "2026-03-06", "investigate", "2026-03-16")],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2026-03-06", "unit": "undersokelse"}]},
    {"case_id": "K-4", "municipality": "3318", "unit": "tiltak", "caseworker": "cw-t2",
     "referrals": [_referral("M1", "2026-01-12", "2026-01-16", "closed", "2026-01-30")],
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2026-05-04", "unit": "tiltak"}]},
    {"case_id": "K-5", "municipality": "3318", "unit": "mottak", "caseworker": "cw-m",
     "referrals": [_referral("M2", "2026-06-22", None, None, "2026-06-30"),
                   _referral("M1", "2026-07-06", "2026-07-15", "closed", "2026-07-20")]},
]
