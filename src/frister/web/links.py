"""The address of a deadline's page, for the pages themselves and for the e-mails.

It carries the obligation's key only — case reference, rule id, subject id, and the
period and number when they are not the defaults — never personal data."""

from __future__ import annotations

from urllib.parse import urlencode


def deadline_path(case_id: str, rule: str, subject: str, period: str = "", seq: int = 1) -> str:
    query: dict[str, str | int] = {"sak": case_id, "regel": rule, "gjelder": subject}
    if period:
        query["periode"] = period
    if seq != 1:
        query["nr"] = seq
    return "/frist?" + urlencode(query)
