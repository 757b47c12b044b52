"""Rendering one digest e-mail per recipient (Norwegian bokmål, Jinja2 templates).

Code builds the context; the words live in ``templates/email/digest/{subject.txt,
body.txt,body.html}``. The context holds exactly what a notice may say: case reference,
rule title and legal basis, visit period, due date, days left or late, unit and
caseworker code, and counts. It is built from outbox rows, which hold nothing else;
no case fact (birth date, free text, explanation) is ever passed to a template. Every
value a template outputs goes through :func:`frister.text.printable`: a line break in a
unit name or a caseworker code is shown as ``\\n``, so a body line either is a line of
the template or a notice line, never a line that came from the data.

A due date computed from the child's birth date (aftercare: six months before the 18th
birthday) would give the birth date away, exactly, together with the as-of date and the
days left. For such rules (``birth_linked``: :func:`frister.disclosure.birth_linked`) a
line shows only the month of the due date (:func:`frister.disclosure.month_text`) and
whether it has passed, never the day or a count of days.

Order: groups by stage, most urgent first (the ladder's later stages first), then by
rule title; within a rule the most overdue / soonest due first, then case reference.

**One line per deadline.** When a recipient has several notices for one deadline in one
e-mail (a reminder and a warning that fell due on the same night, or were carried over a
day without e-mail), the deadline is shown once, at its most urgent stage; the e-mail says
how many notices were folded in this way, so its totals still account for every notice.

**A digest a leader can act on.** The e-mail opens with counts per unit and rule (new
breaches, breaches still without a recorded reason, deadlines due within 14 days), then
lists at most ``shown`` lines (``delivery.lines_per_email``, default 50), the most urgent
first, then one line saying how many more there are and where to see them
(``frister worklist``). Every notice of the e-mail is in its counts, listed or not.

**Assessment.** A line says whether the cause of the deadline has been assessed
(``assessed``: a reason recorded with ``frister breach explain``, before or after the due
date). A warning of an investigation deadline says that an extension must be decided
before the deadline: one decided later does not save it.

A very long digest still goes out in parts (see :mod:`frister.escalation.outbox`): each
part is a complete e-mail of its own notices and counts, and its subject and first
paragraph say which part it is ("del 2 av 7"). A repeated notice says how many notices went before
it for the same deadline and stage ("Gjentatt varsel nr. 2"); the first notice of an
old breach is not called a repeat. The last repeat of a stage whose repeats end says so
("det siste", or "Eneste varsel" when it is also the first), and the e-mail then says
where such a breach is followed up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Callable, Iterable, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from frister.disclosure import month_text
from frister.errors import ConfigError
from frister.nb import dato
from frister.text import printable

DUTY_WORDS = {"law": "lovkrav", "guidance": "retningslinje, ikke lov",
              "local": "tjenestens egen rutine, ikke lovkrav"}
STAGE_LABELS = {"reminder": "Påminnelse", "warning": "Varsel", "breach": "Fristbrudd",
                "unexplained": "Fristbrudd uten årsak"}
STAGE_NOUNS = {"reminder": ("påminnelse", "påminnelser"), "warning": ("varsel", "varsler"),
               "breach": ("fristbrudd", "fristbrudd"), "unexplained": ("brudd uten årsak", "brudd uten årsak")}
ROLE_GREETING = {"avdelingsleder": "avdelingsleder", "barnevernsjef": "barnevernsjef", "stab": "stab",
                 "teamleder": "teamleder"}
LINES_SHOWN = 50  # lines listed in one e-mail (delivery.lines_per_email)
SOON_DAYS = 14  # "due within 14 days" in the counts at the top
# Rules whose deadline an extension decided in time can move: the warning says so.
EXTENDABLE = {"investigation_deadline"}


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One line of a digest: everything a notice may say, nothing more."""

    case_id: str
    rule: str
    period: str
    stage: str
    earlier: int  # notices created before this one for the same deadline, stage and role
    due_on: dt.date
    unit: str
    caseworker: str | None
    basis: str
    last: bool = False  # the last repeat of a stage whose repeats end: no notice follows
    duty: str = "law"  # law | guidance | local: shown with the basis, so a routine never reads as law
    subject: str = ""
    seq: int = 1
    assessed: bool = False  # a reason (cause, action, decision) is recorded for the deadline

    @property
    def deadline(self) -> tuple[str, str, str, str, int]:
        """The obligation the line is about: one line per deadline in an e-mail."""
        return (self.case_id, self.rule, self.subject, self.period, self.seq)


def _noun(stage: str, count: int) -> str:
    one, many = STAGE_NOUNS.get(stage, (stage.replace("_", " "),) * 2)
    return one if count == 1 else many


def norwegian_date(day: dt.date) -> str:
    return dato(day)


def period_label(period: str) -> str:
    """``2025-H1`` → ``1. halvår 2025``; ``2025-Q3`` → ``3. kvartal 2025``."""
    if len(period) == 7 and period[4] == "-" and period[5] in "HQ":
        return f"{period[6]}. {'halvår' if period[5] == 'H' else 'kvartal'} {period[:4]}"
    return period


def days_text(due_on: dt.date, as_of: dt.date) -> str:
    days = (due_on - as_of).days
    if days > 1:
        return f"{days} dager igjen"
    if days == 1:
        return "1 dag igjen"
    if days == 0:
        return "fristen er i dag"
    return f"{-days} {'dag' if days == -1 else 'dager'} over fristen"


class DigestRenderer:
    """Renders digests from ``templates_dir/email/digest``. Missing templates are a
    :class:`ConfigError` at construction, not in the middle of a run."""

    template = "digest"

    def __init__(self, templates_dir: Path, rule_titles: Mapping[str, str],
                 urgency: Callable[[str], int] = lambda stage: 0, birth_linked: frozenset[str] = frozenset(),
                 base_url: str | None = None):
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
            finalize=printable,  # no value from the data starts a line of its own (frister.text)
        )
        self.rule_titles = rule_titles
        self.urgency = urgency
        self.birth_linked = birth_linked
        # FRISTER_WEB_BASE_URL: each line links to its deadline's page (frister web).
        self.base_url = base_url.rstrip("/") if base_url else None
        self.parts = {}
        for part in ("subject.txt", "body.txt", "body.html"):
            name = f"email/{self.template}/{part}"
            try:
                self.parts[part] = self.env.get_template(name)
            except TemplateNotFound as exc:
                raise ConfigError(f"{templates_dir}: e-mail template not found: {exc.name}") from None
            except UnicodeDecodeError:
                raise ConfigError(f"{Path(templates_dir) / name}: not UTF-8 text (save the file as UTF-8)") from None

    def _link(self, line: NoticeLine) -> str:
        if not self.base_url or not line.subject:
            return ""
        from frister.web.links import deadline_path

        return self.base_url + deadline_path(line.case_id, line.rule, line.subject, line.period, line.seq)

    def _when(self, line: NoticeLine, as_of: dt.date) -> dict:
        if line.rule in self.birth_linked:
            return {"due": month_text(line.due_on),
                    "days": "over fristen" if line.due_on < as_of else "ikke forfalt ennå"}
        return {"due": norwegian_date(line.due_on), "days": days_text(line.due_on, as_of)}

    def context(self, lines: Iterable[NoticeLine], as_of: dt.date, role: str, part: int | None = None,
                parts: int | None = None, shown: int = LINES_SHOWN) -> dict:
        notices = list(lines)
        lines = self._one_per_deadline(notices)
        lines.sort(key=lambda x: (self.urgency(x.stage), x.stage, self.rule_titles.get(x.rule, x.rule), x.basis,
                                  x.due_on, x.case_id, x.period))
        listed = lines[:shown]
        stages: dict[str, list[NoticeLine]] = {}
        for line in lines:
            stages.setdefault(line.stage, []).append(line)
        listed_by_stage: dict[str, list[NoticeLine]] = {}
        for line in listed:
            listed_by_stage.setdefault(line.stage, []).append(line)
        groups = []
        for stage in sorted(stages, key=lambda s: (self.urgency(s), s)):
            by_rule: dict[tuple[str, str, str, str], list[NoticeLine]] = {}
            for line in listed_by_stage.get(stage, []):
                key = (self.rule_titles.get(line.rule, line.rule), line.basis, line.duty, line.rule)
                by_rule.setdefault(key, []).append(line)
            rules = []
            for (title, basis, duty, rule), items in sorted(by_rule.items()):
                items.sort(key=lambda x: (x.due_on, x.case_id, x.period))
                in_stage = sum(1 for x in stages[stage] if x.rule == rule and x.basis == basis)
                rules.append({
                    "title": title, "basis": basis, "duty": DUTY_WORDS[duty], "count": in_stage,
                    "shown": len(items),
                    # Our reading of bvl21 § 2-2 (RULES.md): an extension decided after the
                    # due date does not cure the breach, so the warning says it before.
                    "extension_note": rule in EXTENDABLE and any(x.due_on >= as_of for x in items),
                    "lines": [{
                        "case_id": x.case_id, "period": period_label(x.period) if x.period else "",
                        **self._when(x, as_of),
                        "overdue": x.due_on < as_of, "unit": x.unit, "caseworker": x.caseworker or "–",
                        "repeat": x.earlier, "last": x.last, "link": self._link(x),
                        "assessed": ("årsak vurdert" if x.due_on >= as_of else "årsak registrert") if x.assessed
                        else ("årsak ikke vurdert" if x.due_on >= as_of else "årsak mangler"),
                    } for x in items],
                })
            groups.append({
                "stage": stage, "label": STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize()),
                "noun": _noun(stage, len(stages[stage])),
                "count": len(stages[stage]), "rules": rules,
            })
        return {
            "as_of": norwegian_date(as_of), "role": ROLE_GREETING.get(role, role),
            "total": len(lines), "notices": len(notices), "folded": len(notices) - len(lines),
            "groups": groups, "any_last": any(x.last for x in listed),
            "counts": [{"label": g["label"], "noun": g["noun"], "count": g["count"]} for g in groups],
            "summary": self._summary(lines, as_of),
            "shown": len(listed), "more": len(lines) - len(listed),
            "part": part if parts and parts > 1 else None, "parts": parts if parts and parts > 1 else None,
        }

    def _one_per_deadline(self, notices: list[NoticeLine]) -> list[NoticeLine]:
        """Each deadline once, at its most urgent stage (the latest repeat within it)."""
        best: dict[tuple, NoticeLine] = {}
        for line in notices:
            found = best.get(line.deadline)
            if found is None or (self.urgency(line.stage), -line.earlier) < (self.urgency(found.stage), -found.earlier):
                best[line.deadline] = line
        return list(best.values())

    def _summary(self, lines: list[NoticeLine], as_of: dt.date) -> list[dict]:
        """Per unit and rule: new breaches (a first notice), breaches without a reason,
        deadlines due within :data:`SOON_DAYS` days; by unit code, then rule title."""
        rows: dict[tuple[str, str], dict] = {}
        for x in lines:
            unit = x.unit  # the code, as on the lines below
            row = rows.setdefault((unit, self.rule_titles.get(x.rule, x.rule)),
                                  {"unit": unit, "title": self.rule_titles.get(x.rule, x.rule),
                                   "new": 0, "unexplained": 0, "soon": 0})
            if x.due_on < as_of:
                row["new"] += x.earlier == 0
                row["unexplained"] += not x.assessed
            elif (x.due_on - as_of).days <= SOON_DAYS:
                row["soon"] += 1
        return [rows[k] for k in sorted(rows)]

    def render(self, lines: Iterable[NoticeLine], as_of: dt.date, role: str, sender: str, recipient: str,
               message_id: str, now: dt.datetime, part: int | None = None,
               parts: int | None = None, shown: int = LINES_SHOWN) -> EmailMessage:
        """One e-mail; ``part`` of ``parts`` when the digest is split (shown only when
        there is more than one part); at most ``shown`` lines listed."""
        ctx = self.context(lines, as_of, role, part, parts, shown)
        msg = EmailMessage()
        subject = " ".join(self.parts["subject.txt"].render(ctx).split())
        msg["Subject"] = subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(self.parts["body.txt"].render(ctx))
        msg.add_alternative(self.parts["body.html"].render(ctx), subtype="html")
        return msg
