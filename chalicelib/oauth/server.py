"""Authlib's OAuth 2 authorization server, adapted to Chalice requests and backed by our tables.

Authlib does the protocol (authorization code, PKCE, client authentication, error semantics);
this module supplies clients (published apps), codes and refresh tokens (the grants table, through
oauth/store.py) and access tokens (our JWTs).

Longer than 300 lines: Authlib's server needs its request adapter, client and token hooks in one
class hierarchy; each piece here is one of those hooks."""
from __future__ import annotations

import hmac
import re
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlencode

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from chalice.app import Request

from chalicelib.catalog.models import HEAD_VERSION, STATUS_VERSION, AppHead, AppStatus, hash_client_secret
from chalicelib.edge import query_lists, read_form
from chalicelib.errors import ServiceUnavailable
from chalicelib.ids import is_app_id
from chalicelib.consent.service import ConsentService
from chalicelib.oauth.assertions import PrivateKeyJwt
from chalicelib.oauth.claims import ACTING_AS_CLAIM, ACTOR_CLAIM, APP_EPOCH_CLAIM, FAMILY_CLAIM, SEALED_CLAIM, ClaimSeal
from chalicelib.oauth.endpoints import BrokerIntrospection, BrokerRevocation
from chalicelib.oauth.grants import (Authorization, S256Only, SmartAuthorizationCodeGrant,
                                     SmartRefreshTokenGrant)
from chalicelib.oauth.keys import TokenKeys
from chalicelib.oauth.quotas import Quota, Quotas
from chalicelib.grants import grant_key
from chalicelib.oauth.models import AuthorizationCodeItem, RefreshFamily, RefreshTokenItem, family_item_key
from chalicelib.oauth.store import GrantAlreadyUsed, GrantStore
from chalicelib.clock import Clock

ACCESS_TOKEN_LIFETIME = 600  # seconds: short, since consent is checked again at every FHIR call


class ChalicePayload(OAuth2Payload):
    def __init__(self, values: Mapping[str, List[str]]) -> None:
        self._values = values

    @property
    def data(self) -> Dict[str, str]:
        return {key: values[0] for key, values in self._values.items() if values}

    @property
    def datalist(self):
        return defaultdict(list, {key: list(values) for key, values in self._values.items()})


class ChaliceOAuth2Request(OAuth2Request):
    """A Chalice request as Authlib sees it: query and form parameters together, or the form's
    alone (`body_only`: the token, revocation and introspection endpoints, RFC 6749 section 3.2).
    `repeated` names the parameters sent more than once, which no endpoint accepts.

    The consent form names its checkboxes `scope` (one per scope, as SMART clients and tests
    expect) and carries the original request's scope as `requested_scope`: here the latter is the
    request's `scope` again, and the ticked boxes are `scope_choices`."""

    def __init__(self, request: Request, base_url: str, body_only: bool = False) -> None:
        query: Dict[str, List[str]] = {} if body_only else query_lists(request)
        form: Dict[str, List[str]] = {}
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
            form = read_form(request)
        self.scope_choices: List[str] = []
        if "requested_scope" in form:
            self.scope_choices = form.pop("scope", [])
            form["scope"] = form.pop("requested_scope")
        uri = base_url + request.path + ("?" + urlencode(query, doseq=True) if query else "")
        super().__init__(request.method, uri, headers=dict(request.headers))
        values = {**query, **{k: query.get(k, []) + v for k, v in form.items()}}
        self.repeated = sorted(name for name, given in values.items() if len(given) > 1)
        self.payload = ChalicePayload(values)
        self._form = {k: v[0] for k, v in form.items() if v}
        self._args = {k: v[0] for k, v in query.items() if v}

    @property
    def form(self) -> Dict[str, str]:
        return self._form

    def repeated_description(self) -> str:
        """Why a request with repeated parameters is refused, naming those with plain names (the
        text of an OAuth error may not carry just any character)."""
        plain = [name for name in self.repeated if re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", name)]
        return "Each parameter may be sent once only (RFC 6749 section 3.1)" + (
            f"; repeated: {', '.join(plain)}." if plain else ".")

    @property
    def args(self) -> Dict[str, str]:
        return self._args


@dataclass
class Client(ClientMixin):
    """A published app as an OAuth client: its status item (a few hundred bytes: status, registration,
    approved scopes, token epoch, quota), which every OAuth step reads; its head (14 KB, with the
    public listing) only when the consent page is shown or a consent given."""

    app: AppStatus
    preloaded_head: Optional[AppHead] = None

    @property
    def head(self) -> AppHead:
        """The app's head, read on first use."""
        if self.preloaded_head is None:
            self.preloaded_head = AppHead.get(self.app.app_id, HEAD_VERSION)
        return self.preloaded_head

    @classmethod
    def of_head(cls, head: AppHead) -> "Client":
        return cls(head.status_item(), head)

    def get_client_id(self) -> str:
        return self.app.app_id

    def get_default_redirect_uri(self) -> Optional[str]:
        return None  # a redirect_uri must always be sent, and match exactly

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # the SMART layer checks scopes against the approval (oauth/scopes.py)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.app.redirect_uris or [])

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.app.client_secret_hash
        return bool(stored) and hmac.compare_digest(stored, hash_client_secret(client_secret))

    @property
    def client_type(self) -> str:
        return (self.app.client or {}).get("type", "public")

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        allowed = {"public": "none", "confidential_secret": "client_secret_basic",
                   "confidential_jwks": "private_key_jwt"}[self.client_type]
        return method == allowed

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "refresh_token":
            return bool({"offline_access", "online_access"} & set(self.app.approved_scopes or ()))
        return grant_type == "authorization_code"


class BrokerServer(AuthorizationServer):
    """The protocol on Authlib; its codes, refresh tokens and families are in `store`
    (oauth/store.py), which its grants and endpoints reach through it."""

    def __init__(self, keys: Optional[TokenKeys], issuer: str, fhir_base_url: str, clock: Clock,
                 consents: ConsentService, seal: Optional[ClaimSeal] = None, quotas: Optional[Quotas] = None,
                 store: Optional[GrantStore] = None) -> None:
        super().__init__()
        self.keys, self.issuer, self.fhir_base_url, self.clock = keys, issuer, fhir_base_url, clock
        self.consents, self.seal, self.quotas = consents, seal, quotas
        self.store = store or GrantStore()
        self.register_grant(SmartAuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(SmartRefreshTokenGrant)
        self.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(issuer))
        self.register_endpoint(BrokerRevocation)
        self.register_endpoint(BrokerIntrospection)
        self.register_token_generator("default", self._generate_token)

    def authorization_for(self, patient_id: str, app_id: str, generation: int,
                          family_id: Optional[str] = None) -> Optional[Authorization]:
        """The consent behind a code or a token, if it is still the one given: revoked or
        re-granted since, or the token's family revoked, no."""
        consent = self.consents.active(patient_id, app_id)
        if consent is None or consent.generation != generation or consent.family_revoked(family_id):
            return None
        return Authorization.of_consent(consent)

    def query_client(self, client_id: str) -> Optional[Client]:
        """Only a published app, not suspended, withdrawn or lapsed, is a client."""
        if not client_id or not is_app_id(client_id):
            return None
        try:
            app = AppStatus.get(client_id, STATUS_VERSION)
        except AppStatus.DoesNotExist:
            return None
        if app.status != "published" or app.lapsed(self.clock()):
            return None
        if app.client is None:  # written before the registration was copied to the status item
            return Client.of_head(AppHead.get(client_id, HEAD_VERSION))
        return Client(app)

    def save_token(self, token: Dict[str, Any], request) -> None:
        """In one transaction (GrantStore.redeem): the code or the refresh token this answer
        replaces is marked used (once: a concurrent second use is cancelled), and the new refresh
        token is stored (hashed), in the family of the token it replaces, keeping that token's scope
        and never outliving the consent. Access tokens are self-contained JWTs. So a throttled or
        failed write leaves nothing half done: the client may present the same code or refresh
        token again."""
        user: Authorization = request.user
        previous: Optional[RefreshTokenItem] = getattr(request, "refresh_token", None)
        code: Optional[AuthorizationCodeItem] = getattr(request, "authorization_code", None)
        now = self.clock()
        issued: Optional[RefreshTokenItem] = None
        family: Optional[RefreshFamily] = None
        if "refresh_token" in token:
            issued, family = self._new_refresh_token(token, request, user, previous, now)
        try:
            self.store.redeem(previous if previous is not None else code, now, issued, family)
        except GrantAlreadyUsed:
            if previous is not None:
                raise InvalidGrantError("This refresh token was already used.") from None
            if code is not None:  # used meanwhile by a concurrent request: a replay as well
                self.consents.end_tokens(code.patient_id, code.client_id, int(code.consent_generation))
            raise InvalidGrantError("This authorization code was already used.") from None

    @staticmethod
    def _new_refresh_token(token: Dict[str, Any], request, user: Authorization, previous: Optional[RefreshTokenItem],
                           now: datetime) -> Tuple[RefreshTokenItem, Optional[RefreshFamily]]:
        """The new refresh token's item, and its family's when it starts one (from a code)."""
        family = None
        if previous is None:
            # online_access alone: the family lives only while the sign-in session does.
            online_only = "offline_access" not in token["scope"].split()
            # str(): both grants' authenticate_user set a family id (a new one for a code).
            family = RefreshFamily(family_item_key(str(user.family_id)), client_id=request.client.get_client_id(),
                                   patient_id=user.patient_id, expires_at=user.consent_expires_at,
                                   app_epoch=request.client.app.epoch,
                                   session_key=user.session_key if online_only else None)
        issued = RefreshTokenItem(grant_key("refresh", token["refresh_token"]), family_id=user.family_id,
                                  client_id=request.client.get_client_id(), patient_id=user.patient_id,
                                  scope=previous.scope if previous else token["scope"],
                                  consent_generation=user.consent_generation, issued_at=now,
                                  expires_at=user.consent_expires_at)
        return issued, family

    def revoke_tokens(self, patient_id: str, client_id: str, family_id: Optional[str], generation: int) -> None:
        """Every token of a family, at once: its refresh tokens (the family item) and its access
        tokens (the consent's revoked families, which the FHIR gate reads with the consent on every
        call). A token made before families existed takes every token of its consent with it."""
        if family_id is None:
            self.consents.end_tokens(patient_id, client_id, generation)
            return
        self.store.revoke_family(family_id, self.clock())
        self.consents.revoke_family(patient_id, client_id, family_id,
                                    self.clock() + timedelta(seconds=ACCESS_TOKEN_LIFETIME))

    def _generate_token(self, grant_type, client: Client, user: Authorization, scope: str,
                        expires_in=None, include_refresh_token=False) -> Dict[str, Any]:
        """An ES256 JWT access token; a refresh token when offline access was granted (and at
        every refresh, which rotates it). Counted against the app's quota here, once the client and
        its code or refresh token are known good, so that nobody else's failed attempts use it up;
        a refusal comes before anything is saved, and the code or refresh token stays usable."""
        if self.quotas is not None:
            self.quotas.learn(client.get_client_id(), Quota.of(client.app.quota))
            self.quotas.charge(client.get_client_id(), "token")
        now = int(self.clock().timestamp())
        claims = {"iss": self.issuer, "aud": self.fhir_base_url, "sub": user.pairwise_id,
                  "patient": user.pairwise_id, "client_id": client.get_client_id(), "scope": scope,
                  "jti": str(uuid.uuid4()), "iat": now, "exp": now + ACCESS_TOKEN_LIFETIME,
                  "consent_generation": user.consent_generation, APP_EPOCH_CLAIM: client.app.epoch,
                  FAMILY_CLAIM: user.family_id}
        if self.seal is not None:  # the citizen's internal id, for the FHIR API only (oauth/claims.py)
            claims[SEALED_CLAIM] = self.seal.seal(user.patient_id, client.get_client_id())
        if user.actor_id and self.seal is not None:  # someone acting for the patient (decision 0018)
            claims[ACTING_AS_CLAIM] = user.acting_as
            claims[ACTOR_CLAIM] = self.seal.seal(user.actor_id, client.get_client_id())
        token = {"access_token": self._keys().sign(claims, typ="at+jwt"), "token_type": "Bearer",
                 "expires_in": ACCESS_TOKEN_LIFETIME, "scope": scope, "patient": user.pairwise_id,
                 "access_grant_expiration": int(user.consent_expires_at.timestamp())}
        if grant_type == "refresh_token" or (include_refresh_token
                                             and {"offline_access", "online_access"} & set(scope.split())):
            token["refresh_token"] = secrets.token_urlsafe(48)
        if "openid" in scope.split():
            token["id_token"] = self._id_token(client, user, scope, now)
        return token

    def _id_token(self, client: Client, user: Authorization, scope: str, now: int) -> str:
        """OpenID Connect ID token: who the citizen is for this app (pairwise), and with `fhirUser`,
        the FHIR resource that represents them."""
        claims = {"iss": self.issuer, "sub": user.pairwise_id, "aud": client.get_client_id(),
                  "iat": now, "exp": now + ACCESS_TOKEN_LIFETIME}
        if user.auth_time is not None:
            claims["auth_time"] = user.auth_time
        if user.nonce:
            claims["nonce"] = user.nonce
        if "fhirUser" in scope.split():  # who is using the app: the patient, or who acts for them
            claims["fhirUser"] = (f"{self.fhir_base_url}/RelatedPerson/{user.actor_ref}" if user.actor_id
                                  else f"{self.fhir_base_url}/Patient/{user.pairwise_id}")
        return self._keys().sign(claims)

    def _keys(self) -> TokenKeys:
        if self.keys is None:
            raise ServiceUnavailable("No signing key wrap is configured.")
        return self.keys

    def create_oauth2_request(self, request: Request) -> ChaliceOAuth2Request:
        return request if isinstance(request, ChaliceOAuth2Request) else ChaliceOAuth2Request(request, self.issuer)

    def create_json_request(self, request):
        raise NotImplementedError("JSON requests are not used by this server")

    def handle_response(self, status: int, body: Any, headers) -> tuple:
        return status, body, dict(headers)

    def send_signal(self, name, *args, **kwargs) -> None:
        pass
