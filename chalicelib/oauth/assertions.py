"""`private_key_jwt` client authentication (RFC 7523, SMART's asymmetric confidential clients)."""
from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from datetime import datetime, timezone
from typing import Any, Dict, Tuple, cast

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pynamodb.exceptions import PutError

from chalicelib.grants import GrantItem

# SMART App Launch 2 names RS384 and ES384; RS256 and ES256 are accepted too. No HMAC: a client's
# public key must never be usable as a shared secret.
ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]
MAX_ASSERTION_LIFETIME = 300  # seconds, per SMART
_JWKS_CACHE: Dict[str, Tuple[float, Dict[str, Any]]] = {}
_JWKS_CACHE_SECONDS = 300


class UsedAssertion(GrantItem, discriminator="assertion"):
    """A client assertion's jti, kept until the assertion expires: a replay is refused."""


def _fetch_jwks(uri: str) -> Dict[str, Any]:
    cached = _JWKS_CACHE.get(uri)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    with urllib.request.urlopen(uri, timeout=5) as response:  # noqa: S310 - https, from the listing
        jwks = json.loads(response.read(512 * 1024))
    _JWKS_CACHE[uri] = (time.monotonic() + _JWKS_CACHE_SECONDS, jwks)
    return jwks


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, issuer: str) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.issuer = issuer

    def get_audiences(self):
        return [f"{self.issuer}/oauth/token", self.issuer]

    def resolve_client_public_key(self, client) -> KeySet:
        settings = client.app.client or {}
        try:
            jwks = settings.get("jwks") or _fetch_jwks(settings["jwks_uri"])
            return KeySet.import_key_set(cast(Any, jwks))
        except (KeyError, ValueError, OSError, JoseError):
            raise InvalidClientError(description="The client's public keys cannot be read.") from None

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jose_jwt.decode(assertion, resolve_key, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise InvalidClientError(description=f"Invalid client assertion: {error}") from None
        self.verify_claims(token.claims)
        if token.claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="The client assertion must expire within 5 minutes.")
        return token.claims

    def validate_jti(self, claims, jti) -> bool:
        key = f"assertion#{claims['sub']}#{hashlib.sha256(str(jti).encode()).hexdigest()}"
        try:
            UsedAssertion(key, expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc)).save(
                condition=UsedAssertion.grant_key.does_not_exist())
        except PutError:
            return False
        return True
