"""The broker's tokens: signed by the ring's current key, verified against the keys it publishes.

Signing never calls KMS (oauth/keyring.py unwraps a key once per container); verification uses
public keys only. Emergency rotation, for a suspected leak:
`python -m chalicelib.oauth.keys rotate-now` (docs/deploy.md, section 4)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chalicelib.oauth.keyring import ALGORITHM, KeyRing, RotationSchedule, b64url
from chalicelib.oauth.keywrap import KeyWrap, KmsKeyWrap, LocalKeyWrap
from chalicelib.clock import Clock

# How long clients may cache GET /oauth/jwks (its Cache-Control max-age).
JWKS_MAX_AGE = 300
# The longest-lived token these keys sign (access and ID tokens, oauth/server.py): a key stays
# published this long after it stopped signing, so a longer-lived token is refused at signing.
MAX_TOKEN_LIFETIME = 600
# A verify() that meets an unknown kid reads the ring again at most this often, so that tokens
# with made-up kids cannot cost a table read each.
UNKNOWN_KID_REREAD = timedelta(seconds=10)


def _raw_signature(der: bytes) -> bytes:
    """JWS wants r || s (RFC 7518 §3.4); cryptography returns DER."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def rotation_schedule(period: timedelta, publish_ahead: timedelta, refresh: timedelta) -> RotationSchedule:
    """The schedule for these settings, refused when clients or containers could meet a key
    before it is published, or when keys would be replaced as soon as they sign."""
    if publish_ahead <= refresh + timedelta(seconds=JWKS_MAX_AGE):
        raise ValueError("the publish-ahead time must exceed the ring's refresh time plus the JWKS max-age")
    if period <= publish_ahead:
        raise ValueError("the rotation period must exceed the publish-ahead time")
    # Every container switches to a key at its `activates_at` (all have read the ring since it was
    # published); the superseded key's tokens live MAX_TOKEN_LIFETIME more; the refresh and the JWKS
    # max-age are margins for clocks that differ: a key published too long costs nothing.
    return RotationSchedule(period, publish_ahead, timedelta(seconds=MAX_TOKEN_LIFETIME + JWKS_MAX_AGE) + refresh)


class TokenKeys:
    """Signs JWTs with the ring's current key; verifies them against the keys the ring publishes."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._verification_keys: Dict[str, Any] = {}  # kid -> public key, built on first use
        self._unknown_kid_reread_at: Optional[datetime] = None

    def _published(self) -> List[Dict[str, Any]]:
        return [key.public_jwk for key in self.ring.schedule.published(self.ring.keys(), self.ring.clock())]

    def jwks(self) -> Dict[str, List[Dict[str, Any]]]:
        """The key that signs now first, then the next one, then previous ones (RFC 7517)."""
        return {"keys": self._published()}

    def publishes(self, kid: Any) -> bool:
        """Whether tokens of this kid still verify (a retired key's stop at once)."""
        return any(jwk["kid"] == kid for jwk in self._published())

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        keys = self.ring.keys()
        now = self.ring.clock()  # after the read: a key the read made is current at once
        if claims["exp"] - now.timestamp() > MAX_TOKEN_LIFETIME:
            raise ValueError(f"a token signed by the ring lives at most {MAX_TOKEN_LIFETIME} s")
        key = self.ring.schedule.current(keys, now)
        if key is None:  # the ring always holds a current key once read
            raise RuntimeError("the signing key ring has no current key")
        header = {"alg": ALGORITHM, "typ": typ, "kid": key.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.ring.private_key(key).sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        return signing_input + "." + b64url(_raw_signature(signature))

    def verify(self, token: str, audience: str, issuer: str,
               required: Sequence[str] = ("exp", "iat", "iss", "aud", "sub"),
               typ: Optional[str] = None) -> Dict[str, Any]:
        """Claims of a token we signed (of JOSE type `typ`, when given); raises jwt.PyJWTError for
        anything else."""
        header = jwt.get_unverified_header(token)
        if typ is not None and header.get("typ") != typ:
            raise jwt.InvalidTokenError(f"not a {typ} token")
        kid = header.get("kid")
        jwk = self._published_jwk(kid) if isinstance(kid, str) else None
        if jwk is None or not isinstance(kid, str):
            raise jwt.InvalidKeyError("unknown kid")
        key = self._verification_keys.get(kid)
        if key is None:
            key = self._verification_keys[kid] = jwt.PyJWK(jwk).key
        return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                          issuer=issuer, options={"require": list(required)})

    def _published_jwk(self, kid: str) -> Optional[Dict[str, Any]]:
        """The published key of this kid; a kid this container does not know yet (a key another
        container made in an emergency rotation) reads the ring again, at most every
        UNKNOWN_KID_REREAD."""
        jwk = next((k for k in self._published() if k["kid"] == kid), None)
        now = self.ring.clock()
        if jwk is None and (self._unknown_kid_reread_at is None
                            or now - self._unknown_kid_reread_at >= UNKNOWN_KID_REREAD):
            self._unknown_kid_reread_at = now
            self.ring.reread()
            jwk = next((k for k in self._published() if k["kid"] == kid), None)
        return jwk


def key_wrap_for(settings: Any, kms_client_factory: Optional[Callable[[], Any]] = None) -> Optional[KeyWrap]:
    """KMS in AWS (SIGNING_WRAP_KEY_ID), a local file otherwise; None if neither is configured."""
    if settings.signing_wrap_key_id:
        def kms_client() -> Any:
            import boto3
            return boto3.client("kms", region_name=settings.region)
        return KmsKeyWrap(settings.signing_wrap_key_id, kms_client_factory or kms_client)
    if settings.signing_wrap_key_file and Path(settings.signing_wrap_key_file).exists():
        return LocalKeyWrap(Path(settings.signing_wrap_key_file))
    return None


def key_ring_for(settings: Any, clock: Clock, kms_client_factory: Optional[Callable[[], Any]] = None
                 ) -> Optional[KeyRing]:
    wrap = key_wrap_for(settings, kms_client_factory)
    if wrap is None:
        return None
    refresh = timedelta(seconds=settings.signing_ring_refresh_seconds)
    schedule = rotation_schedule(timedelta(days=settings.signing_key_rotation_days),
                                 timedelta(seconds=settings.signing_key_publish_ahead_seconds), refresh)
    return KeyRing(wrap, schedule, clock, refresh)


def token_keys_for(settings: Any, clock: Clock, kms_client_factory: Optional[Callable[[], Any]] = None
                   ) -> Optional[TokenKeys]:
    """The configured keys; nothing is read until the first token (not at import or cold start)."""
    ring = key_ring_for(settings, clock, kms_client_factory)
    return TokenKeys(ring) if ring is not None else None


def main(argv: Sequence[str]) -> int:
    """`python -m chalicelib.oauth.keys rotate-now`, with the stage's GRANTS_TABLE,
    SIGNING_WRAP_KEY_ID and AWS_REGION: retires every signing key at once (a suspected leak)."""
    if list(argv) != ["rotate-now"]:
        print("usage: python -m chalicelib.oauth.keys rotate-now", file=sys.stderr)
        return 2
    from chalicelib.config import settings
    ring = key_ring_for(settings, lambda: datetime.now(timezone.utc))
    if ring is None:
        print("Neither SIGNING_WRAP_KEY_ID nor an existing SIGNING_WRAP_KEY_FILE is set.", file=sys.stderr)
        return 2
    key = ring.replace_all()
    print(f"Every previous signing key is retired; {key.kid} signs from now. Containers follow within "
          f"{int(ring.refresh.total_seconds())} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
