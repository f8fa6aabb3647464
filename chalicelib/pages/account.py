"""The citizen's account pages: demo sign-in, sign-out, "my consents" and withdrawing one, "Mes
proches" (the people I act for, those who act for me, and inviting a proxy)."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, List, Mapping, Optional, Tuple

from chalicelib import web
from chalicelib.catalog.referential import Referential
from chalicelib.consent.models import ProxyGrant
from chalicelib.consent.proxies import Invitee, ProxyService
from chalicelib.consent.service import PROXY_KINDS, ConsentService, approved_entry
from chalicelib.errors import Forbidden, InvalidRequest, NotFound, ServiceUnavailable
from chalicelib.identity.citizens import DEMO_SIGN_IN, CitizenSessions, person_of
from chalicelib.identity.families import (PROXY, SELF, ActingFor, Families, Person, choice_of, chosen,
                                          demo_people)
from chalicelib.identity.signin import UpstreamSignIn
from chalicelib.identity.models import SessionItem

DEFAULT_NEXT = "/account/consents"


def safe_next(value: Optional[str]) -> str:
    """Where to go after signing in: a path on this site, else the consents page (no open redirect)."""
    return value if value is not None and web.is_local_path(value) else DEFAULT_NEXT


@dataclass
class Visitor:
    """Who is looking at a page: their session (if any) and, when signed in, the citizen; and,
    when they switched to the space of someone they act for, that person."""

    session_id: Optional[str]
    session: Optional[SessionItem]
    citizen: Optional[Dict[str, Any]]
    acting: Optional[ActingFor] = None

    @property
    def patient_id(self) -> Optional[str]:
        """The signed-in citizen."""
        return self.session.patient_id if self.session is not None else None

    @property
    def subject_id(self) -> Optional[str]:
        """Whose space the pages show: the person acted for, else the citizen."""
        return self.acting.person.id if self.acting is not None else self.patient_id

    @property
    def own_acts_only(self) -> Optional[str]:
        """In the space of someone who chose them as proxy, a citizen sees and withdraws only the
        consents they gave, and reads only what they did: their id then (None otherwise)."""
        return self.patient_id if self.acting is not None and self.acting.kind == PROXY else None


class AccountPages:
    def __init__(self, sessions: CitizenSessions, consents: ConsentService, referential: Referential,
                 demo_sign_in: bool, franceconnect: bool, upstream: Optional[UpstreamSignIn] = None,
                 families: Optional[Families] = None, proxies: Optional[ProxyService] = None) -> None:
        self.sessions, self.consents, self.referential = sessions, consents, referential
        self.demo_sign_in, self.franceconnect, self.upstream = demo_sign_in, franceconnect, upstream
        self.families, self.proxies = families, proxies

    # -- who -------------------------------------------------------------------------------------

    @property
    def demo_patients(self) -> List[Dict[str, Any]]:
        return demo_people(self.referential.directory)

    def visitor(self, session_id: Optional[str]) -> Visitor:
        session = self.sessions.find(session_id)
        citizen = None
        if session is not None and session.patient_id:
            # Names are known for the demo people only; an internal id is never shown.
            known = {p["id"]: p for p in self.demo_patients} if self.demo_sign_in else {}
            person = known.get(session.patient_id)
            citizen = {"id": session.patient_id,
                       "name": f"{person['given']} {person['family']}" if person else None}
        acting = None
        if session is not None and session.patient_id and session.acting_for and self.families is not None:
            # Only while the citizen may still act for them (a child's 18th birthday ends it).
            option = self.families.acting_for(session.patient_id, session.acting_for)
            acting = option if option is not None and option.kind != SELF else None
        return Visitor(session_id if session is not None else None, session, citizen, acting)

    def form_session(self, session_id: Optional[str]) -> Tuple[str, SessionItem]:
        """The session that carries a form's CSRF token (started when the visitor has none)."""
        return self.sessions.find_or_start(session_id)

    @staticmethod
    def check_form(visitor: Visitor, csrf_token: Optional[str]) -> SessionItem:
        session = visitor.session
        if session is None or not hmac.compare_digest(csrf_token or "", session.csrf_token):
            raise Forbidden("The form expired or did not come from this site; start again.")
        return session

    # -- sign-in and sign-out --------------------------------------------------------------------

    def sign_in_options(self) -> Dict[str, Any]:
        return {"demo": self.demo_sign_in, "franceconnect": self.franceconnect,
                "patients": self.demo_patients if self.demo_sign_in else []}

    def sign_in(self, visitor: Visitor, csrf_token: Optional[str], login_hint: Optional[str]) -> str:
        """Sign a demo citizen in; returns the id of a new session (the old one ends: an id planted
        before sign-in signs no one in)."""
        if not self.demo_sign_in:
            raise ServiceUnavailable("Demo sign-in is available in the local and test stages only.")
        self.check_form(visitor, csrf_token)
        if login_hint is None or login_hint not in {p["id"] for p in self.demo_patients}:
            raise InvalidRequest("Pick one of the fictional people.")
        return self.sessions.sign_in(visitor.session_id, login_hint, signed_in_by=DEMO_SIGN_IN)[0]

    def sign_out(self, visitor: Visitor, csrf_token: Optional[str]) -> Optional[str]:
        """Ends the session (and with it what it kept alive, such as online_access tokens); for a
        citizen who came through FranceConnect, the address that ends their session there too."""
        self.check_form(visitor, csrf_token)
        if self.upstream is not None:
            return self.upstream.sign_out(visitor.session_id)
        self.sessions.end(visitor.session_id)
        return None

    # -- my relatives ("Mes proches") -------------------------------------------------------------

    def relatives(self, visitor: Visitor) -> Dict[str, Any]:
        """The people the citizen acts for, and those who act for them (legal representatives,
        proxies, pending invitations), each with what and until when."""
        families = self.families
        patient_id = visitor.patient_id or ""
        session = visitor.session
        secret = session.csrf_token if session is not None else ""
        options = families.options(patient_id) if families is not None else []
        acting_for = [{"name": option.person.name, "until": option.until, "kind": option.kind,
                       "kinds": sorted(option.kinds or ()), "link_id": option.link_id,
                       "choice": choice_of(secret, option.person.id),
                       "current": visitor.acting is not None and visitor.acting.person.id == option.person.id}
                      for option in options if option.kind != SELF]
        acted_by: List[Dict[str, Any]] = [{"name": option.person.name, "until": option.until, "kind": option.kind}
                                          for option in (families.represented_by(patient_id) if families else [])]
        if self.proxies is not None:
            acted_by += [self._proxy_view(grant) for grant in self.proxies.granted_by(patient_id)]
        return {"for": acting_for, "by": acted_by, "csrf_token": session.csrf_token if session else None,
                "can_invite": self.proxies is not None and visitor.acting is None, "kinds": list(PROXY_KINDS)}

    @staticmethod
    def _proxy_view(grant: ProxyGrant) -> Dict[str, Any]:
        invitee = grant.invitee
        return {"name": f"{invitee['given']} {invitee['family']}", "kind": PROXY, "status": grant.status,
                "kinds": list(grant.kinds), "until": grant.until, "link_id": grant.link_id,
                "invitation_expires_at": grant.invitation_expires_at}

    def person(self, visitor: Visitor) -> Person:
        """The signed-in citizen as the identity records know them (name, birth date), else as their
        identity provider described them at sign-in."""
        person = self.families.person(visitor.patient_id) if self.families is not None else None
        return person or person_of(visitor.session) or Person.unknown(visitor.patient_id or "")

    def invite(self, visitor: Visitor, fields: Mapping[str, Any]) -> Tuple[str, ProxyGrant]:
        """Invite a proxy ("Mes proches" form; from the citizen's own space only). Returns the
        invitation's code, for the link shown once."""
        self.check_form(visitor, fields.get("csrf_token"))
        if self.proxies is None or visitor.patient_id is None or visitor.acting is not None:
            raise Forbidden("Invite a proxy from your own space.")
        try:
            birth_date = date.fromisoformat(str(fields.get("birth_date") or ""))
        except ValueError:
            raise InvalidRequest("Give the invited person's date of birth.",
                                 [{"field": "birth_date", "message": "a date, YYYY-MM-DD"}]) from None
        try:
            until = date.fromisoformat(fields["until"]) if fields.get("until") else None
        except ValueError:
            raise InvalidRequest("The end date is not a date.", [{"field": "until", "message": "YYYY-MM-DD"}]) \
                from None
        kinds = fields.get("kinds") or []
        invitee = Invitee(str(fields.get("given") or ""), str(fields.get("family") or ""), birth_date)
        return self.proxies.invite(self.person(visitor), invitee, list(kinds), until)

    def invitation(self, visitor: Visitor, code: str) -> Dict[str, Any]:
        """An invitation as its invited person reads it before accepting."""
        if self.proxies is None:
            raise NotFound("No such invitation.")
        grant = self.proxies.invitation(code, self.person(visitor))
        name = grant.grantor_name
        return {"from": f"{name.get('given', '')} {name.get('family', '')}".strip(), "kinds": list(grant.kinds),
                "until": grant.until, "expires_at": grant.invitation_expires_at,
                "csrf_token": visitor.session.csrf_token if visitor.session is not None else None}

    def answer_invitation(self, visitor: Visitor, csrf_token: Optional[str], code: str, accept: bool) -> None:
        self.check_form(visitor, csrf_token)
        if self.proxies is None:
            raise NotFound("No such invitation.")
        if accept:
            self.proxies.accept(code, self.person(visitor))
        else:
            self.proxies.decline(code, self.person(visitor))

    def end_proxy(self, visitor: Visitor, csrf_token: Optional[str], link_id: Optional[str]) -> None:
        """End a proxy link, from either side (or withdraw a pending invitation)."""
        session = self.check_form(visitor, csrf_token)
        if self.proxies is None or not link_id or len(link_id) > 64 or not session.patient_id:
            raise NotFound("No such proxy.")
        grant = self.proxies.end(session.patient_id, link_id)
        if session.acting_for == grant.patient_id and grant.actor_id == session.patient_id:
            self.sessions.act_for(session, None)  # out of the space they no longer reach

    def act_for(self, visitor: Visitor, csrf_token: Optional[str], choice: Optional[str]) -> Optional[str]:
        """Switch the pages to the space of someone the citizen acts for (an empty choice: back to
        their own). Returns that person's name (None for their own space)."""
        session = self.check_form(visitor, csrf_token)
        if not choice:
            self.sessions.act_for(session, None)
            return None
        options = self.families.options(session.patient_id) if self.families and session.patient_id else []
        option = chosen(session.csrf_token, choice, options)
        if option is None or option.kind == SELF:
            raise Forbidden("You may not act for this person.")
        self.sessions.act_for(session, option.person.id)
        return option.person.name

    def majority_notice(self, patient_id: str, consents: Dict[str, List[Dict[str, Any]]]) -> List[str]:
        """The apps whose consents the citizen's representatives gave ended at their 18th birthday
        (for the young adult: told on their consents page)."""
        person = self.families.person(patient_id) if self.families else None
        if person is None or person.comes_of_age > self.consents.clock():
            return []
        ended_then = person.comes_of_age.isoformat()  # not those that ended earlier, by their own term
        return [view["app_name"] for view in consents["past"]
                if view.get("given_by", {}).get("as") == "representative" and view["status"] == "expired"
                and view["expires_at"] == ended_then]

    # -- consents --------------------------------------------------------------------------------

    def my_consents(self, patient_id: str, given_by: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
        """Active and past consents, each with what it allows in words (`given_by`: only those
        this person gave)."""
        listed = self.consents.list(patient_id, given_by)
        return {group: [self._described(view) for view in views] for group, views in listed.items()}

    def consent_to_revoke(self, patient_id: str, app_id: str, given_by: Optional[str] = None) -> Dict[str, Any]:
        for view in self.consents.list(patient_id, given_by)["active"]:
            if view["app_id"] == app_id:
                return self._described(view)
        raise NotFound(f"No active consent to '{app_id[:100]}'.")

    def receipt(self, patient_id: str, app_id: str, given_by: Optional[str] = None) -> Dict[str, Any]:
        """The consent receipt, with its context scopes (offline access...) in words."""
        receipt = self.consents.receipt(patient_id, app_id, given_by)
        context = [self.referential.other_scopes[scope]["label"] for scope in receipt.get("context", ())
                   if scope in self.referential.other_scopes and scope != "launch/patient"]
        return {**receipt, "context_labels": list({str(label): label for label in context}.values())}

    def revoke(self, visitor: Visitor, csrf_token: Optional[str], app_id: str) -> Dict[str, Any]:
        """Withdraw a consent of the citizen, or of the person whose space they switched to."""
        self.check_form(visitor, csrf_token)
        if visitor.subject_id is None:
            raise Forbidden("Sign in to withdraw a consent.")
        return self.consents.revoke(visitor.subject_id, app_id, visitor.own_acts_only)

    def _described(self, view: Dict[str, Any]) -> Dict[str, Any]:
        ref = self.referential
        kinds = [{"scope": s, "label": ref.data_kinds[entry["data_kind"]]["label"]}
                 for s, entry in ref.data_scopes.items()]
        allowed = []
        for scope in view["scopes"]:
            entry = approved_entry(kinds, scope)
            label = entry["label"] if entry else {"fr": scope, "en": scope}
            if label not in allowed:
                allowed.append(label)
        for scope in view["context"]:
            other = ref.other_scopes.get(scope)
            if other and other["label"] not in allowed and scope != "launch/patient":
                allowed.append(other["label"])
        return {**view, "allowed": allowed}
