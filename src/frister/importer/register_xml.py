"""Reading one document of the national child-welfare register (Barnevern XSD 4.0.1 and
3.0.x) and mapping it to a contract-v2 record (:mod:`frister.facts.contract`).

The mapping writes nothing: it returns the record as the JSON Lines importer would have
read it, and the caller validates it with the same parser
(:func:`frister.facts.parse.parse_case`) and stores it with the same code
(:func:`frister.store.facts.replace_cases`). One description of the facts.

* **Streaming**: the document is read with ``iterparse``; each child of ``Sak`` is
  reduced to the few values frister maps as soon as it ends, and its element is freed.
* **Never read**: ``Fodselsnummer``, ``DUFnummer``, ``Kjonn`` and every ``Presisering``
  (free text) are never looked up, so they cannot be stored, logged or echoed; an error
  names the element path and what was expected there, never a value.
* **Strict where it maps**: a missing or malformed attribute that frister needs refuses
  the document (:class:`Refused`); what SSB's schema checks and frister does not need is
  left to the schema, when the operator names one (``FRISTER_REGISTER_XSD``).
* **Guesses are listed**: where the XML does not say something the contract needs (a
  plan matched to a measure by dates, a measure without a ``Relasjon`` from its
  ``Vedtak``), the mapping says what it assumed, by element type and id.

SSB's definitions (Kravspesifikasjon, "Definisjoner") decide what is a care order
(omsorgsovertakelse: BVL 4-12, BVL 4-8 second or third paragraph or with 4-12 among the
JmfrLovhjemmel, BVL2021 5-1) and what is a placement (Kategori 1.1, 1.2, 1.99, 2.1-2.6,
2.99, 8.2). BVL is the 1992 act (to 2022-12-31), BVL2021 the 2021 act.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import IO, Iterable

from lxml import etree

SOURCE = "barnevernsregisteret"
# What the register's XML does not carry; rules that need these give ``not_evaluated``.
# (Not here: a plan's own evaluation interval, absent meaning the guidance's; moves to
# another foster home, Flytting being the case's and not a placement's.)
NOT_DELIVERED = (
    "aftercare.assessed_on",  # Ettervern is the offer after 18, not the assessment before
    "investigations.extension.reason",
    "investigations.review_after_closing",
    "investigations.reviewed_after_closing_on",
    "placements.supervision_reduction_consent",  # a reduced Tilsyn/Hyppighet says nothing of consent
    "referrals.feedback_after_investigation_on",
    "referrals.feedback_sent_on",
    "referrals.obviously_unfounded",
)

DATE = "expected a date YYYY-MM-DD"
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_MUNICIPALITY = re.compile(r"^\d{4}$")
_BYDEL = re.compile(r"^\d{2}$")
_REF = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029][^\x00-\x1f\x7f-\x9f\u2028\u2029]*$")

REFERRAL_CONCLUSIONS = {"1": "closed", "2": "investigate", "3": "closed_active_measures",
                        "4": "in_ongoing_investigation", **{k: "closed" for k in ("5", "6", "7", "8", "9", "10")}}
INVESTIGATION_CONCLUSIONS = {"1": "measures", "2": "petition", **{k: "closed" for k in "3456789"}}
# Melder/@Kode: 1 the child, 2-4 private persons, 23 anonymous, 21 voluntary
# organisations, the rest public services (5-20, 22, 24, 25).
REPORTERS = {"1": "child", "2": "private", "3": "private", "4": "private", "21": "other", "23": "anonymous",
             **{str(k): "public" for k in (*range(5, 21), 22, 24, 25)}}
_REPORTER_ORDER = ("public", "child", "private", "other", "anonymous")  # the one kept when several differ
PLACEMENT_KINDS = {"1.1": "institution", "1.2": "institution", "1.99": "institution", "2.1": "foster_home",
                   "2.2": "foster_home", "2.3": "foster_home", "2.4": "foster_home", "2.5": "emergency",
                   "2.6": "emergency", "2.99": "foster_home"}
MEASURE_PLAN_TYPES = {"1"}  # Tiltaksplan, BVL2021 § 8-1 (BVL 4-5)
CARE_PLAN_TYPES = {"3", "4"}  # (foreløpig) omsorgsplan, BVL2021 § 8-3 (BVL 4-15)
# Akuttvedtak by Lovhjemmel (Lov, Kapittel, Paragraf) -> kind; BVL 4-6 only in its second paragraph.
EMERGENCY = {("BVL", "4", "6"): "care", ("BVL", "4", "25"): "behaviour", ("BVL", "4", "29"): "trafficking",
             ("BVL2021", "4", "2"): "care", ("BVL2021", "4", "4"): "behaviour", ("BVL2021", "4", "5"): "trafficking"}
APPROVED = "1"  # Vedtak/Status/@Kode: 1 godkjent, 2 begjæring oversendt nemnd, 3 utgått, 4 avslått
PETITION_SENT = "2"

_MAPPED = {"Personalia", "Melding", "Undersokelse", "Plan", "Tiltak", "Vedtak", "OversendelseFylkesnemnd",
           "Relasjon", "Slettet"}
_KNOWN = _MAPPED | {"Ettervern", "Flytting"}


class Refused(Exception):
    """A document frister cannot read: where (an element path) and what was expected."""

    def __init__(self, path: str, expected: str):
        self.path, self.expected = path, expected
        super().__init__(f"{path}: {expected}")


@dataclass
class Head:
    """The root's attributes: which snapshot this is, and when it was extracted."""

    document_id: str
    previous_id: str | None
    extracted_at: datetime  # UTC, naive


@dataclass
class Document:
    head: Head
    case_id: str
    deleted: bool  # Sak/@ErSlettet: the case is gone
    record: dict | None  # contract v2; None when deleted
    guesses: list[str] = field(default_factory=list)  # "Tiltak <id>: …"
    elements: dict[str, list[str]] = field(default_factory=dict)  # contract list -> element names, by index


def _parser(handle: IO[bytes], events: tuple[str, ...], **options):
    """No DTD, no entities, nothing from the network: a document is data, never instructions."""
    return etree.iterparse(handle, events=events, resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, **options)


def read_head(handle: IO[bytes]) -> Head:
    """The root element's attributes only (to order a folder's documents by extraction)."""
    try:
        for _, el in _parser(handle, events=("start",)):
            return _head(el)
    except etree.XMLSyntaxError as exc:
        raise Refused("(document)", _syntax(exc)) from None
    raise Refused("(document)", "expected a Barnevern document")


def _syntax(exc: etree.XMLSyntaxError) -> str:
    line, column = (exc.position if exc.position else (exc.lineno, 0))
    return f"expected well-formed XML (not so at line {line}, column {column})"


def _head(root) -> Head:
    if root.tag != "Barnevern":
        raise Refused("(root)", "expected the element Barnevern without a namespace (register schema 3.0 or 4.0)")
    document_id = root.get("Id")
    if document_id is None or not _UUID.match(document_id):
        raise Refused("Barnevern/@Id", "required: a UUID")
    previous = root.get("ForrigeId")
    if previous is not None and not _UUID.match(previous):
        raise Refused("Barnevern/@ForrigeId", "expected a UUID")
    stamp = root.get("DatoUttrekk")
    if stamp is None or not _DATETIME.match(stamp):
        raise Refused("Barnevern/@DatoUttrekk", "required: a date and time with time zone, "
                                                 "such as 2026-06-30T22:00:00Z")
    zone = _DATETIME.match(stamp).group(2)
    try:  # to the second: two snapshots of one case are not extracted within one
        at = datetime.fromisoformat(stamp[:19] + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise Refused("Barnevern/@DatoUttrekk", "expected a valid date and time") from None
    return Head(document_id.lower(), previous.lower() if previous else None,
                at.astimezone(timezone.utc).replace(tzinfo=None))


# --- reading -----------------------------------------------------------------------


def _day(el, name: str, path: str, required: bool = True) -> date | None:
    value = el.get(name)
    if value is None:
        if required:
            raise Refused(f"{path}/@{name}", f"required: {DATE[9:]}")
        return None
    m = _DATE.match(value)
    try:
        return date.fromisoformat(m.group(1)) if m else _bad(path, name)
    except ValueError:
        return _bad(path, name)


def _bad(path: str, name: str):
    raise Refused(f"{path}/@{name}", DATE)


def _code(el, name: str, path: str, allowed: Iterable[str], required: bool = True) -> str | None:
    value = el.get(name)
    if value is None:
        if required:
            raise Refused(f"{path}/@{name}", "required: a code of the register's code list")
        return None
    if value not in allowed:
        raise Refused(f"{path}/@{name}", "expected a code of the register's code list")
    return value


def _id(el, path: str) -> str:
    value = el.get("Id")
    if value is None or not _UUID.match(value):
        raise Refused(f"{path}/@Id", "required: a UUID")
    return value.lower()


def _deleted(el) -> bool:
    return el.get("ErSlettet") in ("true", "1")


def _law(el, path: str) -> tuple[str, str, str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(Lov, Kapittel, Paragraf, Ledd…, JmfrLovhjemmel (Kapittel, Paragraf)…)."""
    law = el.find("Lovhjemmel")
    if law is None:
        raise Refused(f"{path}/Lovhjemmel", "required: the element Lovhjemmel")
    parts = []
    for name in ("Lov", "Kapittel", "Paragraf"):
        text = (law.findtext(name) or "").strip()
        if not text or len(text) > 8:
            raise Refused(f"{path}/Lovhjemmel/{name}", f"required: the element {name}")
        parts.append(text)
    ledd = tuple((x.text or "").strip() for x in law.findall("Ledd"))
    compared = tuple(((j.findtext("Kapittel") or "").strip(), (j.findtext("Paragraf") or "").strip())
                     for j in el.findall("JmfrLovhjemmel"))
    return parts[0], parts[1], parts[2], ledd, compared


def is_care_order(law) -> bool:
    """SSB's definition of an omsorgsovertakelse, by the Lovhjemmel."""
    lov, kap, par, ledd, compared = law
    if lov == "BVL2021":
        return (kap, par) == ("5", "1")
    if lov != "BVL" or kap != "4":
        return False
    return par == "12" or (par == "8" and (bool({"2", "3"} & set(ledd)) or ("4", "12") in compared))


def _visits(el, path: str) -> tuple[list[tuple[date, str]], list[date]]:
    """(Hyppighet (StartDato, Kode)…, Utfort dates) of an Oppfolging or Tilsyn."""
    if el is None:
        return [], []
    often = [(_day(h, "StartDato", f"{path}/Hyppighet[{i}]"), _code(h, "Kode", f"{path}/Hyppighet[{i}]", ("2", "4")))
             for i, h in enumerate(el.findall("Hyppighet"), 1)]
    done = [_day(u, "UtfortDato", f"{path}/Utfort[{i}]") for i, u in enumerate(el.findall("Utfort"), 1)]
    return often, done


def _part(el, path: str) -> dict:
    """The values frister maps from one child of ``Sak`` (nothing else is looked up)."""
    tag = el.tag
    part: dict = {"tag": tag, "deleted": _deleted(el)}
    if tag == "Slettet":
        part.update(id=_id(el, path), type=el.get("Type"))
        return part
    if tag == "Relasjon":
        part.update(id=_id(el, path), fra=((el.get("FraType") or ""), (el.get("FraId") or "").lower()),
                    til=((el.get("TilType") or ""), (el.get("TilId") or "").lower()))
        return part
    part["id"] = _id(el, path)
    konklusjon = el.find("Konklusjon")
    if konklusjon is not None and _deleted(konklusjon):
        konklusjon = None
    if tag == "Personalia":  # only the birth date: never Fodselsnummer, DUFnummer or Kjonn
        part.update(start=_day(el, "StartDato", path), birth=_day(el, "Fodseldato", path))
    elif tag == "Melding":
        part.update(start=_day(el, "StartDato", path),
                    reporters=[_code(m, "Kode", f"{path}/Melder[{i}]", REPORTERS)
                               for i, m in enumerate(el.findall("Melder"), 1)])
        if konklusjon is not None:
            part.update(end=_day(konklusjon, "SluttDato", f"{path}/Konklusjon"),
                        code=_code(konklusjon, "Kode", f"{path}/Konklusjon", REFERRAL_CONCLUSIONS))
    elif tag == "Undersokelse":
        part["start"] = _day(el, "StartDato", path)
        extension = el.find("UtvidetFrist")
        if extension is not None:
            part["extension"] = (_day(extension, "StartDato", f"{path}/UtvidetFrist"),
                                 _code(extension, "Innvilget", f"{path}/UtvidetFrist", ("1", "2"), required=False))
        if konklusjon is not None:
            part.update(end=_day(konklusjon, "SluttDato", f"{path}/Konklusjon"),
                        code=_code(konklusjon, "Kode", f"{path}/Konklusjon", INVESTIGATION_CONCLUSIONS))
    elif tag == "Plan":
        part.update(start=_day(el, "StartDato", path),
                    type=_code(el, "Plantype", path, [str(k) for k in range(1, 9)]),
                    evaluations=[_day(e, "UtfortDato", f"{path}/Evaluering[{i}]")
                                 for i, e in enumerate(el.findall("Evaluering"), 1)],
                    end=_day(konklusjon, "SluttDato", f"{path}/Konklusjon") if konklusjon is not None else None)
    elif tag == "Tiltak":
        kategori = el.find("Kategori")
        if kategori is None or not kategori.get("Kode"):
            raise Refused(f"{path}/Kategori/@Kode", "required: a code of the register's code list")
        tilsyn = el.find("Tilsyn")
        responsible = [] if tilsyn is None else [
            (_day(a, "StartDato", f"{path}/Tilsyn/Ansvarlig[{i}]"), a.get("Kommunenummer"))
            for i, a in enumerate(tilsyn.findall("Ansvarlig"), 1)]
        for i, (_, number) in enumerate(responsible, 1):
            if number is None or not _MUNICIPALITY.match(number):
                raise Refused(f"{path}/Tilsyn/Ansvarlig[{i}]/@Kommunenummer", "required: four digits")
        part.update(start=_day(el, "StartDato", path), law=_law(el, path), category=kategori.get("Kode"),
                    followup=_visits(el.find("Oppfolging"), f"{path}/Oppfolging"),
                    supervision=_visits(tilsyn, f"{path}/Tilsyn"), responsible=responsible,
                    end=_day(konklusjon, "SluttDato", f"{path}/Konklusjon") if konklusjon is not None else None)
    elif tag == "Vedtak":
        part.update(start=_day(el, "StartDato", path), law=_law(el, path),
                    status=[(_day(s, "EndretDato", f"{path}/Status[{i}]"),
                             _code(s, "Kode", f"{path}/Status[{i}]", ("1", "2", "3", "4")))
                            for i, s in enumerate(el.findall("Status"), 1)])
    elif tag == "OversendelseFylkesnemnd":
        part["start"] = _day(el, "StartDato", path)
    return part


_TOP = ("Barnevern", "Fagsystem", "Avgiver", "Sak", "Individ")


def read_document(handle: IO[bytes]) -> tuple[Head, dict, list[dict]]:
    """The root's attributes, the case's own (``Sak``, ``Avgiver``) and the mapped
    parts of every child of ``Sak``, reading the document once. Only the elements named
    here raise events (the parser filters the rest); each is freed once read."""
    head = None
    case: dict = {}
    parts: list[dict] = []
    counts: dict[str, int] = {}
    try:
        for _, el in _parser(handle, events=("end",), tag=(*_TOP, *_KNOWN)):
            parent = el.getparent()
            if parent is None:
                head = _head(el)
                continue
            if parent.getparent() is None:  # a child of the root
                if el.tag == "Individ":
                    raise Refused("Barnevern/Individ", "expected Barnevern/Sak: Individ is the shape of the "
                                  "register's schema 1 and 2, which frister does not read (3.0 and 4.0 only)")
                if el.tag == "Avgiver":
                    case.update(_avgiver(el))
                elif el.tag == "Sak":
                    case.update(_case(el))
                el.clear()
                continue
            if parent.tag != "Sak" or el.tag not in _KNOWN:
                continue
            counts[el.tag] = counts.get(el.tag, 0) + 1
            if el.tag in _MAPPED:
                parts.append(_part(el, f"Barnevern/Sak/{el.tag}[{counts[el.tag]}]"))
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise Refused("(document)", _syntax(exc)) from None
    if head is None:
        raise Refused("(document)", "expected a Barnevern document")
    if "case_id" not in case:
        raise Refused("Barnevern/Sak", "required: the element Sak")
    if "municipality" not in case:
        raise Refused("Barnevern/Avgiver", "required: the element Avgiver")
    return head, case, parts


def _case(el) -> dict:
    number = el.get("Journalnummer")
    if number is None or not (1 <= len(number) <= 36) or not _REF.match(number):
        raise Refused("Barnevern/Sak/@Journalnummer", "required: 1 to 36 characters without control characters")
    return {"case_id": number, "deleted": _deleted(el)}


def _avgiver(el) -> dict:
    number = el.get("Kommunenummer")
    if number is None or not _MUNICIPALITY.match(number):
        raise Refused("Barnevern/Avgiver/@Kommunenummer", "required: four digits")
    bydel = el.get("Bydelsnummer")
    if bydel is not None and not _BYDEL.match(bydel):
        raise Refused("Barnevern/Avgiver/@Bydelsnummer", "expected two digits")
    # The natural unit: the bydel of a municipality that has them, else the municipality.
    return {"municipality": number, "unit": f"{number}-{bydel}" if bydel else number}


# --- mapping -----------------------------------------------------------------------


def map_document(head: Head, case: dict, parts: list[dict]) -> Document:
    """The contract-v2 record of a read document (see the module docstring)."""
    doc = Document(head, case["case_id"], case["deleted"], None)
    if doc.deleted:
        return doc
    gone = {(p["type"], p["id"]) for p in parts if p["tag"] == "Slettet"}
    live = [p for p in parts if p["tag"] != "Slettet" and not p["deleted"] and (p["tag"], p["id"]) not in gone]
    by_tag: dict[str, list[dict]] = {}
    for p in live:
        by_tag.setdefault(p["tag"], []).append(p)
    related: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for r in by_tag.get("Relasjon", []):
        related.setdefault(r["fra"], set()).add(r["til"])
        related.setdefault(r["til"], set()).add(r["fra"])
    index = {(p["tag"], p["id"]): p for p in live}

    def linked(p: dict, tag: str) -> list[dict]:
        return sorted((index[k] for k in related.get((p["tag"], p["id"]), ()) if k[0] == tag and k in index),
                      key=lambda q: (q.get("start") or date.min, q["id"]))

    guess = doc.guesses.append
    record: dict = {"case_id": case["case_id"], "municipality": case["municipality"], "unit": case["unit"]}
    people = sorted(by_tag.get("Personalia", []), key=lambda p: (p["start"], p["id"]))
    if people:
        record["child"] = {"birth_date": people[-1]["birth"]}
    elements: dict[str, list[str]] = {}

    referrals = []
    for m in by_tag.get("Melding", []):
        kinds = {REPORTERS[c] for c in m["reporters"]}
        reporter = next((k for k in _REPORTER_ORDER if k in kinds), None)
        if len(kinds) > 1:
            guess(f"Melding {m['id']}: reporters of several kinds; counted as {reporter}")
        referrals.append({"id": m["id"], "received_on": m["start"], "concluded_on": m.get("end"),
                          "conclusion": REFERRAL_CONCLUSIONS.get(m.get("code")), "reporter": reporter})
        elements.setdefault("referrals", []).append(f"Melding {m['id']}")
    record["referrals"] = referrals

    investigations = []
    for u in by_tag.get("Undersokelse", []):
        item = {"id": u["id"], "started_on": u["start"], "concluded_on": u.get("end"),
                "conclusion": INVESTIGATION_CONCLUSIONS.get(u.get("code"))}
        origin = linked(u, "Melding")
        if origin:
            item["referral_id"] = origin[0]["id"]
            if len(origin) > 1:
                guess(f"Undersokelse {u['id']}: Relasjon from several Melding; linked to the earliest")
        else:
            same_day = [m for m in by_tag.get("Melding", []) if m.get("code") == "2" and m.get("end") == u["start"]]
            if same_day:
                item["referral_id"] = same_day[0]["id"]
                guess(f"Undersokelse {u['id']}: no Relasjon from a Melding; linked to Melding {same_day[0]['id']} "
                      "concluded 'ikke henlagt' on its start date")
            else:
                guess(f"Undersokelse {u['id']}: no Relasjon from a Melding; imported without its referral")
        if "extension" in u:
            requested, granted = u["extension"]
            if granted is None:
                guess(f"Undersokelse {u['id']}: UtvidetFrist without Innvilget; counted as not granted")
            item["extension"] = {"requested_on": requested, "granted": granted == "1"}
        investigations.append(item)
        elements.setdefault("investigations", []).append(f"Undersokelse {u['id']}")
    record["investigations"] = investigations

    plans = sorted(by_tag.get("Plan", []), key=lambda p: (p["start"], p["id"]))
    measure_plans = [p for p in plans if p["type"] in MEASURE_PLAN_TYPES]
    care_plans = [p for p in plans if p["type"] in CARE_PLAN_TYPES]
    measures, placements = [], []
    for t in by_tag.get("Tiltak", []):
        care = is_care_order(t["law"])
        decisions = linked(t, "Vedtak")
        if decisions:
            decided = decisions[0]["start"]
        else:
            decided = t["start"]
            guess(f"Tiltak {t['id']}: no Relasjon from a Vedtak; decided_on is its StartDato")
        measure = {"id": t["id"], "kind": "care" if care else "support", "decided_on": decided,
                   "ended_on": t["end"]}
        if not care:
            plan = _plan_of(t, decided, linked(t, "Plan"), measure_plans, guess)
            if plan is not None:
                measure.update(plan_made_on=plan["start"], evaluations=plan["evaluations"])
        measures.append(measure)
        elements.setdefault("measures", []).append(f"Tiltak {t['id']}")
        kind = PLACEMENT_KINDS.get(t["category"])
        if t["category"] == "8.2":
            guess(f"Tiltak {t['id']}: Kategori 8.2 (bolig med oppfølging) is a placement for SSB; "
                  "frister has no such kind of placement, imported as a measure only")
        if kind is None:
            continue
        (followup_rate, followup), (supervision_rate, supervision) = t["followup"], t["supervision"]
        placement = {"id": t["id"], "kind": kind, "started_on": t["start"], "ended_on": t["end"],
                     "followup_visits": followup, "supervision_visits": supervision,
                     "followup_reduced_on": _reduced(followup_rate),
                     "supervision_reduced_on": _reduced(supervision_rate)}
        if t["responsible"]:
            placement["supervision_municipality"] = max(t["responsible"])[1]
        placements.append(placement)
        elements.setdefault("placements", []).append(f"Tiltak {t['id']}")
    record["measures"], record["placements"] = measures, placements

    care_orders, emergencies = [], []
    for v in by_tag.get("Vedtak", []):
        status = max(v["status"], default=(None, None))[1]
        lov, kap, par, ledd, _ = v["law"]
        if is_care_order(v["law"]):
            if status != APPROVED:
                continue  # a petition not (yet) granted, or one that lapsed or was refused
            order = {"id": v["id"], "decided_on": v["start"]}
            own = linked(v, "Tiltak")
            done = [t for t in own if t["start"] >= v["start"]]
            if own and not done:  # placed before the order (an emergency placement): carried on from its date
                order["implemented_on"] = v["start"]
                guess(f"Vedtak {v['id']}: its Tiltak {own[0]['id']} started before the decision; "
                      "implemented_on is the decision's date")
            elif not done:
                later = [t for t in by_tag.get("Tiltak", []) if is_care_order(t["law"]) and t["start"] >= v["start"]]
                if later:
                    done = sorted(later, key=lambda t: (t["start"], t["id"]))[:1]
                    guess(f"Vedtak {v['id']}: no Relasjon to a Tiltak; implemented_on from Tiltak {done[0]['id']} "
                          "(the first care measure from its date)")
            if done:
                order["implemented_on"] = done[0]["start"]
            plan = [p for p in linked(v, "Plan") if p["type"] in CARE_PLAN_TYPES]
            if not plan and care_plans:
                plan = [p for p in care_plans if p["start"] >= v["start"]][:1] or care_plans[:1]
                guess(f"Vedtak {v['id']}: care plan Plan {plan[0]['id']} matched by dates (the first omsorgsplan "
                      "from the decision, else the first one; no Relasjon)")
            if plan:
                order["care_plan_made_on"] = plan[0]["start"]
            care_orders.append(order)
            elements.setdefault("care_orders", []).append(f"Vedtak {v['id']}")
            continue
        kind = EMERGENCY.get((lov, kap, par))
        if kind is None or ((lov, par) == ("BVL", "6") and "2" not in ledd):
            continue
        petition = min((d for d, code in v["status"] if code == PETITION_SENT), default=None)
        if petition is None:
            sent = linked(v, "OversendelseFylkesnemnd")
            petition = sent[0]["start"] if sent else None
        emergencies.append({"id": v["id"], "kind": kind, "decided_on": v["start"], "petition_sent_on": petition})
        elements.setdefault("emergency_decisions", []).append(f"Vedtak {v['id']}")
    record["care_orders"], record["emergency_decisions"] = care_orders, emergencies
    doc.record = record  # dates as dates: parse_case reads them as JSON would give them
    doc.elements = elements
    return doc


def _reduced(rates: list[tuple[date, str]]) -> date | None:
    """The day the visits were reduced: the start of the latest Hyppighet when it is the
    reduced one (2 a year), of the run of reduced ones that ends with it."""
    rates = sorted(rates)
    if not rates or rates[-1][1] != "2":
        return None
    i = len(rates) - 1
    while i > 0 and rates[i - 1][1] == "2":
        i -= 1
    return rates[i][0]


def _plan_of(t: dict, decided: date, related: list[dict], plans: list[dict], guess) -> dict | None:
    """The measure plan of a support measure: one related to it by a Relasjon, else the
    first tiltaksplan started on or after its decision, else the latest one before it
    that was still running then (one plan can cover several measures)."""
    own = [p for p in related if p["type"] in MEASURE_PLAN_TYPES]
    if own:
        return own[0]
    if not plans:
        return None
    after = [p for p in plans if p["start"] >= decided]
    before = [p for p in plans if p["start"] < decided and (p["end"] is None or p["end"] >= decided)]
    plan = after[0] if after else (before[-1] if before else None)
    if plan is not None:
        guess(f"Tiltak {t['id']}: measure plan Plan {plan['id']} matched by dates (no Relasjon)")
    return plan
