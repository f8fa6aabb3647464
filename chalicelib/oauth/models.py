"""The authorization server's items in the grants table (chalicelib/grants.py): codes, refresh
tokens and their families, the signing key ring."""
from __future__ import annotations

from pynamodb.attributes import (BinaryAttribute, BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute, UTCDateTimeAttribute)

from chalicelib.grants import GrantItem


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


def family_item_key(family_id: str) -> str:
    """The family's item in the grants table (its id is random: no hashing needed)."""
    return f"family#{family_id}"


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

