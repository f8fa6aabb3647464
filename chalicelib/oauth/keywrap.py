"""How the token-signing private keys are kept encrypted at rest ("wrapped"): by a symmetric KMS
key in AWS, by a local AES-256-GCM file key in the local stage and tests. Both bind each wrapped
key to its purpose and its kid, so that a wrapped key copied under another kid does not open."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Dict, Protocol

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PURPOSE = "mes-token-signing-key"  # the encryption context's purpose, required by the role's policy
_NONCE_BYTES = 12
_UNOPENABLE = {"InvalidCiphertextException", "IncorrectKeyException"}  # KMS's "not this key's, not as sent"


class UnwrapError(RuntimeError):
    """A wrapped private key that does not open: tampered with, another kid's, or another wrap
    key's. Never signed around: the token endpoint fails rather than sign with a key it cannot trust."""


def encryption_context(kid: str) -> Dict[str, str]:
    return {"purpose": PURPOSE, "kid": kid}


class KeyWrap(Protocol):
    @property
    def name(self) -> str:
        """Which wrap key this is: names the ring, so that another wrap key starts a ring of its own."""

    def wrap(self, private_der: bytes, kid: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, kid: str) -> bytes: ...


@dataclass
class KmsKeyWrap:
    """KMS `Encrypt` once per new key, `Decrypt` once per key per container: the private key
    never reaches storage in clear, and signing itself never calls KMS."""

    key_id: str
    client_factory: Callable[[], Any]  # the boto3 KMS client, made on first use, not at import

    @cached_property
    def client(self) -> Any:
        return self.client_factory()

    @property
    def name(self) -> str:
        return self.key_id

    def wrap(self, private_der: bytes, kid: str) -> bytes:
        return self.client.encrypt(KeyId=self.key_id, Plaintext=private_der,
                                   EncryptionContext=encryption_context(kid))["CiphertextBlob"]

    def unwrap(self, wrapped: bytes, kid: str) -> bytes:
        try:
            return self.client.decrypt(CiphertextBlob=wrapped, KeyId=self.key_id,
                                       EncryptionContext=encryption_context(kid))["Plaintext"]
        except ClientError as error:
            if error.response["Error"]["Code"] not in _UNOPENABLE:
                raise  # throttled or unreachable: a 503 at the edge, nothing signed
            raise UnwrapError(f"the wrapped signing key {kid} does not open with {self.key_id}") from error


@dataclass
class LocalKeyWrap:
    """AES-256-GCM with a key file made at run time (never committed), the encryption context as
    associated data: the same guarantees as KMS for local runs and tests, without AWS."""

    path: Path

    @cached_property
    def _key(self) -> bytes:
        return self.path.read_bytes()

    @property
    def name(self) -> str:
        # A fingerprint, not the key: a new file (a new `make run`) starts a ring of its own.
        return "local-" + hashlib.sha256(self._key).hexdigest()[:16]

    def wrap(self, private_der: bytes, kid: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self._key).encrypt(nonce, private_der, _associated_data(kid))

    def unwrap(self, wrapped: bytes, kid: str) -> bytes:
        try:
            return AESGCM(self._key).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _associated_data(kid))
        except (InvalidTag, ValueError) as error:
            raise UnwrapError(f"the wrapped signing key {kid} does not open with {self.name}") from error


def _associated_data(kid: str) -> bytes:
    return json.dumps(encryption_context(kid), sort_keys=True, separators=(",", ":")).encode()


def create_wrap_key_file(path: Path) -> None:
    """A new 256-bit wrap key, readable by its owner only (local runs and tests; never committed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(AESGCM.generate_key(bit_length=256))
