"""A small hand-built municipality whose report figures are worked out by hand below.

Report period 2025-H1 (1 Jan – 30 Jun 2025), data as of AS_OF = 2025-08-01.

A-1 (mottak)        M1 received 03-03, reviewed 03-07 (due 03-10: met), feedback 03-20 (due 03-24: met)
                    M2 received 04-01, reviewed 04-11 (due 04-08: late 3), feedback 04-10 (due 04-22: met)
B-1 (undersokelse)  M1 received 01-06, reviewed 01-10 (due 01-13: met), feedback 01-20 (due 01-27: met)
                    U1 anchor 01-06 + 1 week = 01-13, + 3 months = due 04-13, concluded 04-20: late 7
C-1 (undersokelse)  M1 received 01-02, reviewed 01-08 (due 01-09: met), feedback 01-15 (due 01-23: met)
                    U1 due 04-09, extension requested 03-01 and granted: due 07-09, concluded 06-30: met
D-1 (tiltak)        T1 support decided 2024-10-01 with plan; evaluations 2025-01-10 (due 01-01: late 9)
                    and 04-01 (due 04-10: met); the next is due 07-01 (outside H1)
E-1 (tiltak)        T1 support decided 05-15 without a plan: measure_plan due 05-15, overdue 78 days
F-1 (omsorg)        foster home since 2024-01-01 (first-year quarters of 2024 all visited, a local
                    routine); 2025-H1: follow-up 1 of 2 (overdue 32), supervision 2 of 2 (met)
G-1 (omsorg)        foster home since 2025-02-01, 150 of 181 days of 2025-H1: 2 visits pro rata;
                    follow-up 2 of 2 (met), supervision 1 of 2 (overdue 32); first-year
                    quarters Q1 1/1, Q2 1/1 (met; local)

Due in 2025-H1: referral_review 4, reporter_feedback 4, investigation_deadline 1 (B),
measure_plan 1 (E), measure_plan_evaluation 2 (D), follow-up visits 2, supervision visits 2
= 16 of law and guidance, and first-year visits 2 of the local routine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
AS_OF = date(2025, 8, 1)
H1_START, H1_END = date(2025, 1, 1), date(2025, 6, 30)


def _referral(rid, received, concluded, conclusion, feedback):
    return {"id": rid, "received_on": received, "concluded_on": concluded, "conclusion": conclusion,
            "feedback_sent_on": feedback}


CASES = [
    {"case_id": "A-1", "unit": "mottak", "caseworker": "cw-1", "referrals": [
        _referral("M1", "2025-03-03", "2025-03-07", "closed", "2025-03-20"),
        _referral("M2", "2025-04-01", "2025-04-11", "closed", "2025-04-10"),
    ]},
    {"case_id": "B-1", "unit": "undersokelse", "caseworker": "cw-2",
     "referrals": [_referral("M1", "2025-01-06", "2025-01-10", "investigate", "2025-01-20")],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-01-10", "concluded_on": "2025-04-20",
                         "conclusion": "closed"}]},
    {"case_id": "C-1", "unit": "undersokelse", "caseworker": "cw-2",
     "referrals": [_referral("M1", "2025-01-02", "2025-01-08", "investigate", "2025-01-15")],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-01-08", "concluded_on": "2025-06-30",
                         "conclusion": "closed",
                         "extension": {"requested_on": "2025-03-01", "granted": True, "reason": "complex_case"}}]},
    {"case_id": "D-1", "unit": "tiltak", "caseworker": "cw-3",
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2024-10-01", "plan_made_on": "2024-10-01",
                   "evaluations": ["2025-01-10", "2025-04-01"]}]},
    {"case_id": "E-1", "unit": "tiltak", "caseworker": "cw-3",
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2025-05-15"}]},
    {"case_id": "F-1", "unit": "omsorg", "caseworker": "cw-4",
     "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2024-01-01",
                     "followup_visits": ["2024-02-01", "2024-05-01", "2024-08-01", "2024-11-01", "2025-02-10"],
                     "supervision_visits": ["2024-02-01", "2024-05-01", "2024-08-01", "2024-11-01",
                                            "2025-01-20", "2025-05-05"]}]},
    {"case_id": "G-1", "unit": "omsorg", "caseworker": "cw-4",
     "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2025-02-01",
                     "followup_visits": ["2025-03-01", "2025-06-15"],
                     "supervision_visits": ["2025-04-01"]}]},
]
