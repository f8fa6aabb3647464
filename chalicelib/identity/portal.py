"""Who signs in at the referencing portal, and as what: publishers and the commission, in portal
sessions of their own (their own kind of item and their own cookie, never a citizen's), through the
demo picker locally or ProConnect (OpenID Connect, the upstream code of upstream.py) in dev and
prod. ProConnect gives no role: RoleMap decides it (docs/decisions/0016-portal-sign-in-and-roles.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple


from chalicelib.grants import grant_key
from chalicelib.identity.citizens import Sessions
from chalicelib.identity.demo import demo_issuer_url
from chalicelib.identity.models import PortalSessionItem
from chalicelib.identity.service import Principal
from chalicelib.identity.signin import ProviderSignIn, local_path
from chalicelib.identity.upstream import UpstreamProvider
from chalicelib.identity.upstream_config import UpstreamConfig, UpstreamError

# A working day: a listing form takes long to fill, and an expired session would lose it.
PORTAL_SESSION_LIFETIME = timedelta(hours=8)
CALLBACK_PATH = "/portal/signin/proconnect/callback"
LOGGED_OUT_PATH = "/portal/signin/proconnect/logged-out"
DEMO_PICKER = "demo"
ROLES = ("publisher", "reviewer")


def portal_session_key(session_id: str) -> str:
    """A portal session's key: its own prefix, so that a portal cookie never finds a citizen's
    session and a citizen's cookie never finds a portal session."""
    return grant_key("portal", session_id)


def _siret(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and len(value) == 14 and value.isdigit() else None


@dataclass(frozen=True)
class ReviewerEntry:
    """One member of the commission in the allow-list: ProConnect's `sub` at our client, or the
    professional e-mail address; optionally bound to the SIRET of their administration."""

    sub: Optional[str] = None
    email: Optional[str] = None
    siret: Optional[str] = None

    def matches(self, claims: Mapping[str, Any]) -> bool:
        email = str(claims.get("email") or "").strip().lower()
        named = (self.sub is not None and claims.get("sub") == self.sub) or \
            (self.email is not None and email == self.email.lower())
        return named and (self.siret is None or claims.get("siret") == self.siret)


class RoleMap:
    """ProConnect's claims to a Principal: a reviewer if the allow-list names them, else a
    publisher for the organisation of the SIRET ProConnect returns; nobody else gets in."""

    def __init__(self, issuer: str, reviewers: Sequence[Mapping[str, Any]]) -> None:
        self.issuer = issuer
        self.reviewers = [ReviewerEntry(sub=r.get("sub"), email=r.get("email"), siret=r.get("siret"))
                          for r in reviewers]
        if any(entry.sub is None and entry.email is None for entry in self.reviewers):
            raise ValueError("PORTAL_OIDC: each reviewer needs 'sub' or 'email'")

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        names = [str(claims[part]) for part in ("given_name", "usual_name", "family_name") if claims.get(part)]
        name = " ".join(names) or str(claims.get("email") or claims["sub"])
        if any(entry.matches(claims) for entry in self.reviewers):
            return Principal(subject=str(claims["sub"]), issuer=self.issuer, role="reviewer", name=name)
        siret = _siret(claims.get("siret"))
        if siret is None:
            raise UpstreamError("no_role", "ProConnect gave no organisation (SIRET) for this account, and it is "
                                           "not a member of the commission.", 403)
        return Principal(subject=str(claims["sub"]), issuer=self.issuer, role="publisher", name=name,
                         organisation_siret=siret)


class PortalSessions(Sessions):
    """The rules of portal sessions: their own kind of item, key prefix and cookie, a working day long."""

    item_class = PortalSessionItem
    lifetime = PORTAL_SESSION_LIFETIME
    landing = "/portal"

    @staticmethod
    def key(session_id: str) -> str:
        return portal_session_key(session_id)

    @staticmethod
    def principal_of(session: Optional[PortalSessionItem]) -> Optional[Principal]:
        if session is None or session.role not in ROLES or not session.subject:
            return None
        return Principal(subject=session.subject, issuer=session.issuer or "", role=str(session.role),
                         name=session.name or session.subject, organisation_siret=session.siret)

    def sign_in(self, old_session_id: Optional[str], principal: Principal, signed_in_by: str,
                id_token_hint: Optional[str] = None) -> Tuple[str, PortalSessionItem]:
        """A new session for this person, the old one deleted (no session fixation)."""
        self.end(old_session_id)
        return self._start(role=principal.role, subject=principal.subject, issuer=principal.issuer,
                           name=principal.name, siret=principal.organisation_siret, signed_in_by=signed_in_by,
                           id_token_hint=id_token_hint)


class DemoPeople:
    """The fictional publishers and reviewers of catalog/demo/identities.json, as `make token`
    signs them; the picker exists in the local and test stages only."""

    def __init__(self, catalog_dir: Path, base_url: str) -> None:
        self.people: Dict[str, List[Dict[str, Any]]] = json.loads(
            (catalog_dir / "demo" / "identities.json").read_text(encoding="utf-8"))
        self.issuer = demo_issuer_url(base_url)

    def listed(self) -> Dict[str, List[Dict[str, Any]]]:
        return {role: self.people.get(role, []) for role in ROLES}

    def principal(self, choice: Optional[str]) -> Optional[Principal]:
        """`choice` is `<role>:<id>`; None when it names nobody."""
        role, _, person_id = (choice or "").partition(":")
        for person in self.people.get(role, []) if role in ROLES else []:
            if person["id"] == person_id:
                return Principal(subject=person["subject"], issuer=self.issuer, role=role, name=person["name"],
                                 organisation_siret=person.get("siret") if role == "publisher" else None)
        return None


class ProConnectSignIn(ProviderSignIn):
    """Publishers and reviewers through ProConnect: the same flow as citizens through
    FranceConnect (ProviderSignIn), in a portal session; ProConnect gives the organisation
    (`siret`) at its userinfo endpoint, and RoleMap decides the role."""

    landing = "/portal"

    def __init__(self, provider: UpstreamProvider, sessions: PortalSessions, roles: RoleMap) -> None:
        super().__init__(provider, sessions)
        self.portal_sessions, self.roles = sessions, roles

    def finish(self, session_id: Optional[str], params: Mapping[str, Any]) -> Tuple[str, str]:
        pending, id_token, claims = self._answered(session_id, params, ("siret",))
        principal = self.roles.principal(claims)
        new_session_id, _ = self.portal_sessions.sign_in(session_id, principal,
                                                         signed_in_by=self.provider.config.issuer,
                                                         id_token_hint=id_token)
        return new_session_id, local_path(pending.next_path)


def portal_sign_in_for(settings: Any, sessions: PortalSessions) -> Optional[ProConnectSignIn]:
    """ProConnect as `PORTAL_OIDC` configures it (CITIZEN_OIDC's fields, plus `reviewers`, the
    commission's allow-list), or None when unset. Checked at cold start."""
    spec = dict(settings.portal_oidc or {})
    if not spec:
        return None
    reviewers = spec.pop("reviewers", [])
    if not isinstance(reviewers, list):
        raise ValueError("PORTAL_OIDC: 'reviewers' must be a list")
    spec.setdefault("name", "ProConnect")
    spec.setdefault("scope", "openid email given_name usual_name siret")
    try:
        config = UpstreamConfig.parse(spec, settings.public_base_url)
    except ValueError as error:
        raise ValueError(str(error).replace("CITIZEN_OIDC", "PORTAL_OIDC")) from None
    base = settings.public_base_url.rstrip("/")
    config = replace(config, redirect_uri=base + CALLBACK_PATH, post_logout_redirect_uri=base + LOGGED_OUT_PATH)
    return ProConnectSignIn(UpstreamProvider(config), sessions, RoleMap(config.issuer, reviewers))
