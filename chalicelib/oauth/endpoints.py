"""Revocation (RFC 7009) and introspection (RFC 7662) on Authlib's endpoints."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

import jwt
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from chalicelib.identity.citizens import session_alive
from chalicelib.oauth.claims import APP_EPOCH_CLAIM, FAMILY_CLAIM, SEALED_CLAIM, SealError
from chalicelib.oauth.models import RefreshTokenItem

_CLIENT_AUTH = ["none", "client_secret_basic", "private_key_jwt"]


@dataclass
class AccessToken:
    """One of our JWT access tokens, signature and audience verified."""

    claims: Dict[str, Any]

    def check_client(self, client) -> bool:
        return self.claims["client_id"] == client.get_client_id()


@dataclass
class RefreshToken:
    item: RefreshTokenItem

    def check_client(self, client) -> bool:
        return self.item.check_client(client)


Token = Union[AccessToken, RefreshToken]


def _check_params(request) -> None:
    """A token is required; a `token_type_hint` we do not know is ignored, as RFC 7009 section 2.1
    says (and introspection searches every type whatever the hint, RFC 7662 section 2.1)."""
    if "token" not in request.form:
        raise InvalidRequestError("The 'token' parameter is required.")


def _find(server, token_string: str, hint: Optional[str]) -> Optional[Token]:
    """Any token of ours, whatever the hint says (RFC 7009 §2.1)."""
    if token_string.count(".") == 2:
        try:
            return AccessToken(server.keys.verify(token_string, server.fhir_base_url, server.issuer))
        except jwt.PyJWTError:
            return None
    item = server.store.refresh_token(token_string)
    return RefreshToken(item) if item is not None else None


class BrokerRevocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = _CLIENT_AUTH

    def check_params(self, request, client) -> None:
        _check_params(request)

    def query_token(self, token_string, token_type_hint):
        return _find(self.server, token_string, token_type_hint)

    def revoke_token(self, token: Token, request) -> None:
        """Any token takes its whole family with it (the authorization it came from, and every
        refresh since): refresh tokens at once, access tokens at their next FHIR call."""
        server = self.server
        if isinstance(token, RefreshToken):
            item = token.item
            server.revoke_tokens(item.patient_id, item.client_id, item.family_id, int(item.consent_generation))
            return
        claims = token.claims
        try:
            patient_id = server.seal.unseal(claims.get(SEALED_CLAIM), claims["client_id"])
        except (SealError, AttributeError):
            return  # not a token the FHIR API would accept: nothing to stop
        server.revoke_tokens(patient_id, claims["client_id"], claims.get(FAMILY_CLAIM),
                             claims.get("consent_generation", -1))


class BrokerIntrospection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = _CLIENT_AUTH

    def check_params(self, request, client) -> None:
        _check_params(request)

    def query_token(self, token_string, token_type_hint):
        return _find(self.server, token_string, token_type_hint)

    def check_permission(self, token: Token, client, request) -> bool:
        return token.check_client(client)  # an app may introspect its own tokens only

    def create_introspection_payload(self, token: Optional[Token]) -> Dict[str, Any]:
        if token is None or not self._active(token):
            return {"active": False}
        return self.introspect_token(token)

    def _active(self, token: Token) -> bool:
        server = self.server
        if isinstance(token, AccessToken):
            consent = server.consents.by_pairwise_id(token.claims["patient"])
            return (consent is not None and consent.app_id == token.claims["client_id"]
                    and server.authorization_for(consent.patient_id, consent.app_id,
                                                 token.claims.get("consent_generation", -1),
                                                 token.claims.get(FAMILY_CLAIM)) is not None
                    and _still_referenced(server, consent.app_id, token.claims.get(APP_EPOCH_CLAIM, 0)))
        item = token.item
        family = server.store.family(item.family_id)
        if family is None:
            return False
        return (item.rotated_at is None and family.revoked_at is None and item.expires_at > server.clock()
                and (not family.session_key or session_alive(family.session_key, item.patient_id, server.clock()))
                and server.authorization_for(item.patient_id, item.client_id, item.consent_generation,
                                             item.family_id) is not None
                and _still_referenced(server, item.client_id, family.app_epoch or 0))

    def introspect_token(self, token: Token) -> Dict[str, Any]:
        if isinstance(token, AccessToken):
            claims = token.claims
            return {"active": True, "token_type": "Bearer", **{k: claims[k] for k in (
                "scope", "client_id", "exp", "iat", "sub", "patient", "aud", "iss")}}
        item = token.item
        consent = self.server.consents.active(item.patient_id, item.client_id)
        return {"active": True, "token_type": "refresh_token", "scope": item.scope, "client_id": item.client_id,
                "exp": int(item.expires_at.timestamp()), "iat": int(item.issued_at.timestamp()),
                "sub": consent.pairwise_id, "patient": consent.pairwise_id, "iss": self.server.issuer}


def _still_referenced(server, app_id: str, epoch: Any) -> bool:
    """The app is a client still (published, not lapsed), and was not suspended since the token's
    epoch."""
    client = server.query_client(app_id)
    return client is not None and client.app.epoch == epoch
