"""The periodic e-mails to a unit's leader: what they say, and how they are rendered.

Two kinds, both made from the unit's worklist (:func:`frister.worklist.worklist`, the
one definition of what a leader has to follow up):

* ``visit_plan`` (monthly): the visit periods now running that still lack visits, with
  how many are missing, the last visit made and the period's last day, so that visits are
  planned while they can still be made;
* ``weekly_worklist`` (weekly): the unit's counts (overdue, due within 14 days, breaches
  without a recorded reason, open deviations) and its most urgent lines.

:func:`visit_plan_content` and :func:`weekly_content` build the e-mail's *content*: plain
data (case references, rule titles, caseworker codes, dates, counts), stored as JSON on the
outbox row when it is created, so a resend is the same e-mail. At most ``shown`` lines
are kept (``delivery.lines_per_email``); the rest are counted and the e-mail says how
many more there are and where to see them (the worklist; its web page when
``FRISTER_WEB_BASE_URL`` is set). No case fact beyond the worklist's line ever enters
the content: no name, birth date or address. A due date that gives the birth date away
(aftercare) is kept as its month only, as on the worklist.

:class:`UnitMailRenderer` renders the content from ``templates/email/<kind>/``
(``subject.txt``, ``body.txt``, ``body.html``); every value goes through
:func:`frister.text.printable`, as in the digests.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Iterable
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from frister.disclosure import month_text
from frister.errors import ConfigError
from frister.nb import dato
from frister.notify.digest import LINES_SHOWN, ROLE_GREETING, days_text, period_label
from frister.text import printable
from frister.worklist import Line, Worklist

KINDS = ("visit_plan", "weekly_worklist")
SECTION_LABELS = {"overdue": "Over fristen", "due": "Frist innen to uker", "visits": "Besøk som mangler"}


def _line(line: Line) -> dict:
    """One worklist line as stored content: the key and what may be said about it."""
    return {"section": line.section, "case_id": line.case_id, "title": line.title, "period": line.period or "",
            "caseworker": line.caseworker, "unit": line.unit,
            "due": line.due_on.isoformat() if line.due_on else None, "due_month": line.due_month,
            "missing": line.missing, "required": line.required,
            "last_visit": line.last_visit_on.isoformat() if line.last_visit_on else None}


def visit_plan_content(made: Worklist, unit: str, unit_name: str, shown: int = LINES_SHOWN) -> dict | None:
    """The visit plan of ``unit`` from its worklist, or None when no visit is missing
    (nothing to plan: no e-mail). Lines: the period ending first, then the most visits
    missing, then case reference."""
    visits = sorted((x for x in made.lines if x.section == "visits"),
                    key=lambda x: (x.due_on or dt.date.max, -(x.missing or 0), x.case_id, x.title))
    if not visits:
        return None
    return {"unit": unit, "unit_name": unit_name, "as_of": made.as_of.isoformat(), "total": len(visits),
            "placements": len({(x.case_id, x.subject) for x in visits}),
            "missing": sum(x.missing or 0 for x in visits), "lines": [_line(x) for x in visits[:shown]]}


def weekly_content(made: Worklist, unit: str, unit_name: str, unexplained: int, open_deviations: int,
                   shown: int = LINES_SHOWN) -> dict | None:
    """The weekly worklist summary of ``unit``, or None when there is nothing at all to
    follow up. Lines: overdue (the longest overdue first), due within two weeks (the
    soonest first), then visits missing (the period ending first)."""
    counts = {"overdue": made.count("overdue"), "due": made.count("due"), "visits": made.count("visits"),
              "unexplained": unexplained, "open_deviations": open_deviations}
    if not any(counts.values()):
        return None
    ordered = sorted(made.lines, key=lambda x: (("overdue", "due", "visits").index(x.section), x.due_month,
                                                x.due_on or dt.date.min, x.case_id, x.title))
    return {"unit": unit, "unit_name": unit_name, "as_of": made.as_of.isoformat(), "counts": counts,
            "total": len(ordered), "lines": [_line(x) for x in ordered[:shown]]}


class UnitMailRenderer:
    """Renders unit mails from ``templates_dir/email/<kind>/``. Missing templates are a
    :class:`ConfigError` at construction, not in the middle of a run."""

    def __init__(self, templates_dir: Path, base_url: str | None = None):
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
            finalize=printable,
        )
        self.base_url = base_url.rstrip("/") if base_url else None
        self.parts: dict[tuple[str, str], object] = {}
        for kind in KINDS:
            for part in ("subject.txt", "body.txt", "body.html"):
                name = f"email/{kind}/{part}"
                try:
                    self.parts[(kind, part)] = self.env.get_template(name)
                except TemplateNotFound as exc:
                    raise ConfigError(f"{templates_dir}: e-mail template not found: {exc.name}") from None

    def worklist_link(self, unit: str) -> str:
        """The unit's worklist page (frister web), or '' without FRISTER_WEB_BASE_URL."""
        return f"{self.base_url}/arbeidsliste?{urlencode({'enhet': unit})}" if self.base_url else ""

    def context(self, kind: str, content: dict, role: str) -> dict:
        as_of = dt.date.fromisoformat(content["as_of"])
        lines = [self._shown(x, as_of) for x in content["lines"]]
        return {**content, "kind": kind, "role": ROLE_GREETING.get(role, role), "as_of": dato(as_of),
                "lines": lines, "sections": _sections(lines), "shown": len(lines),
                "more": content["total"] - len(lines), "link": self.worklist_link(content["unit"])}

    @staticmethod
    def _shown(x: dict, as_of: dt.date) -> dict:
        due = dt.date.fromisoformat(x["due"]) if x["due"] else None
        month = dt.date.fromisoformat(x["due_month"] + "-01")
        return {**x, "period": period_label(x["period"]) if x["period"] else "",
                "caseworker": x["caseworker"] or "–",
                "due": dato(due) if due else month_text(month),
                "days": days_text(due, as_of) if due else ("over fristen" if month < as_of.replace(day=1)
                                                          else "ikke forfalt ennå"),
                "last_visit": dato(dt.date.fromisoformat(x["last_visit"])) if x["last_visit"] else None}

    def render(self, kind: str, content: dict, role: str, sender: str, recipient: str, message_id: str,
               now: dt.datetime) -> EmailMessage:
        ctx = self.context(kind, content, role)
        msg = EmailMessage()
        msg["Subject"] = " ".join(self.parts[(kind, "subject.txt")].render(ctx).split())
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(self.parts[(kind, "body.txt")].render(ctx))
        msg.add_alternative(self.parts[(kind, "body.html")].render(ctx), subtype="html")
        return msg


def _sections(lines: Iterable[dict]) -> list[dict]:
    out: dict[str, list[dict]] = {}
    for x in lines:
        out.setdefault(x["section"], []).append(x)
    return [{"label": SECTION_LABELS[s], "section": s, "lines": items} for s, items in out.items()]
