"""A service built to reproduce figures the services themselves published (issue 30).

Data as of AS_OF = 2026-08-01; municipalities 3316 Modum and 3318 Krødsherad. Every figure
below follows from the construction, by RULES.md and the definitions of
:mod:`frister.reports.activity`:

* **Foster homes** FH-001…FH-110 (FH-001…070 Modum, the rest Krødsherad), placed since
  2024-01-01 (more than a year). 2026-H1 needs 2 follow-up visits each = 220; FH-001…008
  had one, the others two: 212 of 220, 8 missing = **96,4 %** (Bærum 2021's figure).
  FH-001…041 are under a care order (2023-12-01); FH-001…039 have a care plan:
  **39 of 41 = 95,1 %** care plans. FH-042…110 are placed with a support measure
  (voluntarily).
* **Support at home** H-001…H-030 (H-001…020 Modum), a support measure since 2025-03-01.
* **Referrals 2026** M-01…M-88 (M-01…50 Modum), received from 2026-01-05, one a day,
  reviewed 3 days later: M-01…23 closed, M-24…88 investigated: **23 of 88 = 26,1 %
  henlagte** (Bærum's «% henlagte 26,1 %»). Investigations of M-24…78 (55) concluded
  2026-06-20, M-79…88 still running; M-24 and M-25 extended: **2 of 55 = 3,6 %**
  («utvidet 3,6 %»); M-24…42 concluded with measures (19), the others closed (36).
* **Referrals 2025** R-01…R-40 (R-01…25 Modum), received from 2025-02-03, closed.
* **Emergency decisions** A-01…A-56 (Krødsherad): **36 in 2025, 20 in 2026**.

Midt-Buskerud's table per municipality (the same on 2025-12-31 and on AS_OF, as nothing
started or ended between them except referrals):

=====================================================  =========  ===========  =========
                                                       Modum      Krødsherad   Service
=====================================================  =========  ===========  =========
Antall meldinger (2025 / 2026)                         25 / 50    15 / 38      40 / 88
Barn med hjelpetiltak (FH-042… and H-)                 29+20=49   40+10=50     99
Av disse; barn plassert frivillig utenfor hjemmet      29         40           69
Barn under omsorg/plassert utenfor hjemmet             41         0            41
Antall barn i tiltak totalt                            90         50           140
=====================================================  =========  ===========  =========
"""

from __future__ import annotations

from datetime import date, timedelta

AS_OF = date(2026, 8, 1)
HEADER = {"frister_export": 2, "source": "testsystem", "extracted_on": "2026-08-01"}


def _d(day: date) -> str:
    return day.isoformat()


def _cases() -> list[dict]:
    out = []
    for n in range(1, 111):
        visits = ["2024-03-01", "2024-06-01", "2024-09-01", "2024-12-01", "2025-02-01", "2025-05-01",
                  "2025-08-01", "2025-11-01", "2026-02-01"] + ([] if n <= 8 else ["2026-05-01"])
        case = {"case_id": f"FH-{n:03}", "municipality": "3316" if n <= 70 else "3318", "unit": "omsorg",
                "placements": [{"id": "P1", "kind": "foster_home", "started_on": "2024-01-01",
                                "followup_visits": visits, "supervision_visits": visits}]}
        if n <= 41:
            case["care_orders"] = [{"id": "O1", "decided_on": "2023-12-01", "implemented_on": "2024-01-01",
                                    **({"care_plan_made_on": "2024-03-01"} if n <= 39 else {})}]
        else:
            case["measures"] = [{"id": "T1", "kind": "support", "decided_on": "2024-01-01", "unit": "tiltak",
                                 "plan_made_on": "2024-01-01"}]
        out.append(case)
    for n in range(1, 31):
        out.append({"case_id": f"H-{n:03}", "municipality": "3316" if n <= 20 else "3318", "unit": "tiltak",
                    "measures": [{"id": "T1", "kind": "support", "decided_on": "2025-03-01",
                                  "plan_made_on": "2025-03-01"}]})
    for n in range(1, 89):
        received = date(2026, 1, 5) + timedelta(days=n - 1)
        reviewed = received + timedelta(days=3)
        referral = {"id": "M1", "received_on": _d(received), "concluded_on": _d(reviewed), "unit": "mottak",
                    "conclusion": "closed" if n <= 23 else "investigate",
                    "feedback_sent_on": _d(received + timedelta(days=5))}
        case = {"case_id": f"M-{n:02}", "municipality": "3316" if n <= 50 else "3318", "unit": "undersokelse",
                "referrals": [referral]}
        if n > 23:
            investigation = {"id": "U1", "referral_id": "M1", "started_on": _d(reviewed)}
            if n <= 78:
                investigation.update(concluded_on="2026-06-20", conclusion="measures" if n <= 42 else "closed")
            if n in (24, 25):
                investigation["extension"] = {"requested_on": _d(reviewed + timedelta(days=30)), "granted": True,
                                              "reason": "complex_case"}
            case["investigations"] = [investigation]
        out.append(case)
    for n in range(1, 41):
        received = date(2025, 2, 3) + timedelta(days=n - 1)
        out.append({"case_id": f"R-{n:02}", "municipality": "3316" if n <= 25 else "3318", "unit": "mottak",
                    "referrals": [{"id": "M1", "received_on": _d(received),
                                   "concluded_on": _d(received + timedelta(days=2)), "conclusion": "closed",
                                   "feedback_sent_on": _d(received + timedelta(days=4))}]})
    for n in range(1, 57):
        decided = date(2025, 1, 10) + timedelta(days=7 * (n - 1)) if n <= 36 else date(2026, 1, 8) + timedelta(
            days=7 * (n - 37))
        out.append({"case_id": f"A-{n:02}", "municipality": "3318", "unit": "omsorg",
                    "emergency_decisions": [{"id": "A1", "kind": "care", "decided_on": _d(decided),
                                             "petition_sent_on": _d(decided + timedelta(days=20))}]})
    return out


CASES = _cases()
