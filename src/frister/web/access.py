"""Who may see what: the one policy table of the web pages and the API.

**Pages per role** (:data:`POLICY`; a page not listed for a role answers 403):

============== ======== =========== ===== =========== ====== ========== ========
role           oversikt arbeidsliste frist fristbrudd  grunn  rapporter  drift
============== ======== =========== ===== =========== ====== ========== ========
barnevernsjef  yes      yes          yes   yes         yes    yes        no
avdelingsleder yes      yes          yes   yes         yes    yes        no
teamleder      yes      yes          yes   yes         yes    yes        no
saksbehandler  no       yes          yes   no          no     no         no
inspector      no       no           no    no          no     yes        no
operator       no       no           no    no          no     no         yes
============== ======== =========== ===== =========== ====== ========== ========

(``grunn``: every change to a case — an assessment (cause, action, decision, owner,
follow-up date), an acknowledged notice stage, a deviation's status — by form or API.)

**Obligations a user may see** (:meth:`Principal.sees`): a barnevernsjef and an
inspector every unit; an avdelingsleder or teamleder the units they hold and every
unit below them in the organisation file; a saksbehandler only the obligations whose
step they hold (their caseworker code), in any unit; an operator none (the Drift page
holds counts only). Anything else — an obligation of another unit asked for by its
address, a filter naming a unit not held, a download — is refused with 403; an
obligation that does not exist is 404. The pages only link to what the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from frister.organisation import Organisation

WEB_ROLES = ("barnevernsjef", "avdelingsleder", "teamleder", "saksbehandler", "inspector", "operator")
UNIT_ROLES = ("avdelingsleder", "teamleder")  # roles that hold units
LEADERS = ("barnevernsjef", "avdelingsleder", "teamleder")

PAGES = ("oversikt", "arbeidsliste", "frist", "fristbrudd", "grunn", "rapporter", "drift")
POLICY: dict[str, frozenset[str]] = {
    "barnevernsjef": frozenset({"oversikt", "arbeidsliste", "frist", "fristbrudd", "grunn", "rapporter"}),
    "avdelingsleder": frozenset({"oversikt", "arbeidsliste", "frist", "fristbrudd", "grunn", "rapporter"}),
    "teamleder": frozenset({"oversikt", "arbeidsliste", "frist", "fristbrudd", "grunn", "rapporter"}),
    "saksbehandler": frozenset({"arbeidsliste", "frist"}),
    "inspector": frozenset({"rapporter"}),
    "operator": frozenset({"drift"}),
}
HOME = {"saksbehandler": "arbeidsliste", "inspector": "rapporter", "operator": "drift"}  # else oversikt


@dataclass(frozen=True)
class Principal:
    """A logged-in user as the pages need them."""

    user_id: int
    email: str
    role: str
    units: tuple[str, ...] = ()  # as held (avdelingsleder, teamleder)
    caseworker: str | None = None  # saksbehandler
    visible: frozenset[str] | None = None  # units seen, below included; None: every unit

    @classmethod
    def of(cls, user_id: int, email: str, role: str, units: tuple[str, ...], caseworker: str | None,
           organisation: Organisation | None) -> "Principal":
        visible = None
        if role in UNIT_ROLES:
            below = [organisation.below(u) if organisation else [u] for u in units]
            visible = frozenset(code for codes in below for code in codes)
        elif role in ("saksbehandler", "operator"):
            visible = frozenset()
        return cls(user_id, email, role, tuple(units), caseworker, visible)

    def may(self, page: str) -> bool:
        return page in POLICY.get(self.role, ())

    @property
    def home(self) -> str:
        return HOME.get(self.role, "oversikt")

    @property
    def all_units(self) -> bool:
        return self.visible is None

    def holds_unit(self, unit: str) -> bool:
        """May this user ask for ``unit``'s lists (a filter, a worklist)?"""
        return self.visible is None or unit in self.visible

    def sees(self, unit: str, caseworker: str | None) -> bool:
        """May this user see an obligation held by ``unit`` and ``caseworker``?"""
        if self.role == "saksbehandler":
            return self.caseworker is not None and caseworker == self.caseworker
        if self.role == "operator":
            return False
        return self.holds_unit(unit)
