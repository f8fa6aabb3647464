"""The broker's token-signing keys: the current key signs; previous public keys stay published
in the JWKS until the tokens they signed have expired."""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ALGORITHM = "ES256"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwk_of(public_key: ec.EllipticCurvePublicKey, kid: str) -> Dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def _raw_signature(der: bytes) -> bytes:
    """JWS wants r || s (RFC 7518 §3.4); KMS and cryptography return DER."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class SigningKey(Protocol):
    kid: str

    def sign(self, message: bytes) -> bytes: ...

    def public_jwk(self) -> Dict[str, Any]: ...


@dataclass
class LocalSigningKey:
    """A P-256 key in a PEM file: the local stage and tests (made at run time, never committed)."""

    path: Path

    @cached_property
    def _private(self) -> ec.EllipticCurvePrivateKey:
        return serialization.load_pem_private_key(self.path.read_bytes(), password=None)

    @cached_property
    def kid(self) -> str:
        # The key's own thumbprint: stable for a key, different for the next one.
        return _thumbprint(json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key())))

    def sign(self, message: bytes) -> bytes:
        return _raw_signature(self._private.sign(message, ec.ECDSA(hashes.SHA256())))

    def public_jwk(self) -> Dict[str, Any]:
        return _jwk_of(self._private.public_key(), self.kid)

    @staticmethod
    def create(path: Path) -> "LocalSigningKey":
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return LocalSigningKey(path)


@dataclass
class KmsSigningKey:
    """An asymmetric ECC_NIST_P256 KMS key: the private key never leaves KMS."""

    key_id: str
    client_factory: Any  # makes the boto3 KMS client on first use: not on every cold start

    @cached_property
    def client(self) -> Any:
        return self.client_factory()

    @cached_property
    def _public_key(self) -> ec.EllipticCurvePublicKey:
        der = self.client.get_public_key(KeyId=self.key_id)["PublicKey"]
        return serialization.load_der_public_key(der)

    @cached_property
    def kid(self) -> str:
        return _thumbprint(json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._public_key)))

    def sign(self, message: bytes) -> bytes:
        response = self.client.sign(KeyId=self.key_id, Message=message, MessageType="RAW",
                                    SigningAlgorithm="ECDSA_SHA_256")
        return _raw_signature(response["Signature"])

    def public_jwk(self) -> Dict[str, Any]:
        return _jwk_of(self._public_key, self.kid)


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an EC key."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"),
                           sort_keys=True)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(canonical.encode())
    return b64url(digest.finalize())


class TokenKeys:
    """Signs JWTs with the current key; verifies against the current and previous public keys."""

    def __init__(self, current: SigningKey, previous: Sequence[Mapping[str, Any]] = ()) -> None:
        self.current = current
        self.previous = [dict(jwk) for jwk in previous]
        self._verification_keys: Dict[str, Any] = {}  # kid -> public key, built on first use

    def jwks(self) -> Dict[str, List[Dict[str, Any]]]:
        return {"keys": [self.current.public_jwk(), *self.previous]}

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        header = {"alg": ALGORITHM, "typ": typ, "kid": self.current.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        return signing_input + "." + b64url(self.current.sign(signing_input.encode("ascii")))

    def verify(self, token: str, audience: str, issuer: str,
               required: Sequence[str] = ("exp", "iat", "iss", "aud", "sub"),
               typ: Optional[str] = None) -> Dict[str, Any]:
        """Claims of a token we signed (of JOSE type `typ`, when given); raises jwt.PyJWTError for
        anything else."""
        header = jwt.get_unverified_header(token)
        if typ is not None and header.get("typ") != typ:
            raise jwt.InvalidTokenError(f"not a {typ} token")
        kid = header.get("kid")
        key = self._verification_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            jwk = next((k for k in self.jwks()["keys"] if k["kid"] == kid), None)
            if jwk is None:
                raise jwt.InvalidKeyError("unknown kid")
            key = self._verification_keys[kid] = jwt.PyJWK(jwk).key
        return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                          issuer=issuer, options={"require": list(required)})


def token_keys_for(settings: Any, kms_client_factory=None) -> Optional[TokenKeys]:
    """The configured keys: KMS in AWS (SIGNING_KEY_ID), a local file otherwise."""
    previous = settings.previous_signing_keys
    if settings.signing_key_id:
        def kms_client() -> Any:
            import boto3
            return boto3.client("kms", region_name=settings.region)
        return TokenKeys(KmsSigningKey(settings.signing_key_id, kms_client_factory or kms_client), previous)
    if settings.signing_key_file and Path(settings.signing_key_file).exists():
        return TokenKeys(LocalSigningKey(Path(settings.signing_key_file)), previous)
    return None
