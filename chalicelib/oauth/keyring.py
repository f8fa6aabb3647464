"""The ring of token-signing keys: which key signs, which are published, when the next is made.

The keys are P-256 keys made in the function and kept, wrapped (oauth/keywrap.py), in one item of
the grants table (`SigningKeyRing`). A container reads the ring at its first token and again at
most every `refresh`; when the key that signs is due to be replaced, that read makes the next key
and adds it with a conditional put (another container may win: then it reads theirs). A new key
is published `publish_ahead` before it signs, so that every container and every client's JWKS
cache knows it first; a key that stopped signing stays published `kept_after`, until the tokens it
signed have expired. Each private key is unwrapped once per container, the first time it signs.
docs/decisions/0012-token-signing-key-ring.md."""
from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Dict, List, Mapping, Optional

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.oauth.keywrap import KeyWrap
from chalicelib.oauth.models import RingKeyEntry, SigningKeyRing
from chalicelib.clock import Clock

ALGORITHM = "ES256"
_WRITE_ATTEMPTS = 3  # a lost race means another container wrote: its ring is read and used


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an EC key: stable for a key, different for the next one."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"),
                           sort_keys=True)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(canonical.encode())
    return b64url(digest.finalize())


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> Dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    return {**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": ALGORITHM}


@dataclass(frozen=True)
class RingKey:
    kid: str
    public_jwk: Dict[str, Any]
    wrapped: bytes
    activates_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class RotationSchedule:
    """When keys sign and are published; no I/O."""

    period: timedelta  # how long a key signs
    publish_ahead: timedelta  # published before it signs: longer than a ring refresh plus the JWKS max-age
    kept_after: timedelta  # published after it stopped signing: the longest token lifetime, plus margins

    def current(self, keys: List[RingKey], now: datetime) -> Optional[RingKey]:
        """The key activated last; if none is active yet (an emergency key made by a clock a little
        ahead of this one), the first to activate: a ring that holds keys always has one signing."""
        active = [key for key in keys if key.activates_at <= now]
        if not active:
            return min(keys, key=lambda key: key.activates_at, default=None)
        return max(active, key=lambda key: key.activates_at)

    def published(self, keys: List[RingKey], now: datetime) -> List[RingKey]:
        """The key that signs first, then those that will, then those whose tokens may still live."""
        ordered = sorted(keys, key=lambda key: key.activates_at)
        current = self.current(ordered, now)
        upcoming = [key for key in ordered if key.activates_at > now and key is not current]
        previous = [key for key, successor in pairwise(ordered)
                    if successor.activates_at <= now and successor.activates_at + self.kept_after > now]
        return ([current] if current else []) + upcoming + previous[::-1]

    def next_activation(self, keys: List[RingKey], now: datetime) -> Optional[datetime]:
        """When a key to be made now should start signing: now for the first key, else when the
        current key has signed for `period` (and never sooner than `publish_ahead` from now, so
        that it is published first); None when no key is due."""
        if not keys:
            return now
        current = self.current(keys, now)
        if current is None or any(key.activates_at > now for key in keys):
            return None
        replaced_at = current.activates_at + self.period
        if now < replaced_at - self.publish_ahead:
            return None
        return max(replaced_at, now + self.publish_ahead)


class KeyRing:
    """The ring as this container knows it: read at most every `refresh`, and each private key
    unwrapped at most once."""

    def __init__(self, wrap: KeyWrap, schedule: RotationSchedule, clock: Clock, refresh: timedelta) -> None:
        self.wrap, self.schedule, self.clock, self.refresh = wrap, schedule, clock, refresh
        self._keys: List[RingKey] = []
        self._read_at: Optional[datetime] = None
        self._private: Dict[str, ec.EllipticCurvePrivateKey] = {}
        self._lock = threading.RLock()  # one request at a time in Lambda; tests call from threads

    @property
    def item_key(self) -> str:
        return f"signingring#{self.wrap.name}"

    def keys(self) -> List[RingKey]:
        """The ring, read again when older than `refresh` (and the next key made if it is due)."""
        with self._lock:
            now = self.clock()
            if self._read_at is None or now - self._read_at >= self.refresh:
                self.reread()
            return self._keys

    def reread(self) -> None:
        with self._lock:
            now = self.clock()
            item = self._read()
            for _ in range(_WRITE_ATTEMPTS):
                keys = _keys_of(item)
                activation = self.schedule.next_activation(keys, now)
                if activation is None:
                    break
                written = self._write(item, self._kept(keys, now) + [self._make_key(activation, now)])
                item = written if written is not None else self._read()
            self._keys, self._read_at = _keys_of(item), now

    def replace_all(self) -> RingKey:
        """Every key leaves the ring at once and a new one signs from now (a suspected leak): tokens
        signed by the old keys stop verifying in each container at its next read of the ring."""
        with self._lock:
            now = self.clock()
            for _ in range(_WRITE_ATTEMPTS):
                key = self._make_key(now, now)
                written = self._write(self._read(), [key])
                if written is not None:
                    self._keys, self._read_at = [key], now
                    return key
            raise RuntimeError("the signing key ring kept changing under the emergency rotation")

    def private_key(self, key: RingKey) -> ec.EllipticCurvePrivateKey:
        """The key's private half, unwrapped the first time this container signs with it."""
        with self._lock:
            private = self._private.get(key.kid)
            if private is None:
                der = self.wrap.unwrap(key.wrapped, key.kid)
                loaded = serialization.load_der_private_key(der, password=None)
                if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                    raise ValueError(f"key {key.kid} is not an EC key")
                private = self._private[key.kid] = loaded
            return private

    def _kept(self, keys: List[RingKey], now: datetime) -> List[RingKey]:
        """Keys still signing or published; the others leave the item when it is next written."""
        published = {key.kid for key in self.schedule.published(keys, now)}
        return [key for key in keys if key.kid in published]

    def _make_key(self, activates_at: datetime, now: datetime) -> RingKey:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = public_jwk(private.public_key())
        der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        # Kept in memory: this container signs with the key it made without unwrapping it.
        self._private[jwk["kid"]] = private
        return RingKey(jwk["kid"], jwk, self.wrap.wrap(der, jwk["kid"]), activates_at, now)

    def _read(self) -> Optional[SigningKeyRing]:
        try:
            return SigningKeyRing.get(self.item_key, consistent_read=True)
        except DoesNotExist:
            return None

    def _write(self, read: Optional[SigningKeyRing], keys: List[RingKey]) -> Optional[SigningKeyRing]:
        """The ring as written, or None when another container changed it since `read`."""
        version = read.version if read is not None else 0
        item = SigningKeyRing(self.item_key, version=version + 1, keys=[_entry_of(key) for key in keys])
        condition = (SigningKeyRing.grant_key.does_not_exist() if read is None
                     else SigningKeyRing.version == version)
        try:
            item.save(condition=condition)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # throttled or failed: a 503 at the edge; the next token tries again
            return None
        return item


def _keys_of(item: Optional[SigningKeyRing]) -> List[RingKey]:
    if item is None:
        return []
    return [RingKey(entry.kid, json.loads(entry.public_jwk), entry.wrapped, entry.activates_at, entry.created_at)
            for entry in item.keys]


def _entry_of(key: RingKey) -> RingKeyEntry:
    return RingKeyEntry(kid=key.kid, public_jwk=json.dumps(key.public_jwk, separators=(",", ":")),
                        wrapped=key.wrapped, activates_at=key.activates_at, created_at=key.created_at)
