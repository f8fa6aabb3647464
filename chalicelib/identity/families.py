"""Who may act for whom: the legal representatives of a minor, until the minor's 18th birthday;
and the people a citizen chose to act for them (proxies, EHDS article 4), for the kinds of data and
until the date they chose.

The links come from outside this platform: in production from the civil-status and
health-insurance records (a connector behind the FamilyRecords port, not built yet: deployed
stages have none and show no family), in the local and test stages from the demo data
(catalog/demo/families.json). A representative acts with the child's own rights over their record,
except the documents the child hid from their representatives (docs/decisions/0018-acting-for-someone-else.md).
The proxies are this platform's own data: the consent domain keeps them and answers through the
ProxyLinks port (docs/decisions/0019-chosen-proxies.md)."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Protocol
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock

MAJORITY = 18
SELF, REPRESENTATIVE, PROXY = "self", "representative", "proxy"
_PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Person:
    id: str  # internal: never shown to apps
    given: str
    family: str
    birth_date: date

    @classmethod
    def unknown(cls, person_id: str) -> "Person":
        """Someone the family records do not know (deployed stages today): they act for themselves only."""
        return cls(person_id, "", "", date(1900, 1, 1))

    @classmethod
    def named(cls, person_id: str, given: str, family: str) -> "Person":
        """Someone known by the name a proxy link recorded (their birth date is not needed there)."""
        return cls(person_id, given, family, date(1900, 1, 1))

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}".strip()

    @property
    def comes_of_age(self) -> datetime:
        """The 18th birthday, at midnight in Paris (29 February: 1 March)."""
        year = self.birth_date.year + MAJORITY
        try:
            day = self.birth_date.replace(year=year)
        except ValueError:
            day = date(year, 3, 1)
        return datetime.combine(day, time(0), _PARIS).astimezone(timezone.utc)


@dataclass(frozen=True)
class ActingFor:
    """The person someone may act for now: themselves, a minor they represent (until their 18th
    birthday), or someone who chose them as proxy (for some kinds of data, maybe until a date)."""

    person: Person
    kind: str  # SELF | REPRESENTATIVE | PROXY
    until: Optional[datetime] = None
    kinds: Optional[FrozenSet[str]] = None  # a proxy's kinds of data (None: all the person's rights)
    link_id: Optional[str] = None  # a proxy's link


@dataclass(frozen=True)
class ProxyLink:
    """A proxy chosen by `patient` and accepted by `actor`, standing now."""

    link_id: str
    patient: Person
    actor: Person
    kinds: FrozenSet[str]
    until: Optional[datetime]


class ProxyLinks(Protocol):
    """The port to the proxies citizens chose (kept by the consent domain: consent/proxies.py)."""

    def acting_for(self, actor_id: str) -> List[ProxyLink]:
        """The standing links in which `actor_id` is the proxy."""
        ...


class FamilyRecords(Protocol):
    """The port to the civil-status and health-insurance records."""

    def person(self, person_id: str) -> Optional[Person]: ...

    def children_of(self, person_id: str) -> List[Person]: ...

    def representatives_of(self, person_id: str) -> List[Person]: ...


class NoFamilyRecords:
    """Deployed stages until the connector exists: everyone acts for themselves only."""

    def person(self, person_id: str) -> Optional[Person]:
        return None

    def children_of(self, person_id: str) -> List[Person]:
        return []

    def representatives_of(self, person_id: str) -> List[Person]:
        return []


@lru_cache(maxsize=4)
def demo_people(directory: Path) -> List[Dict[str, Any]]:
    """The fictional citizens of the local demo (catalog/demo/patients.json): the one place they are
    read, for the demo identity pickers, the stand-in family records and the demo records' seeding."""
    return json.loads((Path(directory) / "demo" / "patients.json").read_text(encoding="utf-8"))["patients"]


class DemoFamilyRecords:
    """The stand-in: the demo people and families (catalog/demo/patients.json, families.json)."""

    def __init__(self, directory: Path) -> None:
        people = demo_people(directory)
        self.people: Dict[str, Person] = {p["id"]: Person(p["id"], p["given"], p["family"],
                                                          date.fromisoformat(p["birth_date"])) for p in people}
        families = json.loads((directory / "demo" / "families.json").read_text(encoding="utf-8"))["families"]
        self.children: Dict[str, List[str]] = {}
        self.representatives: Dict[str, List[str]] = {}
        for family in families:
            for parent in family["representatives"]:
                self.children.setdefault(parent, []).extend(family["children"])
            for child in family["children"]:
                self.representatives.setdefault(child, []).extend(family["representatives"])

    def person(self, person_id: str) -> Optional[Person]:
        return self.people.get(person_id)

    def children_of(self, person_id: str) -> List[Person]:
        return [self.people[child] for child in self.children.get(person_id, [])]

    def representatives_of(self, person_id: str) -> List[Person]:
        return [self.people[parent] for parent in self.representatives.get(person_id, [])]


class Families:
    """The rules: a representative acts for a child until the child comes of age."""

    def __init__(self, records: FamilyRecords, clock: Clock, proxies: Optional[ProxyLinks] = None) -> None:
        self.records, self.clock, self.proxies = records, clock, proxies

    def person(self, person_id: Optional[str]) -> Optional[Person]:
        return self.records.person(person_id) if person_id else None

    def name(self, person_id: Optional[str]) -> Optional[str]:
        person = self.person(person_id)
        return person.name if person else None

    def options(self, actor_id: str) -> List[ActingFor]:
        """Whom `actor_id` may act for now: themselves first, then the minors they represent, then
        those who chose them as proxy (while the link stands and its end date is not past)."""
        now = self.clock()
        me = self.records.person(actor_id) or Person.unknown(actor_id)
        options = [ActingFor(me, SELF)] + [ActingFor(child, REPRESENTATIVE, child.comes_of_age)
                                           for child in self.records.children_of(actor_id)
                                           if child.comes_of_age > now]
        represented = {option.person.id for option in options}
        for link in self.proxies.acting_for(actor_id) if self.proxies is not None else []:
            if (link.until is None or link.until > now) and link.patient.id not in represented:
                options.append(ActingFor(self.records.person(link.patient.id) or link.patient, PROXY, link.until,
                                         link.kinds, link.link_id))
                represented.add(link.patient.id)
        return options

    def acting_for(self, actor_id: str, patient_id: str) -> Optional[ActingFor]:
        """How `actor_id` may act for `patient_id` now; None if they may not."""
        return next((option for option in self.options(actor_id) if option.person.id == patient_id), None)

    def represented_by(self, patient_id: str) -> List[ActingFor]:
        """Who may act for `patient_id` now (their legal representatives while they are a minor)."""
        person = self.records.person(patient_id)
        if person is None or person.comes_of_age <= self.clock():
            return []
        return [ActingFor(parent, REPRESENTATIVE, person.comes_of_age)
                for parent in self.records.representatives_of(patient_id)]


def choice_of(secret: str, person_id: str) -> str:
    """How a form names a person to choose ("for whom?", "Mes proches"): bound to the session's
    secret (its CSRF token), it names no one, and a crafted value matches no one."""
    return hmac.new(secret.encode(), person_id.encode(), hashlib.sha256).hexdigest()[:24]


def chosen(secret: str, choice: Optional[str], options: List[ActingFor]) -> Optional[ActingFor]:
    """The option a form's `choice` names, if any."""
    if not choice:
        return None
    return next((option for option in options if hmac.compare_digest(choice, choice_of(secret, option.person.id))),
                None)


def families_for(settings, clock: Clock, proxies: Optional[ProxyLinks] = None) -> Families:
    """The demo families where the demo sign-in is on (local, test); none elsewhere until the
    connector. Proxies everywhere: citizens choose them here."""
    records = DemoFamilyRecords(settings.catalog_dir) if settings.demo_sign_in else NoFamilyRecords()
    return Families(records, clock, proxies)
