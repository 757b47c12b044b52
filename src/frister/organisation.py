"""The organisation as it is: the service's municipalities, its units as a tree, and the
leaders at each level — loaded strictly from one YAML file (``config/organisation.yaml``).

::

    service: Midt-Buskerud barneverntjeneste
    allowed_domains: [barnevern.kommune.example]
    municipalities:            # the councils the service reports to (number: name)
      "3316": Modum
      "3318": Krødsherad
    units:                     # the unit codes of the case system, as a tree
      mottak: {name: Mottak}
      undersokelse:
        name: Undersøkelse
        units:
          us-nord: {name: Undersøkelse nord}
          us-sor: {name: Undersøkelse sør}
    leaders:
      - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
      - {role: avdelingsleder, email: leder.us@barnevern.kommune.example, units: [undersokelse]}
      - {role: teamleder, email: leder.nord@barnevern.kommune.example, units: [us-nord],
         deputy: nestleder.nord@barnevern.kommune.example, away_until: 2025-07-31}
      - {role: stab, email: [controller@barnevern.kommune.example, stab@barnevern.kommune.example]}

**Several addresses, a deputy.** ``email`` may be a list: e-mails go to the first, with
the others in copy (Cc). A ``deputy`` (stedfortreder) is in copy while the leader is
away: on every night up to and including ``away_until``.

**Routing.** A notice for ``role`` about an obligation held by unit U goes to the leader
of that role who holds U or, failing that, the nearest unit above U; a teamleder that
cannot be found is looked for as an avdelingsleder, and an avdelingsleder as the
barnevernsjef, so nothing is silently dropped. A unit the file does not know (a code
new in the data) is treated as a unit at the top: its notices go to the barnevernsjef
until the file names it (``frister org check`` lists such units).

**Grouping.** Reports credit each obligation to the unit that held its step; a unit's
total in the tree is its own plus that of every unit below it (a department is the sum of
its teams). Display names (æøå) come from here; a unit without one is shown by its code.

Every address is one plain address in an allowed domain
(:func:`frister.notify.address.parse_mailbox`). Every problem is a
:class:`~frister.errors.ConfigError` naming the file and the path inside it
(``units.undersokelse.units.us-nord.name``); all problems of a file are reported together.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from frister.errors import ConfigError, RuleError
from frister.notify.address import AddressError, parse_mailbox
from frister.rules.loader import _Node, read_yaml

ROLES = ("barnevernsjef", "avdelingsleder", "teamleder", "stab")
LEADING = ("avdelingsleder", "teamleder")  # roles that hold units
_FALLBACK = {"teamleder": "avdelingsleder", "avdelingsleder": "barnevernsjef"}
_UNIT_CODE = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]{1,64}$")
_MUNICIPALITY = re.compile(r"^[0-9]{4}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # as the case system writes it (the ``unit`` of a case or step)
    name: str
    parent: str | None
    depth: int


@dataclass(frozen=True, slots=True)
class Leader:
    role: str
    email: str  # the first address: the one notices are addressed to
    units: tuple[str, ...] = ()
    copies: tuple[str, ...] = ()  # the other addresses given (a shared mailbox): in copy
    deputy: str | None = None  # the stedfortreder, in copy while the leader is away
    away_until: dt.date | None = None  # the last day the leader is away (inclusive)


@dataclass(frozen=True)
class Organisation:
    """The service's municipalities, unit tree and leaders (see the module docstring)."""

    allowed_domains: tuple[str, ...]
    leaders: tuple[Leader, ...]
    units: Mapping[str, Unit] = field(default_factory=dict)  # in tree order
    municipalities: Mapping[str, str] = field(default_factory=dict)  # number -> name
    service: str = "barneverntjenesten"
    source: str = ""

    # --- the tree ------------------------------------------------------------------------

    def chain(self, unit: str) -> list[str]:
        """``unit`` and every unit above it, nearest first."""
        out = [unit]
        parent = self.units[unit].parent if unit in self.units else None
        while parent is not None:
            out.append(parent)
            parent = self.units[parent].parent
        return out

    def below(self, unit: str) -> list[str]:
        """``unit`` and every unit under it, in tree order."""
        return [code for code in self.units if unit in self.chain(code)] or [unit]

    def name(self, unit: str) -> str:
        """The unit's display name, or its code when the file gives none or does not know it."""
        known = self.units.get(unit)
        return known.name if known else unit

    def municipality_name(self, number: str | None) -> str:
        if number is None:
            return "(uten kommune)"
        return self.municipalities.get(number, number)

    def tree(self, seen: Iterable[str] = ()) -> list[Unit]:
        """The units in tree order, then the units ``seen`` in the data that the file does
        not know, at the top, by code."""
        unknown = sorted(set(seen) - set(self.units))
        return [*self.units.values(), *(Unit(code, code, None, 0) for code in unknown)]

    # --- routing -------------------------------------------------------------------------

    @property
    def barnevernsjef(self) -> str:
        return next(leader.email for leader in self.leaders if leader.role == "barnevernsjef")

    @property
    def stab(self) -> str | None:
        return next((leader.email for leader in self.leaders if leader.role == "stab"), None)

    def address(self, role: str, unit: str) -> str | None:
        """The address for ``role`` on an obligation held by ``unit`` (see Routing)."""
        if role == "barnevernsjef":
            return self.barnevernsjef
        if role == "stab":
            return self.stab
        if role not in LEADING:
            return None
        for code in self.chain(unit):
            for leader in self.leaders:
                if leader.role == role and code in leader.units:
                    return leader.email
        return self.address(_FALLBACK[role], unit)

    def role_of(self, address: str) -> str:
        """The role an address is greeted with: its highest."""
        roles = {leader.role for leader in self.leaders if leader.email == address}
        return next((role for role in ROLES if role in roles), "stab")

    def all_addresses(self) -> list[str]:
        """Every address of the file: leaders', their copies and deputies."""
        return list(dict.fromkeys(a for leader in self.leaders
                                  for a in (leader.email, *leader.copies, *filter(None, [leader.deputy]))))

    def copies_for(self, address: str, as_of: dt.date) -> list[str]:
        """Who gets a copy of an e-mail to ``address`` as of ``as_of``: the other
        addresses given with it, and the deputy of a leader away on that day."""
        out: list[str] = []
        for leader in self.leaders:
            if leader.email == address:
                out.extend(leader.copies)
                if leader.deputy and leader.away_until and as_of <= leader.away_until:
                    out.append(leader.deputy)
        return [a for a in dict.fromkeys(out) if a != address]

    def check(self, address: str) -> None:
        """Refuse an address outside the allowed domains (the last check before sending)."""
        if not domain_allowed(address, self.allowed_domains):
            raise ConfigError(f"{self.source}: recipient address outside the allowed domains")

    def leaders_of(self, unit: str) -> list[Leader]:
        """The leaders holding ``unit`` itself (not through a unit above it)."""
        return [leader for leader in self.leaders if unit in leader.units]


@dataclass(frozen=True)
class Finding:
    """One difference between the organisation file and the data. ``problem``: the file
    must change (a unit or municipality it does not know); otherwise a note."""

    problem: bool
    text: str


def compare(org: Organisation, units: Mapping[str, Mapping[str, int]],
            municipalities: Mapping[str | None, int]) -> list[Finding]:
    """What the file and the data (:func:`frister.store.facts.holdings`) disagree on:
    units and municipalities in the data the file does not know (their notices go to the
    barnevernsjef, their figures stand apart), caseworkers in more than one unit, units
    whose notices reach no leader of their own, and units or municipalities without data."""
    out: list[Finding] = []
    for code in sorted(set(units) - set(org.units)):
        n = sum(units[code].values())
        out.append(Finding(True, f"unit {code!r} holds {n} case(s) or step(s) but is not in the file "
                                 "(its notices go to the barnevernsjef)"))
    for number in sorted(m for m in municipalities if m is not None and m not in org.municipalities):
        out.append(Finding(True, f"municipality {number} has {municipalities[number]} case(s) but is not in the file"))
    if org.municipalities and municipalities.get(None):
        out.append(Finding(False, f"{municipalities[None]} case(s) have no municipality (contract v1): they are "
                                  "counted for the service only"))
    for code in sorted(set(units) & set(org.units)):
        if not any(org.leaders_of(up) for up in org.chain(code)):
            out.append(Finding(False, f"unit {code!r} has no avdelingsleder or teamleder at or above it: "
                                      "its notices go to the barnevernsjef"))
    seen_in: dict[str, list[str]] = {}
    for code, caseworkers in units.items():
        for caseworker in caseworkers:
            if caseworker:
                seen_in.setdefault(caseworker, []).append(code)
    for caseworker, codes in sorted(seen_in.items()):
        if len(codes) > 1:
            out.append(Finding(False, f"caseworker {caseworker!r} holds steps in {len(codes)} units: "
                                      f"{', '.join(sorted(codes))}"))
    for code in org.units:
        if not any(below in units for below in org.below(code)):
            out.append(Finding(False, f"unit {code!r} holds nothing in the data"))
    for number in org.municipalities:
        if not municipalities.get(number):
            out.append(Finding(False, f"municipality {number} ({org.municipalities[number]}) has no case in the data"))
    return out


def organisation_of(settings, ladder_roles: Iterable[str] = (), example: bool = False) -> Organisation | None:
    """The organisation the settings name (:attr:`frister.settings.Settings.organisation_file`),
    loaded; with ``example`` and no file of the service's own, the bundled example (for
    the console transport and the demo); else None."""
    path = settings.organisation_file
    if path is None and example:
        path = settings.config_dir / "organisation.example.yaml"
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(f"{path}: organisation file not found (FRISTER_ORGANISATION_CONFIG)")
    return load_organisation(path, ladder_roles)


def domain_allowed(address: str, domains: Iterable[str]) -> bool:
    domain = _domain_of(address)
    return domain is not None and domain in {d.lower() for d in domains}


@lru_cache(maxsize=4096)
def _domain_of(address: str) -> str | None:
    """The domain of a plain recipient address, or None if it is not one (remembered:
    a night checks the same few addresses for every notice)."""
    try:
        return parse_mailbox(address).domain
    except AddressError:
        return None


def load_organisation(path: Path | str, ladder_roles: Iterable[str] = ()) -> Organisation:
    """Load the organisation file. Every role in ``ladder_roles`` (those the escalation
    ladder sends to) must have someone to go to: the barnevernsjef always, stab if used."""
    path = Path(path)
    display = str(path)
    try:
        doc = read_yaml(path, display)
    except RuleError as exc:
        raise ConfigError(str(exc)) from None
    errors: list[RuleError] = []
    root = _Node(display, "", doc, errors)
    if not root.mapping({"service", "allowed_domains", "municipalities", "units", "leaders"},
                        {"allowed_domains", "leaders"}):
        _raise(errors)
    service = root.child("service").text(required=False) or "barneverntjenesten"
    domains = _domains(root.child("allowed_domains"))
    municipalities = _municipalities(root.child("municipalities"))
    units: dict[str, Unit] = {}
    _units(root.child("units"), None, 0, units)
    leaders = _leaders(root.child("leaders"), domains, units)
    roles = {leader.role for leader in leaders}
    chiefs = [leader for leader in leaders if leader.role == "barnevernsjef"]
    if len(chiefs) != 1 and not any(e.path.startswith("leaders") for e in errors):
        root.error(f"expected exactly one leader with role barnevernsjef ({len(chiefs)} given)", "leaders")
    if "stab" in set(ladder_roles) and "stab" not in roles:
        root.error("the escalation ladder sends to stab, but no leader has role stab", "leaders")
    _raise(errors)
    return Organisation(tuple(domains), tuple(leaders), units, municipalities, service, display)


def _domains(node: _Node) -> list[str]:
    if not isinstance(node.value, list) or not node.value:
        node.error("expected a list of e-mail domains")
        return []
    out = []
    for i, d in enumerate(node.value):
        if not isinstance(d, str) or not _DOMAIN.match(d):
            _Node(node.file, f"{node.path}[{i}]", d, node.errors).error("expected a domain such as barnevern.kommune.no")
        else:
            out.append(d.lower())
    return out


def _municipalities(node: _Node) -> dict[str, str]:
    if node.value is None:
        return {}
    if not isinstance(node.value, dict):
        node.error('expected a mapping of municipality number to name ("3316": Modum)')
        return {}
    out = {}
    for number, name in node.value.items():
        if not isinstance(number, str) or not _MUNICIPALITY.match(number):
            node.error('expected a municipality number of four digits, in quotes ("0301")', str(number))
            continue
        text = node.child(number).text()
        if text is not None:
            out[number] = text
    return out


def _units(node: _Node, parent: str | None, depth: int, out: dict[str, Unit]) -> None:
    if node.value is None:
        return
    if not isinstance(node.value, dict) or not node.value:
        node.error("expected a mapping of unit code to its name and units")
        return
    for code in node.value:
        child = node.child(str(code))
        if not isinstance(code, str) or not _UNIT_CODE.match(code):
            child.error("expected a unit code as the case system writes it (1 to 64 characters, in quotes "
                        "if it is a number)")
            continue
        if code in out:
            child.error(f"unit given twice in the tree (also under {out[code].parent or 'the top'})")
            continue
        spec = child.value if child.value is not None else {}
        if not isinstance(spec, dict):
            child.error("expected a mapping with name and units")
            continue
        child = _Node(child.file, child.path, spec, child.errors)
        child.mapping({"name", "units"})
        name = child.child("name").text(required=False) or code
        out[code] = Unit(code, name, parent, depth)
        _units(child.child("units"), code, depth + 1, out)


def _leaders(node: _Node, domains: list[str], units: Mapping[str, Unit]) -> list[Leader]:
    if not isinstance(node.value, list) or not node.value:
        node.error("expected a list of leaders (role, email, units)")
        return []
    out = []
    for i, raw in enumerate(node.value):
        item = _Node(node.file, f"{node.path}[{i}]", raw, node.errors)
        if not item.mapping({"role", "email", "units", "deputy", "away_until"}, {"role", "email"}):
            continue
        role = item.child("role").choice(ROLES)
        given_emails = item.child("email")
        if isinstance(given_emails.value, list) and given_emails.value:
            emails = [_address(_Node(item.file, f"{given_emails.path}[{j}]", v, item.errors), domains)
                      for j, v in enumerate(given_emails.value)]
        else:
            emails = [_address(given_emails, domains)]
        email = emails[0] if all(emails) else None
        deputy = _address(item.child("deputy"), domains) if raw.get("deputy") is not None else None
        away_until = item.child("away_until").date(required=False) if raw.get("away_until") is not None else None
        if away_until is not None and deputy is None:
            item.error("away_until needs a deputy", "away_until")
        held: list[str] = []
        given = item.child("units")
        if role in LEADING:
            if not isinstance(given.value, list) or not given.value:
                given.error(f"expected the list of units this {role} leads")
            else:
                for j, code in enumerate(given.value):
                    if code not in units:
                        _Node(given.file, f"{given.path}[{j}]", code, given.errors).error("unknown unit (not in units)")
                    elif code not in held:
                        held.append(code)
        elif given.value is not None:
            given.error(f"a {role} holds every unit: give no units")
        if role and email and (held or role not in LEADING):
            out.append(Leader(role, email, tuple(held), tuple(dict.fromkeys(e for e in emails[1:] if e != email)),
                              deputy, away_until))
    return out


def _address(node: _Node, domains: list[str]) -> str | None:
    value = node.text()
    if value is None:
        return None
    try:
        value = parse_mailbox(value).address
    except AddressError as exc:
        node.error(f"{exc}, such as leder@barnevern.kommune.no")
        return None
    if domains and not domain_allowed(value, domains):
        node.error(f"address outside the allowed domains ({', '.join(domains)})")
        return None
    return value


def _raise(errors: list[RuleError]) -> None:
    if errors:
        raise ConfigError("\n".join(str(e) for e in errors))


def units_in_tree_order(organisation: Organisation | None, seen: Iterable[str]) -> Iterator[Unit]:
    """The units to show, in tree order: the organisation's (then units it does not know),
    or without an organisation file the units seen, flat and by code."""
    if organisation is None:
        yield from (Unit(code, code, None, 0) for code in sorted(set(seen)))
    else:
        yield from organisation.tree(seen)
