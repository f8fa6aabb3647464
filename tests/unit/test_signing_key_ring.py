"""The signing key ring: made on first use, rotated on schedule by whichever container comes first,
each private key wrapped at rest and unwrapped once per container; an emergency rotation."""
from datetime import timedelta

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bench.dynamodb_sizes import item_size
from chalicelib.config import settings
from chalicelib.oauth import keys as keys_module
from chalicelib.oauth.keyring import KeyRing
from chalicelib.oauth.keys import TokenKeys, token_keys_for
from chalicelib.oauth.keywrap import KmsKeyWrap, LocalKeyWrap, UnwrapError, create_wrap_key_file
from chalicelib.oauth.models import SigningKeyRing
from tests.helpers.signing_keys import AUD, ISS, REFRESH, SCHEDULE, claims

# The ring's windows with the default settings (SCHEDULE): a key signs 30 days, is published an
# hour ahead, and stays published 20 minutes after (600 s of token, 300 s of ring refresh, 300 s of
# JWKS cache).
DUE = timedelta(days=30) - timedelta(hours=1)
KEPT_AFTER = timedelta(minutes=20)


class CountingKms:
    """A KMS client that counts the calls made through it."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def __getattr__(self, name):
        attribute = getattr(self.client, name)
        if not callable(attribute) or name == "exceptions":
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)
        return counted


@pytest.fixture
def kms(aws):
    client = boto3.client("kms", region_name=settings.region)
    key_id = client.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    return client, key_id


def container(wrap, clock):
    """What one Lambda container holds: a ring it has not read yet."""
    return TokenKeys(KeyRing(wrap, SCHEDULE, clock, REFRESH))


def kids(keys):
    return [jwk["kid"] for jwk in keys.jwks()["keys"]]


def signer(keys):
    return jwt.get_unverified_header(keys.sign(claims()))["kid"]


def stored(keys):
    return SigningKeyRing.get(keys.ring.item_key, consistent_read=True)


def test_the_first_load_creates_one_key_stored_wrapped(aws, wrap, clock):
    keys = container(wrap, clock)
    (kid,) = kids(keys)
    item = stored(keys)
    (entry,) = item.keys
    assert (item.version, entry.kid, entry.activates_at) == (1, kid, clock())
    private = keys.ring.private_key(keys.ring.keys()[0])
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert der not in entry.wrapped and len(entry.wrapped) > len(der), "never in clear at rest"
    assert kids(container(wrap, clock)) == [kid], "another container finds it"


def test_two_containers_racing_create_exactly_one_next_key(aws, wrap, clock, monkeypatch):
    first, second = container(wrap, clock), container(wrap, clock)
    (current,) = kids(first)
    clock.advance(seconds=DUE.total_seconds() + 60)
    stale = stored(first)  # what `second` read, just before `first` wrote the next key
    first.ring.reread()
    reads = [stale]
    monkeypatch.setattr(second.ring, "_read", lambda: reads.pop() if reads else stored(first))
    assert kids(second) == kids(first)
    assert [entry.kid for entry in stored(first).keys][0] == current and len(stored(first).keys) == 2
    assert stored(first).version == 2


def test_the_next_key_is_published_ahead_signs_at_its_activation_and_leaves_after_its_tokens(
        aws, wrap, clock):
    keys = container(wrap, clock)
    (first,) = kids(keys)
    clock.advance(seconds=DUE.total_seconds() - 1)
    assert kids(keys) == [first], "not due yet"
    clock.advance(seconds=REFRESH.total_seconds())  # the container's next read of the ring
    current, following = kids(keys)
    assert current == first and signer(keys) == first, "published ahead, not signing yet"
    activation = next(key.activates_at for key in keys.ring.keys() if key.kid == following)
    assert activation - clock() == SCHEDULE.publish_ahead
    old_token = keys.sign(claims())

    clock.now = activation
    assert kids(keys) == [following, first] and signer(keys) == following
    assert keys.verify(old_token, AUD, ISS)["sub"] == "p-1", "the previous key's tokens still verify"
    assert kids(container(wrap, clock)) == [following, first], "every container agrees"

    clock.advance(seconds=KEPT_AFTER.total_seconds() - 1)
    assert kids(keys) == [following, first]
    clock.advance(seconds=1 + REFRESH.total_seconds())
    assert kids(keys) == [following]
    with pytest.raises(jwt.PyJWTError):
        keys.verify(old_token, AUD, ISS)


def test_the_ring_item_keeps_only_the_keys_it_publishes(aws, wrap, clock):
    keys = container(wrap, clock)
    for _ in range(5):
        clock.advance(days=30)
        keys.jwks()
    # Each time, the current key is due: the next is made, and the key before, long out of the
    # JWKS, leaves the item.
    assert sorted(entry.kid for entry in stored(keys).keys) == sorted(kids(keys))
    assert len(kids(keys)) == 2, "the current key and the next"


def test_signing_1000_tokens_calls_kms_once_per_container(aws, kms, clock):
    client, key_id = kms
    maker, other = CountingKms(client), CountingKms(client)
    first = container(KmsKeyWrap(key_id, lambda: maker), clock)
    for _ in range(1000):
        first.sign(claims())
    assert maker.calls == ["encrypt"], "the container that made the key signs without unwrapping it"
    second = container(KmsKeyWrap(key_id, lambda: other), clock)
    tokens = [second.sign(claims()) for _ in range(1000)]
    assert other.calls == ["decrypt"]
    for token in tokens[:10]:
        second.verify(token, AUD, ISS)
        first.verify(token, AUD, ISS)
    assert other.calls == ["decrypt"] and maker.calls == ["encrypt"], "verification uses public keys only"


def tampered(wrapped):
    return wrapped[:-1] + bytes([wrapped[-1] ^ 1])


@pytest.mark.parametrize("kind", ["kms", "local"])
def test_a_tampered_wrapped_key_is_never_used_to_sign(aws, kms, wrap, clock, kind):
    client, key_id = kms
    key_wrap = KmsKeyWrap(key_id, lambda: client) if kind == "kms" else wrap
    keys = container(key_wrap, clock)
    keys.jwks()
    item = stored(keys)
    item.keys[0].wrapped = tampered(item.keys[0].wrapped)
    item.save()
    with pytest.raises(UnwrapError):
        container(key_wrap, clock).sign(claims())


@pytest.mark.parametrize("kind", ["kms", "local"])
def test_a_wrapped_key_opens_only_for_its_own_kid(aws, kms, wrap, kind):
    client, key_id = kms
    key_wrap = KmsKeyWrap(key_id, lambda: client) if kind == "kms" else wrap
    wrapped = key_wrap.wrap(b"private key", "kid-1")
    assert key_wrap.unwrap(wrapped, "kid-1") == b"private key"
    with pytest.raises(UnwrapError):
        key_wrap.unwrap(wrapped, "kid-2")
    if kind == "kms":  # nor without the purpose the role's policy requires
        with pytest.raises(client.exceptions.InvalidCiphertextException):
            client.decrypt(CiphertextBlob=wrapped, KeyId=key_id, EncryptionContext={"kid": "kid-1"})


def test_another_wrap_key_cannot_open_the_ring(aws, wrap, tmp_path, clock):
    (kid,) = kids(container(wrap, clock))
    create_wrap_key_file(tmp_path / "other.bin")
    impostor = LocalKeyWrap(tmp_path / "other.bin")
    assert container(impostor, clock).ring.item_key != container(wrap, clock).ring.item_key, "a ring of its own"
    (entry,) = SigningKeyRing.get(container(wrap, clock).ring.item_key).keys
    with pytest.raises(UnwrapError):
        impostor.unwrap(entry.wrapped, kid)


def test_emergency_rotation_retires_every_key_and_old_tokens_fail(aws, clock, capsys):
    # Two containers of the deployment (the settings of tests/conftest.py).
    here, elsewhere = token_keys_for(settings, clock), token_keys_for(settings, clock)
    old_token = here.sign(claims())
    (old,) = kids(here)
    assert elsewhere.verify(old_token, AUD, ISS)

    assert keys_module.main(["rotate-now"]) == 0
    (new,) = kids(token_keys_for(settings, clock))
    assert new != old and new in capsys.readouterr().out
    fresh_token = token_keys_for(settings, clock).sign(claims())
    assert elsewhere.verify(fresh_token, AUD, ISS), "a container meeting the new kid reads the ring again"
    with pytest.raises(jwt.PyJWTError):
        elsewhere.verify(old_token, AUD, ISS)

    clock.advance(seconds=REFRESH.total_seconds())  # the last container reads the ring again
    assert signer(here) == new
    with pytest.raises(jwt.PyJWTError):
        here.verify(old_token, AUD, ISS)


def test_emergency_rotation_needs_a_wrap_key(monkeypatch):
    monkeypatch.setattr(keys_module, "key_ring_for", lambda *args: None)
    assert keys_module.main(["rotate-now"]) == 2
    assert keys_module.main([]) == 2


def test_the_ring_is_one_item_of_one_read_unit(aws, kms, clock):
    client, key_id = kms
    keys = container(KmsKeyWrap(key_id, lambda: client), clock)
    keys.jwks()
    clock.advance(seconds=DUE.total_seconds())
    assert len(kids(keys)) == 2
    item = stored(keys)
    item.keys = item.keys * 2  # four keys: more than the schedule keeps (next, current, previous)
    # KMS's ciphertext of a key is about 150 bytes longer than moto's.
    assert item_size(item.serialize()) + 4 * 150 < 4096
