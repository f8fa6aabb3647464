"""Proxies: people a citizen chooses to act for them (EHDS article 4), for some kinds of data and
maybe until a date. The citizen invites someone by name and date of birth; the invitation link goes
to them out of band; only the person named, signed in, may accept it, once. Either side ends the link
at any time, and with it, at once, every consent the proxy gave for the citizen (their tokens stop
at the next call). docs/decisions/0019-chosen-proxies.md."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from chalicelib.clock import Clock
from chalicelib.consent.models import ProxyGrant, ProxyInvitation, ProxyOf
from chalicelib.consent.service import PROXY_KINDS, ConsentService, consent_view
from chalicelib.consent.store import ProxyStore, StaleProxy
from chalicelib.errors import Conflict, Forbidden, Gone, InvalidRequest, NotFound
from chalicelib.identity.families import Person, ProxyLink

INVITATION_LIFETIME = timedelta(days=7)
MAX_TERM = timedelta(days=100 * 365)  # an end date further than this is a typing mistake
MAX_LINKS = 10  # invited or standing, per citizen: the list stays one small Query
_LINK_ID_LENGTH = 32


class NotInvited(Forbidden):
    """The signed-in person is not the one the invitation names (it stays for them)."""


@dataclass(frozen=True)
class Invitee:
    """Whom the citizen invites, as they type it: only the person with this identity may accept."""

    given: str
    family: str
    birth_date: date


def invitation_key(code: str) -> str:
    """The partition of an invitation: the hash of its code (the code itself is never stored)."""
    return "invitation#" + hashlib.sha256(code.encode()).hexdigest()


def _folded(text: str) -> str:
    """A name as compared: accents, case, hyphens and extra spaces do not matter."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("-", " ").replace("'", " ").split())


def _first(name: str) -> str:
    return (_folded(name).split() or [""])[0]


def same_invitee(one: Dict[str, str], other: Dict[str, str]) -> bool:
    """Whether two invitations name the same person (as same_person compares them)."""
    return (_folded(one.get("family", "")) == _folded(other.get("family", ""))
            and _first(one.get("given", "")) == _first(other.get("given", ""))
            and one.get("birth_date") == other.get("birth_date"))


def same_person(invitee: Dict[str, str], person: Person) -> bool:
    """Whether the signed-in person is the one invited: family name, first given name, birth date."""
    return bool(person.family) and same_invitee(invitee, {"given": person.given, "family": person.family,
                                                          "birth_date": person.birth_date.isoformat()})


class ProxyService:
    """The rules of proxies; their storage is `store` (consent/store.py ProxyStore). Also the
    identity domain's ProxyLinks port (identity/families.py): `acting_for`."""

    def __init__(self, clock: Clock, consents: ConsentService, store: Optional[ProxyStore] = None) -> None:
        self.clock, self.consents = clock, consents
        self.store = store or ProxyStore()

    # -- the citizen who chooses -----------------------------------------------------------------

    def invite(self, grantor: Person, invitee: Invitee, kinds: List[str],
               until: Optional[date]) -> Tuple[str, ProxyGrant]:
        """A new invitation; returns its code (shown once, for the link) and the link."""
        now = self.clock()
        kinds = sorted(set(kinds))
        if not kinds or not set(kinds) <= set(PROXY_KINDS):
            raise InvalidRequest("Choose at least one kind of data: documents, measures, agenda.")
        if not invitee.given.strip() or not invitee.family.strip() or len(invitee.given + invitee.family) > 200:
            raise InvalidRequest("Give the invited person's first name and family name.")
        if not date(1900, 1, 1) <= invitee.birth_date <= now.date():
            raise InvalidRequest("Give the invited person's date of birth.")
        if until is not None and not now.date() <= until <= now.date() + MAX_TERM:
            raise InvalidRequest("The end date must be in the future, and within 100 years.")
        ends = datetime.combine(until, datetime.min.time(), now.tzinfo) + timedelta(days=1) if until else None
        named = {"given": invitee.given.strip(), "family": invitee.family.strip(),
                 "birth_date": invitee.birth_date.isoformat()}
        if same_person(named, grantor):
            raise InvalidRequest("You cannot invite yourself.")
        links = [grant for grant in self.store.of_grantor(grantor.id) if self._standing_or_invited(grant, now)]
        if any(same_invitee(grant.invitee, named) for grant in links):
            raise Conflict("This person is already invited, or already acts for you.")
        if len(links) >= MAX_LINKS:
            raise Conflict(f"At most {MAX_LINKS} proxies and invitations at a time; end one first.")
        code = secrets.token_urlsafe(24)
        link_id = secrets.token_hex(_LINK_ID_LENGTH // 2)
        grant = ProxyGrant(grantor.id, f"proxy#{link_id}", link_id=link_id, status="invited", kinds=kinds,
                           until=ends, grantor_name={"given": grantor.given, "family": grantor.family},
                           invitee=named,
                           invited_at=now, invitation_expires_at=now + INVITATION_LIFETIME,
                           invitation_key=invitation_key(code))
        self.store.invite(grant, ProxyInvitation(invitation_key(code), "invitation", grantor_id=grantor.id,
                                                 link_id=link_id, expires_at=now + INVITATION_LIFETIME))
        return code, grant

    def granted_by(self, patient_id: str) -> List[ProxyGrant]:
        """The citizen's proxies and pending invitations (ended ones are left out)."""
        now = self.clock()
        return sorted((grant for grant in self.store.of_grantor(patient_id) if self._standing_or_invited(grant, now)),
                      key=lambda grant: grant.invited_at)

    def copy_for(self, patient_id: str) -> Dict[str, List[Dict[str, Any]]]:
        """Every link of the citizen, both ways and whatever its status, without internal ids: what
        their own copy of their data holds (export/service.py)."""
        def when(moment: Optional[datetime]) -> Optional[str]:
            return moment.isoformat() if moment else None
        chosen = [{"person": f"{grant.invitee['given']} {grant.invitee['family']}",
                   "birth_date": grant.invitee["birth_date"], "status": grant.status, "kinds": list(grant.kinds),
                   "until": when(grant.until), "invited_at": when(grant.invited_at),
                   "accepted_at": when(grant.accepted_at), "ended_at": when(grant.ended_at),
                   "ended_by": grant.ended_by} for grant in self.store.of_grantor(patient_id)]
        acting_for = [{"person": f"{m.grantor_name.get('given', '')} {m.grantor_name.get('family', '')}".strip(),
                       "status": m.status, "kinds": list(m.kinds), "until": when(m.until)}
                      for m in self.store.of_actor(patient_id)]
        return {"proxies_chosen": chosen, "acting_as_proxy_for": acting_for}

    # -- the invited person ------------------------------------------------------------------------

    def invitation(self, code: str, actor: Optional[Person] = None) -> ProxyGrant:
        """The link an invitation code names, while it may still be accepted (else 410), and only
        for the person it names (`actor`; else 403, and it stays for them)."""
        if not code or len(code) > 100:
            raise NotFound("No such invitation.")
        invitation = self.store.invitation(invitation_key(code))
        grant = self.store.grant(invitation.grantor_id, invitation.link_id) if invitation else None
        if invitation is None or grant is None or grant.status != "invited" \
                or invitation.expires_at <= self.clock():
            raise Gone("This invitation was already used, was withdrawn, or has expired.")
        if actor is not None and (actor.id == grant.patient_id or not same_person(grant.invitee, actor)):
            raise NotInvited("This invitation is meant for someone else.")
        return grant

    def accept(self, code: str, actor: Person) -> ProxyGrant:
        """The named person accepts: the link stands from now on. Anyone else is refused, and the
        invitation stays for the person it names; a used invitation is gone (410)."""
        grant = self.invitation(code, actor)
        now = self.clock()
        if grant.until is not None and grant.until <= now:
            raise Gone("This invitation's end date has passed.")
        mirror = ProxyOf(actor.id, f"proxy-of#{grant.link_id}", link_id=grant.link_id, grantor_id=grant.patient_id,
                         grantor_name=grant.grantor_name, status="active", kinds=grant.kinds, until=grant.until)
        try:
            self.store.accept(grant, invitation_key(code), mirror, now)
        except StaleProxy:
            raise Gone("This invitation was already used, was withdrawn, or has expired.") from None
        grant.status, grant.actor_id, grant.accepted_at = "active", actor.id, now
        return grant

    def decline(self, code: str, actor: Person) -> None:
        """The named person declines: the invitation is gone, the citizen sees it ended."""
        grant = self.invitation(code, actor)
        try:
            self.store.close_invitation(grant, invitation_key(code), "declined", self.clock())
        except StaleProxy:
            raise Gone("This invitation was already used, was withdrawn, or has expired.") from None

    # -- either side ends it ---------------------------------------------------------------------

    def end(self, person_id: str, link_id: str) -> ProxyGrant:
        """Ends a link, by the citizen who chose the proxy (also a pending invitation) or by the
        proxy, and withdraws every consent the proxy gave for the citizen, so that their apps'
        tokens stop at their next call. The consents are withdrawn before the link ends (a failure
        leaves the link standing, to be ended again) and once more after it (what the proxy granted
        in between; once the link has ended, no consent can come through it)."""
        now = self.clock()
        grant, ended_by = self.store.grant(person_id, link_id) if len(link_id) == _LINK_ID_LENGTH else None, "grantor"
        if grant is None:
            mirror = next((m for m in self.store.of_actor(person_id) if m.link_id == link_id), None)
            grant = self.store.grant(mirror.grantor_id, link_id) if mirror else None
            ended_by = "proxy"
        if grant is None:
            raise NotFound("No such proxy.")
        if grant.actor_id:
            self._withdraw_consents_given(grant.patient_id, grant.actor_id)
        try:
            if grant.status == "invited" and grant.invitation_key and ended_by == "grantor":
                self.store.close_invitation(grant, grant.invitation_key, "grantor", now)
            elif grant.status == "active":
                self.store.end(grant, ended_by, now)
        except StaleProxy:
            raise Conflict("This proxy changed at the same time; try again.") from None
        if grant.actor_id:
            self._withdraw_consents_given(grant.patient_id, grant.actor_id)
        grant.status, grant.ended_at, grant.ended_by = "ended", grant.ended_at or now, grant.ended_by or ended_by
        return grant

    def _withdraw_consents_given(self, patient_id: str, actor_id: str) -> None:
        for consent in self.consents.store.of_citizen(patient_id):
            if consent.given_by == actor_id and consent.given_as == "proxy" and \
                    consent_view(consent, self.clock())["status"] == "active":
                try:
                    self.consents.revoke(patient_id, consent.app_id)
                except NotFound:
                    pass  # withdrawn meanwhile

    # -- the identity domain's port --------------------------------------------------------------

    def acting_for(self, actor_id: str) -> List[ProxyLink]:
        """The standing links in which `actor_id` is the proxy (Families.options reads them)."""
        now = self.clock()
        return [ProxyLink(m.link_id, Person.named(m.grantor_id, m.grantor_name.get("given", ""),
                                                  m.grantor_name.get("family", "")),
                          Person.unknown(actor_id), frozenset(m.kinds), m.until)
                for m in self.store.of_actor(actor_id)
                if m.status == "active" and (m.until is None or m.until > now)]

    def acting_for_view(self, actor_id: str) -> List[Dict[str, Any]]:
        """The same links, as the pages list them (ended and past ones left out)."""
        return [{"link_id": link.link_id, "name": link.patient.name, "kinds": sorted(link.kinds),
                 "until": link.until} for link in self.acting_for(actor_id)]

    @staticmethod
    def _standing_or_invited(grant: ProxyGrant, now: datetime) -> bool:
        if grant.until is not None and grant.until <= now:
            return False
        return grant.status == "active" or (grant.status == "invited" and grant.invitation_expires_at > now)
