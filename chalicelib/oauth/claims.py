"""The citizen's internal id, sealed inside access tokens for the FHIR API alone.

Apps see only pairwise patient ids. The FHIR API needs the internal id to reach the record and
the consent, and must not pay a table read for it on every call: the token carries it encrypted
(AES-256-GCM, bound to the app), readable by the broker only. The key is a file made at run time
locally; in AWS, a data key made once by the KMS key CLAIM_KEY_ID, stored encrypted in the grants
table and decrypted once per cold start (docs/decisions/0007-fhir-record-and-hot-path.md)."""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pynamodb.attributes import BinaryAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.grants import GrantItem

_NONCE_BYTES = 12
SEALED_CLAIM = "mes_ref"  # the access-token claim that carries it
APP_EPOCH_CLAIM = "app_epoch"  # the app's token epoch at issuance (AppHead.token_epoch)
# The token family: one authorization and every token refreshed from it, revoked together
# (RFC 7009: the consent's revoked_families, read by the FHIR gate).
FAMILY_CLAIM = "fam"
# Someone acting for the patient (a legal representative, docs/decisions/0018, or a proxy the
# patient chose, 0019): in what capacity (plain, for the FHIR API's rules: a representative does
# not see what the patient hid from them), and who, sealed like the patient (for the history).
ACTING_AS_CLAIM = "act_as"
ACTOR_CLAIM = "mes_act"
_CONTEXT = {"purpose": "mes-access-token-claims"}  # KMS encryption context of the data key


class ClaimKeyItem(GrantItem, discriminator="claimkey"):
    """The claim data key, encrypted by KMS (never in clear at rest)."""

    ciphertext = BinaryAttribute(legacy_encoding=False)


class SealError(ValueError):
    """A sealed claim that this broker did not make for this app."""


@dataclass
class ClaimSeal:
    key_source: Callable[[], bytes]

    @cached_property
    def _aead(self) -> AESGCM:
        return AESGCM(self.key_source())

    def seal(self, patient_id: str, app_id: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, patient_id.encode("utf-8"), app_id.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def unseal(self, value: Any, app_id: str) -> str:
        if not isinstance(value, str) or len(value) > 400:
            raise SealError("not a sealed claim")
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], app_id.encode("utf-8")).decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError):
            raise SealError("not a sealed claim of this broker for this app") from None


def create_key_file(path: Path) -> None:
    """A new 256-bit key, readable by its owner only (local runs and tests; never committed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(AESGCM.generate_key(bit_length=256))


def kms_data_key(key_id: str, kms_client: Any) -> bytes:
    """The deployment's data key: made by KMS the first time, by one instance (a conditional put),
    then decrypted by every cold start. Stored under the KMS key's id, so that a replaced key makes
    a new data key instead of failing to decrypt the old one."""
    item_key = f"claimkey#{key_id}"
    try:
        item = ClaimKeyItem.get(item_key)
    except DoesNotExist:
        made = kms_client.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=_CONTEXT)
        try:
            # Durable (no `expires_at`) and not rotated: a warm instance keeps the key it
            # decrypted, so a rotation would need a key id in tokens.
            ClaimKeyItem(item_key, ciphertext=made["CiphertextBlob"]).save(
                condition=ClaimKeyItem.grant_key.does_not_exist())
            return made["Plaintext"]
        except PutError:  # another instance made it first: use theirs
            item = ClaimKeyItem.get(item_key, consistent_read=True)
    return kms_client.decrypt(CiphertextBlob=item.ciphertext, KeyId=key_id, EncryptionContext=_CONTEXT)["Plaintext"]


def claim_seal_for(settings: Any, kms_client_factory: Optional[Callable[[], Any]] = None) -> Optional[ClaimSeal]:
    """The configured seal: KMS in AWS (CLAIM_KEY_ID), a local file otherwise; None if neither."""
    if settings.claim_key_id:
        def kms_client() -> Any:
            import boto3
            return boto3.client("kms", region_name=settings.region)
        factory = kms_client_factory or kms_client
        return ClaimSeal(lambda: kms_data_key(settings.claim_key_id, factory()))
    if settings.claim_key_file and Path(settings.claim_key_file).exists():
        path = Path(settings.claim_key_file)
        return ClaimSeal(path.read_bytes)
    return None
