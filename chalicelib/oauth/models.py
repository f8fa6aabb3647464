"""PynamoDB models of the Grants table: short-lived authorization state, keyed by a hash."""
from __future__ import annotations

import hashlib

from pynamodb.attributes import (BinaryAttribute, BooleanAttribute, DiscriminatorAttribute, ListAttribute,
                                 MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta


def grant_key(kind: str, secret: str) -> str:
    """Secrets (codes, session ids, refresh tokens) are never stored: only their SHA-256."""
    return f"{kind}#{hashlib.sha256(secret.encode()).hexdigest()}"


class GrantItem(Model):
    class Meta(TableMeta):
        table_name = settings.grants_table

    grant_key = UnicodeAttribute(hash_key=True)
    kind = DiscriminatorAttribute()
    # DynamoDB removes expired items, and reads check the time too. Absent on the durable items
    # (citizen links, the claim data key), which the TTL therefore never removes.
    expires_at = TTLAttribute(null=True)


class SessionItem(GrantItem, discriminator="session"):
    """A citizen's sign-in at the authorization server (cookie holds the random id only)."""

    patient_id = UnicodeAttribute(null=True)
    csrf_token = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # Who vouched for the citizen: the upstream OIDC issuer, or "demo" for the local picker.
    signed_in_by = UnicodeAttribute(null=True)
    id_token_hint = UnicodeAttribute(null=True)  # the upstream ID token, for the provider's logout
    # An upstream sign-in under way (state, nonce, PKCE verifier, where to go back): one use only.
    signin_state = UnicodeAttribute(null=True)
    signin_nonce = UnicodeAttribute(null=True)
    signin_verifier = UnicodeAttribute(null=True)
    signin_next = UnicodeAttribute(null=True)
    signin_started_at = UTCDateTimeAttribute(null=True)


class CitizenLink(GrantItem, discriminator="citizen"):
    """An upstream identity (issuer, sub), keyed by their hash (`citizen#sha256(issuer + "\n" +
    sub)`), and the citizen's internal id. Durable: no `expires_at`, so the table's TTL never
    removes it (the table has point-in-time recovery and is retained).
    docs/decisions/0009-citizen-sign-in-upstream.md."""

    patient_id = UnicodeAttribute()
    issuer = UnicodeAttribute()
    linked_at = UTCDateTimeAttribute()


class AuthorizationCodeItem(GrantItem, discriminator="code"):
    """A one-time authorization code, bound to client, redirect URI, PKCE challenge and consent."""

    client_id = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    scope = UnicodeAttribute()
    code_challenge = UnicodeAttribute()
    code_challenge_method = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    consent_generation = NumberAttribute()
    nonce = UnicodeAttribute(null=True)
    auth_time = NumberAttribute()
    used = BooleanAttribute(default=False)
    # The sign-in session the code was issued in (its grant key): online_access tokens live with it.
    session_key = UnicodeAttribute(null=True)

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time)

    def get_code_challenge(self) -> str:
        return self.code_challenge

    def get_code_challenge_method(self) -> str:
        return self.code_challenge_method


class RefreshTokenItem(GrantItem, discriminator="refresh"):
    """A refresh token (its hash), single-use: using it rotates it; reusing a rotated one after the
    grace period revokes its whole family."""

    family_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    scope = UnicodeAttribute()
    consent_generation = NumberAttribute()
    issued_at = UTCDateTimeAttribute()
    rotated_at = UTCDateTimeAttribute(null=True)

    # Authlib's TokenMixin, as far as the refresh and revocation endpoints need it
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope


class RefreshFamily(GrantItem, discriminator="family"):
    """The refresh tokens descended from one authorization: revoked together."""

    client_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    app_epoch = NumberAttribute(null=True)  # the app's token epoch when authorized (AppHead.token_epoch)
    revoked_at = UTCDateTimeAttribute(null=True)
    # online_access without offline_access: the family is usable only while this sign-in session
    # (its grant key) is alive; None for offline_access, which lasts as long as the consent.
    session_key = UnicodeAttribute(null=True)


class RingKeyEntry(MapAttribute):
    """One signing key of the ring: public half in clear, private half wrapped (oauth/keywrap.py)."""

    kid = UnicodeAttribute()  # RFC 7638 thumbprint of the public key
    public_jwk = UnicodeAttribute()  # compact JSON, as published
    wrapped = BinaryAttribute(legacy_encoding=False)  # PKCS8 DER of the private key, encrypted
    activates_at = UTCDateTimeAttribute()  # signs from then until the next key activates
    created_at = UTCDateTimeAttribute()


class SigningKeyRing(GrantItem, discriminator="signingring"):
    """The token-signing keys (next, current, previous) as one item, `signingring#<wrap key>`:
    one strongly consistent read (about 1 KB a key, at most four keys: under 4 KB, one read unit)
    loads them all, and one conditional put on `version` adds or retires a key atomically.
    Durable: no `expires_at`. docs/decisions/0012-token-signing-key-ring.md."""

    version = NumberAttribute()
    keys = ListAttribute(of=RingKeyEntry)


ALL_MODELS = (GrantItem,)
