"""Citizen sign-in through the upstream OpenID Connect provider (FranceConnect): the flow's rules,
and the link from an upstream identity to the citizen's internal id."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Callable, Mapping, Optional, Tuple

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


def answered(sessions: Sessions, provider: UpstreamProvider, session_id: Optional[str],
             params: Mapping[str, Any]) -> Tuple[PendingSignIn, str]:
    """The provider's answer at the callback, checked before its code is exchanged (citizens'
    FranceConnect and the portal's ProConnect alike): the pending sign-in of its `state`, taken
    once; the answering provider the one asked; no error; a code. Returns the sign-in and the code."""
    pending = sessions.take_sign_in(session_id, str(params.get("state") or ""))
    if pending is None:
        raise UpstreamError("invalid_state", "This sign-in expired, was already used, or was not started "
                                             "from this browser.")
    # RFC 9207: a provider that names itself in the answer must be the one we asked.
    if params.get("iss") is not None and str(params["iss"]).rstrip("/") != provider.config.issuer:
        raise UpstreamError("invalid_state", "The answer comes from another identity provider.")
    if params.get("error"):
        raise UpstreamError("access_denied" if params["error"] == "access_denied" else "upstream_error",
                            f"The identity provider answered: {str(params['error'])[:80]}.")
    code = params.get("code")
    if not code or len(str(code)) > 2048:
        raise UpstreamError("invalid_request", "The identity provider's answer carries no code.")
    return pending, str(code)


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


class UpstreamSignIn:
    def __init__(self, provider: UpstreamProvider, sessions: CitizenSessions, directory: CitizenDirectory) -> None:
        self.provider, self.sessions, self.directory = provider, sessions, directory

    @property
    def name(self) -> str:
        return self.provider.config.name

    def start(self, session_id: Optional[str], next_path: Optional[str]) -> Tuple[str, str]:
        """The session id (new if none) and the provider's authorization URL to redirect to."""
        destination = local_path(next_path)
        request = self.provider.authorization_request()
        session_id = self.sessions.begin_sign_in(
            session_id, PendingSignIn(request.state, request.nonce, request.verifier, destination))
        return session_id, request.url

    def finish(self, session_id: Optional[str], params: Mapping[str, Any]) -> Tuple[str, str]:
        """The provider's answer: the new session id of the signed-in citizen, and where to go."""
        pending, code = answered(self.sessions, self.provider, session_id, params)
        tokens = self.provider.exchange_tokens(code, pending.verifier)
        id_token = tokens["id_token"]
        claims = dict(self.provider.verify_id_token(id_token, pending.nonce))
        patient_id = self.directory.citizen_for(self.provider.config.issuer, claims["sub"])
        # The identity, when the scope asks for it: in the ID token, or at the userinfo endpoint
        # (FranceConnect's way); a proxy invitation is matched against it (decision 0019).
        asked = {"given_name", "family_name", "birthdate"} <= set(self.provider.config.scope.split())
        if asked and identity_in(claims, patient_id) is None and isinstance(tokens.get("access_token"), str):
            claims.update(self.provider.userinfo(tokens["access_token"], claims["sub"]))
        # The ID token is kept as the `id_token_hint` that the provider's logout will need.
        new_session_id, _ = self.sessions.sign_in(session_id, patient_id, signed_in_by=self.provider.config.issuer,
                                                  id_token_hint=id_token, identity=identity_in(claims, patient_id))
        return new_session_id, local_path(pending.next_path)

    def sign_out(self, session_id: Optional[str]) -> Optional[str]:
        """End the citizen's session here; if they came through the provider, the URL that ends
        their session there too (else None). On a shared computer, the next person must not find
        the provider still signed in."""
        session = self.sessions.find(session_id)
        hint = session.id_token_hint if session is not None and session.signed_in_by == self.provider.config.issuer \
            else None
        self.sessions.end(session_id)
        return self.provider.logout_url(hint) if hint else None


def upstream_sign_in_for(settings: Any, sessions: CitizenSessions, clock: Callable[[], datetime],
                         links: Optional[LinkStore] = None) -> Optional[UpstreamSignIn]:
    """The configured upstream sign-in, or None when `CITIZEN_OIDC` is unset; its links to
    citizens are stored by `links`."""
    if not settings.citizen_oidc:
        return None
    config = UpstreamConfig.parse(settings.citizen_oidc, settings.public_base_url)
    return UpstreamSignIn(UpstreamProvider(config), sessions, CitizenDirectory(clock, links))
