"""Synthetic documents of the national child-welfare register (Barnevern XSD 4.0.1).

For tests and the demo: :func:`generate_cases` makes cases as small plans
(:class:`RegisterCase`), and each plan is written two ways, independently of the
importer: as a register document (:func:`to_xml`, valid against SSB's schema) and as the
contract-v2 record that the same case would be in frister's own JSON Lines
(:func:`to_contract`). The importer's mapping is tested by comparing the two.

Identity numbers are synthetic and fail the mod-11 checksum
(:func:`synthetic_fodselsnummer`), so no document can name a real person; the DUF
number, sex and free text (``Presisering``) are filled in too, so that tests can prove
the importer never stores or echoes them. Never use SSB's own sample files instead:
they hold checksum-valid identity numbers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from xml.sax.saxutils import quoteattr

from frister.importer.register_xml import NOT_DELIVERED, SOURCE

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mod11_valid(number: str) -> bool:
    """Whether an 11-digit fødselsnummer has valid mod-11 control digits."""
    if len(number) != 11 or not number.isdigit():
        return False
    d = [int(c) for c in number]
    k1 = 11 - sum(w * x for w, x in zip(_W1, d)) % 11
    k2 = 11 - sum(w * x for w, x in zip(_W2, d)) % 11
    k1, k2 = (0 if k1 == 11 else k1), (0 if k2 == 11 else k2)
    return k1 == d[9] and k2 == d[10]


def synthetic_fodselsnummer(rng: random.Random, born: date) -> str:
    """An 11-digit number shaped like a fødselsnummer of ``born`` whose first control
    digit is wrong: it fails the mod-11 check, so it is nobody's."""
    base = f"{born:%d%m%y}{rng.randrange(500, 1000):03d}"
    d = [int(c) for c in base]
    k1 = (11 - sum(w * x for w, x in zip(_W1, d)) % 11) % 11
    wrong = (k1 + 1 + rng.randrange(8)) % 10 if k1 < 10 else rng.randrange(10)
    if wrong == k1:
        wrong = (wrong + 1) % 10
    number = f"{base}{wrong}{rng.randrange(10)}"
    assert not mod11_valid(number)
    return number


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class RegisterCase:
    """One generated case: what both writers need, and nothing they could disagree on."""

    journalnummer: str
    kommune: str
    bydel: str | None
    sak_id: str
    start: date
    birth: date
    fnr: str
    duf: str
    referral: dict = field(default_factory=dict)  # id, received, concluded, code, melder
    investigation: dict | None = None  # id, started, concluded, code, extension (requested, granted)
    support: dict | None = None  # vedtak_id, tiltak_id, decided, started, ended, plan_id, plan, evaluations
    care: dict | None = None  # vedtak_id, tiltak_id, decided, implemented, plan_id, plan, followup, supervision, ...
    emergency: dict | None = None  # vedtak_id, decided, petition
    deleted: bool = False

    @property
    def unit(self) -> str:
        return f"{self.kommune}-{self.bydel}" if self.bydel else self.kommune


def generate_cases(n: int, as_of: date, seed: int = 1) -> list[RegisterCase]:
    """``n`` cases, all events on or before ``as_of``, some late, some open."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kommune, bydel = rng.choice([("3025", None), ("0301", "01"), ("0301", "12")])
        received = as_of - timedelta(days=rng.randrange(20, 700))
        birth = received - timedelta(days=rng.randrange(400, 6000))
        case = RegisterCase(
            journalnummer=f"RX-{seed}-{i:05d}", kommune=kommune, bydel=bydel, sak_id=_uuid(rng), start=received,
            birth=birth, fnr=synthetic_fodselsnummer(rng, birth), duf=f"{rng.randrange(10**11, 10**12):012d}")
        concluded = received + timedelta(days=rng.choice([3, 6, 7, 9, 14]))
        open_referral = concluded > as_of or rng.random() < 0.05
        code = rng.choice(["1", "2", "2", "2", "3"]) if not open_referral else None
        case.referral = dict(id=_uuid(rng), received=received, concluded=None if open_referral else concluded,
                             code=code, melder=rng.choice(["1", "2", "8", "9", "11", "23"]))
        if code == "2":
            started = concluded
            inv = dict(id=_uuid(rng), started=started, concluded=None, code=None, extension=None)
            length = rng.choice([40, 85, 95, 120, 200])
            if length > 90 and rng.random() < 0.5 and started + timedelta(days=80) <= as_of:
                inv["extension"] = (started + timedelta(days=80), rng.random() < 0.8)
            if started + timedelta(days=length) <= as_of:
                inv["concluded"] = started + timedelta(days=length)
                inv["code"] = rng.choice(["1", "1", "3"])
            case.investigation = inv
            if inv["code"] == "1":
                decided = inv["concluded"] + timedelta(days=rng.randrange(0, 10))
                if decided + timedelta(days=2) <= as_of:
                    plan_on = decided + timedelta(days=rng.choice([0, 20, 60]))
                    step = rng.choice([80, 88, 95, 150])  # quarterly as a rule, some too seldom
                    evaluations = [d for d in (plan_on + timedelta(days=step * k) for k in range(1, 5))
                                   if d <= as_of]
                    ended = decided + timedelta(days=300)
                    case.support = dict(vedtak_id=_uuid(rng), tiltak_id=_uuid(rng), decided=decided,
                                        started=decided + timedelta(days=2),
                                        ended=ended if ended <= as_of and rng.random() < 0.3 else None,
                                        plan_id=_uuid(rng), plan=plan_on if plan_on <= as_of else None,
                                        evaluations=evaluations if plan_on <= as_of else [],
                                        kategori=rng.choice(["3.9", "4.3", "4.6"]))
        if rng.random() < 0.25:
            decided = as_of - timedelta(days=rng.randrange(30, 900))
            implemented = decided + timedelta(days=rng.choice([3, 10, 60]))
            if implemented > as_of:
                implemented = as_of
            plan_on = decided + timedelta(days=rng.choice([20, 200, 800]))
            half = [implemented + timedelta(days=k) for k in range(30, (as_of - implemented).days, 85)]
            case.care = dict(vedtak_id=_uuid(rng), tiltak_id=_uuid(rng), decided=decided, implemented=implemented,
                             plan_id=_uuid(rng), plan=plan_on if plan_on <= as_of else None,
                             followup=[d for d in half if rng.random() < 0.8],
                             supervision=[d + timedelta(days=5) for d in half if rng.random() < 0.7
                                          and d + timedelta(days=5) <= as_of],
                             tilsyn_kommune=rng.choice(["3025", "0219", "0301"]),
                             reduced=(implemented + timedelta(days=400)) if rng.random() < 0.2
                             and implemented + timedelta(days=400) <= as_of else None,
                             kategori=rng.choice(["2.1", "2.2"]))
        if rng.random() < 0.1:
            decided = as_of - timedelta(days=rng.randrange(10, 400))
            petition = decided + timedelta(days=rng.choice([10, 30, 50]))
            case.emergency = dict(vedtak_id=_uuid(rng), decided=decided,
                                  petition=petition if petition <= as_of else None)
        out.append(case)
    return out


def _law(on: date, chapter_1992: tuple, chapter_2021: tuple) -> str:
    """A Lovhjemmel element: the 1992 act before 2023, the 2021 act from then on."""
    lov, (kap, par, *ledd) = ("BVL", chapter_1992) if on < date(2023, 1, 1) else ("BVL2021", chapter_2021)
    ledd_xml = "".join(f"<Ledd>{x}</Ledd>" for x in ledd)
    return f"<Lovhjemmel><Lov>{lov}</Lov><Kapittel>{kap}</Kapittel><Paragraf>{par}</Paragraf>{ledd_xml}</Lovhjemmel>"


def _a(**attrs) -> str:
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)


def to_xml(case: RegisterCase, extracted: datetime, document_id: str, previous_id: str | None = None) -> str:
    """The case as one ``Barnevern`` document (schema 4.0.1)."""
    rng = random.Random(document_id)
    ident = lambda: _uuid(rng)  # noqa: E731 - ids of the parts that frister does not map
    x: list[str] = []
    r = case.referral
    personalia = _a(Id=ident(), StartDato=case.start, Fodselsnummer=case.fnr, Fodseldato=case.birth,
                    Kjonn=rng.choice("12"), DUFnummer=case.duf)
    x.append(f"<Personalia{personalia}/>")
    konkl = f"<Konklusjon{_a(SluttDato=r['concluded'], Kode=r['code'])}/>" if r["concluded"] else ""
    saksinnhold = f"<Saksinnhold{_a(Kode='3')}/>" if r["concluded"] else ""
    x.append(f"<Melding{_a(Id=r['id'], StartDato=r['received'])}>"
             f"<Melder{_a(Kode=r['melder'], Presisering='Fritekst om ' + case.fnr)}/>{saksinnhold}{konkl}</Melding>")
    inv = case.investigation
    if inv:
        body = ""
        if inv["extension"]:
            requested, granted = inv["extension"]
            body += f"<UtvidetFrist{_a(StartDato=requested, Innvilget='1' if granted else '2')}/>"
        if inv["concluded"]:
            body = f"<Vedtaksgrunnlag{_a(Kode='4')}/>" + body
            body += f"<Konklusjon{_a(SluttDato=inv['concluded'], Kode=inv['code'])}/>"
        x.append(f"<Undersokelse{_a(Id=inv['id'], StartDato=inv['started'])}>{body}</Undersokelse>")
    s, c = case.support, case.care
    if s and s["plan"]:
        evals = "".join(f"<Evaluering{_a(UtfortDato=d)}/>" for d in s["evaluations"])
        x.append(f"<Plan{_a(Id=s['plan_id'], StartDato=s['plan'], Plantype='1')}>{evals}</Plan>")
    if c and c["plan"]:
        x.append(f"<Plan{_a(Id=c['plan_id'], StartDato=c['plan'], Plantype='4')}/>")
    if s:
        end = f"<Konklusjon{_a(SluttDato=s['ended'])}/>" if s["ended"] else ""
        x.append(f"<Tiltak{_a(Id=s['tiltak_id'], StartDato=s['started'])}>"
                 f"{_law(s['decided'], ('4', '4', '2'), ('3', '1'))}<Kategori{_a(Kode=s['kategori'])}/>{end}</Tiltak>")
    if c:
        tilsyn = oppfolging = ""
        hyppighet = [f"<Hyppighet{_a(Id=ident(), StartDato=c['implemented'], Kode='4')}/>"]
        if c["reduced"]:
            hyppighet.append(f"<Hyppighet{_a(Id=ident(), StartDato=c['reduced'], Kode='2')}/>")
        tilsyn = (f"<Tilsyn><Ansvarlig{_a(Id=ident(), StartDato=c['implemented'], Kommunenummer=c['tilsyn_kommune'])}/>"
                  + "".join(hyppighet)
                  + "".join(f"<Utfort{_a(Id=ident(), UtfortDato=d)}/>" for d in c["supervision"]) + "</Tilsyn>")
        oppfolging = (f"<Oppfolging><Hyppighet{_a(Id=ident(), StartDato=c['implemented'], Kode='4')}/>"
                      + "".join(f"<Utfort{_a(Id=ident(), UtfortDato=d)}/>" for d in c["followup"]) + "</Oppfolging>")
        x.append(f"<Tiltak{_a(Id=c['tiltak_id'], StartDato=c['implemented'])}>"
                 f"{_law(c['decided'], ('4', '12'), ('5', '1'))}<Kategori{_a(Kode=c['kategori'])}/>"
                 f"{tilsyn}{oppfolging}</Tiltak>")
    relations = []
    if s:
        x.append(f"<Vedtak{_a(Id=s['vedtak_id'], StartDato=s['decided'])}>{_law(s['decided'], ('4', '4', '2'), ('3', '1'))}"
                 f"<Status{_a(Id=ident(), EndretDato=s['decided'], Kode='1')}/></Vedtak>")
        relations.append((s["vedtak_id"], "Vedtak", s["tiltak_id"], "Tiltak"))
    if c:
        x.append(f"<Vedtak{_a(Id=c['vedtak_id'], StartDato=c['decided'])}>{_law(c['decided'], ('4', '12'), ('5', '1'))}"
                 f"<Status{_a(Id=ident(), EndretDato=c['decided'], Kode='1')}/></Vedtak>")
        relations.append((c["vedtak_id"], "Vedtak", c["tiltak_id"], "Tiltak"))
    e = case.emergency
    if e:
        status = f"<Status{_a(Id=ident(), EndretDato=e['decided'], Kode='1')}/>"
        if e["petition"]:
            status += f"<Status{_a(Id=ident(), EndretDato=e['petition'], Kode='2')}/>"
        x.append(f"<Vedtak{_a(Id=e['vedtak_id'], StartDato=e['decided'])}>"
                 f"{_law(e['decided'], ('4', '6', '2'), ('4', '2'))}{status}</Vedtak>")
    if inv:
        relations.insert(0, (r["id"], "Melding", inv["id"], "Undersokelse"))
    x += [f"<Relasjon{_a(Id=ident(), FraId=a, FraType=at, TilId=b, TilType=bt)}/>" for a, at, b, bt in relations]
    sak = _a(Id=case.sak_id, StartDato=case.start, Journalnummer=case.journalnummer,
             ErSlettet="true" if case.deleted else None)
    avgiver = _a(Organisasjonsnummer="999999999", Kommunenummer=case.kommune, Kommunenavn="Testkommune",
                 Bydelsnummer=case.bydel, Bydelsnavn=f"Bydel {case.bydel}" if case.bydel else None)
    root = _a(Id=document_id, ForrigeId=previous_id, DatoUttrekk=extracted.astimezone(timezone.utc)
              .strftime("%Y-%m-%dT%H:%M:%SZ"))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Barnevern{root}><Fagsystem{_a(Leverandor='Syntetisk', Navn='frister-generator', Versjon='1')}/>"
            f"<Avgiver{avgiver}/><Sak{sak}>{''.join(x)}</Sak></Barnevern>\n")


def to_contract(case: RegisterCase) -> dict:
    """The same case as a contract-v2 record, written from the plan (not from the XML)."""
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    r = case.referral
    conclusion = {"1": "closed", "2": "investigate", "3": "closed_active_measures"}.get(r["code"])
    reporter = {"1": "child", "2": "private", "23": "anonymous"}.get(r["melder"], "public")
    record: dict = {"case_id": case.journalnummer, "municipality": case.kommune, "unit": case.unit,
                    "child": {"birth_date": iso(case.birth)},
                    "referrals": [{"id": r["id"], "received_on": iso(r["received"]),
                                   "concluded_on": iso(r["concluded"]), "conclusion": conclusion,
                                   "reporter": reporter}]}
    inv = case.investigation
    if inv:
        item = {"id": inv["id"], "referral_id": r["id"], "started_on": iso(inv["started"]),
                "concluded_on": iso(inv["concluded"]),
                "conclusion": {"1": "measures", "2": "petition"}.get(inv["code"], "closed" if inv["code"] else None)}
        if inv["extension"]:
            item["extension"] = {"requested_on": iso(inv["extension"][0]), "granted": inv["extension"][1]}
        record["investigations"] = [item]
    measures, placements = [], []
    s, c = case.support, case.care
    if s:
        measures.append({"id": s["tiltak_id"], "kind": "support", "decided_on": iso(s["decided"]),
                         "ended_on": iso(s["ended"]), "plan_made_on": iso(s["plan"]),
                         "evaluations": [iso(d) for d in s["evaluations"]]})
    if c:
        measures.append({"id": c["tiltak_id"], "kind": "care", "decided_on": iso(c["decided"])})
        record["care_orders"] = [{"id": c["vedtak_id"], "decided_on": iso(c["decided"]),
                                  "implemented_on": iso(c["implemented"]), "care_plan_made_on": iso(c["plan"])}]
        placements.append({"id": c["tiltak_id"], "kind": "foster_home", "started_on": iso(c["implemented"]),
                           "supervision_municipality": c["tilsyn_kommune"],
                           "supervision_reduced_on": iso(c["reduced"]),
                           "followup_visits": [iso(d) for d in c["followup"]],
                           "supervision_visits": [iso(d) for d in c["supervision"]]})
    if measures:
        record["measures"] = measures
    if placements:
        record["placements"] = placements
    e = case.emergency
    if e:
        record["emergency_decisions"] = [{"id": e["vedtak_id"], "kind": "care", "decided_on": iso(e["decided"]),
                                          "petition_sent_on": iso(e["petition"])}]
    return record


def contract_header(extracted_on: date) -> dict:
    """The header line a JSON Lines export of the same cases has."""
    return {"frister_export": 2, "source": SOURCE, "extracted_on": extracted_on.isoformat(),
            "not_delivered": list(NOT_DELIVERED)}
