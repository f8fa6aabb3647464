"""The OAuth grants as this broker runs them: authorization code with PKCE S256 only, and
refresh tokens with rotation and family revocation (Authlib grants; their storage is the
server's store, oauth/store.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Optional

from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge

from chalicelib.errors import oauth_description
from chalicelib.identity.citizens import session_alive
from chalicelib.grants import grant_key
from chalicelib.oauth.models import AuthorizationCodeItem, RefreshTokenItem
from chalicelib.oauth.scopes import InvalidScope, ScopeRequest

CODE_LIFETIME = 60
# A client that retries a refresh whose answer it lost presents the rotated token again: within
# this delay that is refused without revoking the family; later it is treated as theft.
REFRESH_REUSE_GRACE = timedelta(seconds=30)


class S256Only(CodeChallenge):
    """PKCE is required of every client, with S256 only (plain would defeat it)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted.")
        return super().validate_code_challenge(grant, redirect_uri)


@dataclass(frozen=True)
class Authorization:
    """The citizen and consent behind a code or a token (Authlib's 'user')."""

    patient_id: str
    pairwise_id: str
    consent_generation: int
    consent_expires_at: datetime
    nonce: Optional[str] = None  # from the authorization request, echoed in the ID token
    auth_time: Optional[int] = None
    session_key: Optional[str] = None  # the citizen's sign-in session (online_access lives with it)
    family_id: Optional[str] = None  # the token family: a new one per code, the same through refreshes

    def get_user_id(self) -> str:
        return self.pairwise_id


class SmartAuthorizationCodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none", "client_secret_basic", "private_key_jwt"]
    AUTHORIZATION_CODE_LENGTH = 48
    _validated_redirect_uri: Optional[str] = None

    def validate_authorization_request(self) -> str:
        """Once per request: Authlib validates again when it issues the code, within the same
        HTTP request that validated it to show or skip the consent page, which would read the
        app's head a second time for nothing."""
        if self._validated_redirect_uri is None:
            self._validated_redirect_uri = super().validate_authorization_request()
        return self._validated_redirect_uri

    def save_authorization_code(self, code: str, request) -> None:
        """The code carries what the citizen consented to (set by the authorize flow), which may
        be less than what the app asked."""
        authorization: Authorization = request.user
        data = request.payload.data
        now = self.server.clock()
        self.server.store.save_code(AuthorizationCodeItem(
            grant_key("code", code), client_id=request.client.get_client_id(),
            redirect_uri=data["redirect_uri"], scope=request.consented_scope,
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            patient_id=authorization.patient_id, consent_generation=authorization.consent_generation,
            nonce=data.get("nonce"), auth_time=authorization.auth_time or int(now.timestamp()),
            session_key=authorization.session_key,
            expires_at=now + timedelta(seconds=CODE_LIFETIME)))

    def query_authorization_code(self, code: str, client) -> Optional[AuthorizationCodeItem]:
        item = self.server.store.code(code)
        if item is None:
            return None
        if item.used:  # a replayed code, by whichever client: what it produced dies with the consent generation
            self.server.consents.end_tokens(item.patient_id, item.client_id, item.consent_generation)
            return None
        if item.client_id != client.get_client_id() or item.expires_at <= self.server.clock():
            return None
        return item

    def delete_authorization_code(self, item: AuthorizationCodeItem) -> None:
        pass  # marked used with the tokens' own writes, in one transaction: see BrokerServer.save_token

    def authenticate_user(self, item: AuthorizationCodeItem) -> Optional[Authorization]:
        authorization = self.server.authorization_for(item.patient_id, item.client_id, item.consent_generation)
        return authorization and replace(authorization, nonce=item.nonce, auth_time=item.get_auth_time(),
                                         session_key=item.session_key, family_id=uuid.uuid4().hex)


class SmartRefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none", "client_secret_basic", "private_key_jwt"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use gives a new one
    _authorization: Optional[Authorization] = None
    _narrowed_scope: Optional[str] = None

    def authenticate_refresh_token(self, refresh_token: str) -> Optional[RefreshTokenItem]:
        now = self.server.clock()
        store = self.server.store
        item = store.refresh_token(refresh_token)
        family = store.family(item.family_id) if item is not None else None
        if item is None or family is None:
            return None
        if family.revoked_at is not None or item.expires_at <= now:
            return None
        if (family.app_epoch or 0) != self.request.client.app.epoch:
            return None  # authorized before the app's last suspension: a new authorization is needed
        if family.session_key and not session_alive(family.session_key, item.patient_id, now):
            return None  # online_access: the citizen's sign-in session expired or was ended
        if item.rotated_at is not None:
            if now - item.rotated_at > REFRESH_REUSE_GRACE:
                store.revoke_family(item.family_id, self.server.clock())  # replay of a rotated token: theft
            return None
        authorization = self.server.authorization_for(item.patient_id, item.client_id, item.consent_generation,
                                                      item.family_id)
        if authorization is None:
            return None  # the consent ended, was revoked or re-granted, or this family was revoked
        self._authorization = replace(authorization, family_id=item.family_id)
        return item

    def _validate_token_scope(self, item: RefreshTokenItem) -> None:
        """A narrower `scope` may be asked (RFC 6749 §6), judged by what it allows rather than by
        its words: `patient/Observation.r` lies within `patient/Observation.rs` (oauth/scopes.py).
        Authlib's own check compares whole strings."""
        scope = self.request.payload.scope
        if not scope:
            return  # the scope originally granted (the family's)
        try:
            self._narrowed_scope = ScopeRequest.parse(scope).narrowed_from(item.get_scope())
        except InvalidScope as error:
            raise InvalidScopeError(oauth_description(error.message)) from None

    def issue_token(self, user: Authorization, item: RefreshTokenItem):
        """The new tokens carry exactly the narrowed scope (in v2 terms, as at authorization); the
        family keeps the original one (see BrokerServer.save_token)."""
        return self.generate_token(user=user, scope=self._narrowed_scope or item.get_scope(),
                                   include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)

    def authenticate_user(self, item: RefreshTokenItem) -> Optional[Authorization]:
        """The consent found by authenticate_refresh_token, in this same request: not read twice."""
        return self._authorization

    def revoke_old_credential(self, item: RefreshTokenItem) -> None:
        pass  # rotated with the new refresh token's own write, in one transaction: see BrokerServer.save_token
