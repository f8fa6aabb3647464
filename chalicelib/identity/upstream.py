"""The upstream OpenID Connect provider that signs citizens in (FranceConnect in production):
discovery, the authorization request, the code exchange, the ID token check and the userinfo
endpoint. Its settings are in upstream_config.py, its HTTP in upstream_http.py.

The protocol pieces are Authlib's (authorization request and token request parameters, client
authentication, PKCE S256) and joserfc's (JWS signature against the issuer's JWKS, claims)."""
from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode

from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from chalicelib import web

from chalicelib.identity.upstream_config import (UpstreamConfig, UpstreamError)
from chalicelib.identity.upstream_http import HTTP_TIMEOUT, MAX_RESPONSE_BYTES, fetch_json, read_secrets_manager

METADATA_TTL = 3600  # seconds an issuer's metadata and keys are kept by a warm Lambda
JWKS_REFRESH_MIN_INTERVAL = 60  # an unknown kid refetches the keys, at most this often
LEEWAY = 60


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str


class UpstreamProvider:
    """One OIDC provider; its metadata and keys are cached for the life of a warm Lambda."""

    def __init__(self, config: UpstreamConfig, secret_reader: Optional[Callable[[str], str]] = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config, self.clock = config, clock
        self._secret_reader = secret_reader or read_secrets_manager
        self._lock = threading.Lock()
        self._metadata: Optional[Dict[str, Any]] = None
        self._metadata_at = 0.0
        self._keys: Optional[KeySet] = None
        self._keys_at = 0.0
        self._secret: Optional[str] = None

    # -- discovery and keys -----------------------------------------------------------------------

    def metadata(self) -> Dict[str, Any]:
        with self._lock:
            if self._metadata is not None and self.clock() - self._metadata_at < METADATA_TTL:
                return self._metadata
        status, document = fetch_json(f"{self.config.issuer}/.well-known/openid-configuration")
        if status != 200 or not isinstance(document, dict):
            raise UpstreamError("upstream_unavailable", f"The identity provider's discovery answered {status}.", 502)
        document = {**document, **self.config.metadata}
        # OpenID Connect Discovery §4.3: the issuer in the document must be the one configured.
        if document.get("issuer", "").rstrip("/") != self.config.issuer:
            raise UpstreamError("upstream_misconfigured", "The identity provider's metadata names another issuer.", 502)
        missing = [name for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
                   if not isinstance(document.get(name), str)]
        if missing:
            raise UpstreamError("upstream_misconfigured", f"The identity provider's metadata lacks {missing}.", 502)
        with self._lock:
            self._metadata, self._metadata_at = document, self.clock()
        return document

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            known = self._keys
            fresh = known is not None and self.clock() - self._keys_at < METADATA_TTL
            may_refresh = self.clock() - self._keys_at >= JWKS_REFRESH_MIN_INTERVAL
            if known is not None and fresh and not (refresh and may_refresh):
                return known
        status, document = fetch_json(self.metadata()["jwks_uri"])
        if status != 200 or not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise UpstreamError("upstream_unavailable", f"The identity provider's keys answered {status}.", 502)
        usable = [key for key in document["keys"] if isinstance(key, dict) and key.get("use", "sig") == "sig"
                  and key.get("kty") in ("RSA", "EC")]
        try:
            keys = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as error:
            raise UpstreamError("upstream_misconfigured", f"The identity provider's keys are unusable ({error}).",
                                502) from error
        with self._lock:
            self._keys, self._keys_at = keys, self.clock()
        return keys

    def client_secret(self, fresh: bool = False) -> str:
        """The client secret, read once per warm Lambda, or again when the provider refused it."""
        if self._secret is None or fresh:
            if self.config.client_secret_file is not None:
                self._secret = self.config.client_secret_file.read_text(encoding="utf-8").strip()
            else:
                self._secret = self._secret_reader(self.config.client_secret_arn or "")
            if not self._secret:
                raise UpstreamError("upstream_misconfigured", "The client secret for the identity provider "
                                                              "is not set.", 502)
        return self._secret

    # -- the flow ---------------------------------------------------------------------------------

    def authorization_request(self) -> AuthorizationRequest:
        """Where to send the citizen: state, nonce and PKCE S256, all fresh."""
        state, nonce, verifier = (secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))
        extra = {"nonce": nonce, "code_challenge": create_s256_code_challenge(verifier),
                 "code_challenge_method": "S256"}
        if self.config.acr_values:
            extra["acr_values"] = self.config.acr_values
        url = prepare_grant_uri(self.metadata()["authorization_endpoint"], self.config.client_id, "code",
                                redirect_uri=self.config.redirect_uri, scope=self.config.scope, state=state, **extra)
        return AuthorizationRequest(url, state, nonce, verifier)

    @property
    def origin(self) -> str:
        """The provider's origin (scheme and host), where the sign-out may send the browser."""
        return web.origin_of(self.config.issuer)

    def logout_url(self, id_token_hint: str) -> Optional[str]:
        """Where to send a citizen who signs out, so that their session at the provider ends too
        (OpenID Connect RP-initiated logout; FranceConnect requires it): None if the provider has
        no end_session_endpoint, or cannot be reached now (our own sign-out still happens)."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except UpstreamError:
            return None
        # Only on the provider's own site: the sign-out form's CSP allows that origin and no other.
        if not isinstance(endpoint, str) or web.origin_of(endpoint) != self.origin:
            return None
        query = urlencode({"id_token_hint": id_token_hint, "state": secrets.token_urlsafe(16),
                           "post_logout_redirect_uri": self.config.post_logout_redirect_uri})
        return endpoint + ("&" if "?" in endpoint else "?") + query

    def exchange(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code (the code is the provider's to check)."""
        return self.exchange_tokens(code, verifier)["id_token"]

    def exchange_tokens(self, code: str, verifier: str) -> Dict[str, Any]:
        """The provider's whole token answer for a code, its ID token checked to be there (the
        portal's sign-in also needs the access token, for the userinfo endpoint)."""
        metadata = self.metadata()
        token_endpoint = metadata["token_endpoint"]
        body = prepare_token_request("authorization_code", code=code, redirect_uri=self.config.redirect_uri,
                                     code_verifier=verifier)
        status, answer = self._token_call(token_endpoint, body, metadata, fresh_secret=False)
        if status == 401 or (isinstance(answer, dict) and answer.get("error") == "invalid_client"):
            # The secret may have been changed at the provider and in Secrets Manager: read it again, once.
            status, answer = self._token_call(token_endpoint, body, metadata, fresh_secret=True)
        if not isinstance(answer, dict):
            raise UpstreamError("upstream_error", "The identity provider's token answer is malformed.", 502)
        if status != 200 or "error" in answer:
            raise UpstreamError("upstream_error", f"The identity provider refused the code "
                                                  f"({str(answer.get('error', status))[:80]}).", 502)
        if not isinstance(answer.get("id_token"), str):
            raise UpstreamError("upstream_error", "The identity provider gave no ID token.", 502)
        return answer

    def _token_call(self, token_endpoint: str, body: str, metadata: Mapping[str, Any],
                    fresh_secret: bool) -> Tuple[int, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        auth = ClientAuth(self.config.client_id, self.client_secret(fresh_secret), self._auth_method(metadata))
        _, headers, signed = auth.prepare("POST", token_endpoint, headers, body)
        return fetch_json(token_endpoint, data=signed.encode("utf-8"), headers=headers)

    def _auth_method(self, metadata: Mapping[str, Any]) -> str:
        """The configured method, else `client_secret_basic` if the provider takes it (RFC 8414's
        default when it says nothing), else `client_secret_post`."""
        if self.config.token_endpoint_auth_method:
            return self.config.token_endpoint_auth_method
        offered = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return "client_secret_basic" if "client_secret_basic" in offered else "client_secret_post"

    def userinfo(self, access_token: str, subject: str) -> Dict[str, Any]:
        """The claims at the provider's userinfo endpoint (ProConnect's organisation, names and e-mail;
        FranceConnect's identity), as a JWT signed with its keys (or JSON); its `sub` must be the ID
        token's (OIDC Core 5.3.2). No endpoint: no claims."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        request = urllib.request.Request(endpoint, headers={  # noqa: S310 - the provider's https URL (loopback in tests)
            "Authorization": f"Bearer {access_token}", "Accept": "application/jwt, application/json"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - as above
                kind, raw = response.headers.get("Content-Type", ""), response.read(MAX_RESPONSE_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise UpstreamError("upstream_unavailable", f"The identity provider's userinfo failed ({error}).",
                                502) from error
        try:
            if "jwt" in kind:
                claims = jwt.decode(raw.decode("ascii").strip(), self._key_set(),
                                    algorithms=list(self.config.algorithms)).claims
            else:
                claims = json.loads(raw)
        except (JoseError, ValueError, UnicodeDecodeError) as error:
            raise UpstreamError("invalid_id_token", f"The identity provider's userinfo is not valid ({error}).",
                                502) from error
        if len(raw) > MAX_RESPONSE_BYTES or not isinstance(claims, dict) or claims.get("sub") != subject:
            raise UpstreamError("invalid_id_token", "The identity provider's userinfo is about someone else.", 502)
        return claims

    def verify_id_token(self, id_token: str, nonce: str) -> Dict[str, Any]:
        """The ID token's claims once its signature (the issuer's JWKS, pinned algorithms), `iss`,
        `aud`, `azp`, `exp`, `iat`, `nonce` and, when asked for, `acr` are right."""
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=list(self.config.algorithms))
            except JoseError as error:
                if error.error != "invalid_key_id":
                    raise
                # The provider may have rotated its keys since we fetched them.
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=list(self.config.algorithms))
            claims = token.claims
            jwt.JWTClaimsRegistry(
                now=int(self.clock()), leeway=LEEWAY,
                iss={"essential": True, "value": self.config.issuer},
                aud={"essential": True, "value": self.config.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError, TypeError) as error:
            raise UpstreamError("invalid_id_token",
                                f"The identity provider's ID token is not valid ({error}).") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise UpstreamError("invalid_id_token", "The ID token is meant for several parties, not us.")
        if self.config.acr_values and claims.get("acr") not in self.config.acr_values.split():
            raise UpstreamError("invalid_id_token", "The ID token does not carry the level of assurance asked.")
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
            raise UpstreamError("invalid_id_token", "The ID token's subject is malformed.")
        return claims
