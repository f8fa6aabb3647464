"""Citizen sign-in through the upstream OpenID Connect provider (FranceConnect): the flow's rules,
and the link from an upstream identity to the citizen's internal id."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from chalicelib import web
from chalicelib.identity.citizens import CitizenSessions, PendingSignIn, Sessions, identity_in
from chalicelib.identity.store import LinkStore
from chalicelib.identity.upstream import UpstreamProvider
from chalicelib.identity.upstream_config import UpstreamConfig, UpstreamError

def local_path(value: Optional[str]) -> str:
    """Where a sign-in may lead back to: a path of this site (web.is_local_path), else refused."""
    if not value:
        return "/"
    if not web.is_local_path(value):
        raise UpstreamError("invalid_next", "The return address must be a page of this site.")
    return value


class ProviderSignIn:
    """What every sign-in through an upstream OpenID Connect provider shares (citizens'
    FranceConnect here, the portal's ProConnect in portal.py): the redirect with state, nonce and
    PKCE kept in the session; the callback's checks; the claims; the sign-out that ends the
    provider's session too. Subclasses sign the person in (`finish`)."""

    landing = "/"  # where a sign-in that names no page goes back to

    def __init__(self, provider: UpstreamProvider, sessions: Sessions) -> None:
        self.provider, self.sessions = provider, sessions

    def start(self, session_id: Optional[str], next_path: Optional[str]) -> Tuple[str, str]:
        """The session id (new if none) and the provider's authorization URL to redirect to."""
        destination = local_path(next_path or self.landing)
        request = self.provider.authorization_request()
        session_id = self.sessions.begin_sign_in(
            session_id, PendingSignIn(request.state, request.nonce, request.verifier, destination))
        return session_id, request.url

    def _answered(self, session_id: Optional[str], params: Mapping[str, Any],
                  wanted: Iterable[str] = ()) -> Tuple[PendingSignIn, str, Dict[str, Any]]:
        """The provider's answer at the callback, checked: the pending sign-in of its `state`,
        taken once; the answering provider the one asked; no error; a code, exchanged; the ID
        token checked. Returns the sign-in, the ID token and its claims, completed at the userinfo
        endpoint when one of the `wanted` claims is not in the ID token."""
        pending = self.sessions.take_sign_in(session_id, str(params.get("state") or ""))
        if pending is None:
            raise UpstreamError("invalid_state", "This sign-in expired, was already used, or was not started "
                                                 "from this browser.")
        # RFC 9207: a provider that names itself in the answer must be the one we asked.
        if params.get("iss") is not None and str(params["iss"]).rstrip("/") != self.provider.config.issuer:
            raise UpstreamError("invalid_state", "The answer comes from another identity provider.")
        if params.get("error"):
            raise UpstreamError("access_denied" if params["error"] == "access_denied" else "upstream_error",
                                f"The identity provider answered: {str(params['error'])[:80]}.")
        code = params.get("code")
        if not code or len(str(code)) > 2048:
            raise UpstreamError("invalid_request", "The identity provider's answer carries no code.")
        tokens = self.provider.exchange_tokens(str(code), pending.verifier)
        claims = dict(self.provider.verify_id_token(tokens["id_token"], pending.nonce))
        if any(name not in claims for name in wanted) and isinstance(tokens.get("access_token"), str):
            claims.update(self.provider.userinfo(tokens["access_token"], claims["sub"]))
        return pending, tokens["id_token"], claims

    def sign_out(self, session_id: Optional[str]) -> Optional[str]:
        """End the session here; if it came through the provider, the URL that ends the session
        there too (else None). On a shared computer, the next person must not find the provider
        still signed in."""
        session = self.sessions.find(session_id)
        hint = session.id_token_hint if session is not None and session.signed_in_by == self.provider.config.issuer \
            else None
        self.sessions.end(session_id)
        return self.provider.logout_url(hint) if hint else None


class CitizenDirectory:
    """Upstream identities to internal ids. There is no national identity table here: the first
    sign-in of an (issuer, sub) creates a random internal id, kept in a durable link item; every
    later sign-in finds it (one GetItem). docs/decisions/0009-citizen-sign-in-upstream.md. The
    links are stored by `store` (identity/store.py)."""

    def __init__(self, clock: Callable[[], datetime], store: Optional[LinkStore] = None) -> None:
        self.clock = clock
        self.store = store or LinkStore()

    def citizen_for(self, issuer: str, subject: str) -> str:
        link = self.store.find(issuer, subject)
        if link is not None:
            return link.patient_id
        # A concurrent first sign-in of the same citizen may win the creation: then its id is the one.
        return self.store.create(issuer, subject, f"cit-{secrets.token_hex(16)}", self.clock()).patient_id


class UpstreamSignIn(ProviderSignIn):
    """Citizens through FranceConnect: the internal id of the (issuer, sub), and the identity the
    provider vouches for when the scope asks for it (a proxy invitation is matched against it:
    decision 0019)."""

    def __init__(self, provider: UpstreamProvider, sessions: CitizenSessions, directory: CitizenDirectory) -> None:
        super().__init__(provider, sessions)
        self.citizens, self.directory = sessions, directory

    @property
    def name(self) -> str:
        return self.provider.config.name

    def finish(self, session_id: Optional[str], params: Mapping[str, Any]) -> Tuple[str, str]:
        """The provider's answer: the new session id of the signed-in citizen, and where to go."""
        identity = ("given_name", "family_name", "birthdate")
        asked = set(identity) <= set(self.provider.config.scope.split())
        pending, id_token, claims = self._answered(session_id, params, identity if asked else ())
        patient_id = self.directory.citizen_for(self.provider.config.issuer, claims["sub"])
        # The ID token is kept as the `id_token_hint` that the provider's logout will need.
        new_session_id, _ = self.citizens.sign_in(session_id, patient_id, signed_in_by=self.provider.config.issuer,
                                                  id_token_hint=id_token, identity=identity_in(claims, patient_id))
        return new_session_id, local_path(pending.next_path)


def upstream_sign_in_for(settings: Any, sessions: CitizenSessions, clock: Callable[[], datetime],
                         links: Optional[LinkStore] = None) -> Optional[UpstreamSignIn]:
    """The configured upstream sign-in, or None when `CITIZEN_OIDC` is unset; its links to
    citizens are stored by `links`."""
    if not settings.citizen_oidc:
        return None
    config = UpstreamConfig.parse(settings.citizen_oidc, settings.public_base_url)
    return UpstreamSignIn(UpstreamProvider(config), sessions, CitizenDirectory(clock, links))
