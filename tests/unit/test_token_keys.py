"""Token signing: our JWS verifies with standard libraries and the published JWKS; forged, retired
or wrong tokens are refused."""
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.oauth.keyring import KeyRing
from chalicelib.oauth.keys import TokenKeys, rotation_schedule
from chalicelib.oauth.keywrap import LocalKeyWrap, create_wrap_key_file
from tests.helpers.signing_keys import AUD, ISS, REFRESH, SCHEDULE, claims


@pytest.fixture
def keys(aws, wrap, clock):
    return TokenKeys(KeyRing(wrap, SCHEDULE, clock, REFRESH))


def test_a_signed_token_verifies_with_pyjwt_and_the_published_jwks(keys):
    token = keys.sign(claims(scope="patient/Observation.rs"))
    header = jwt.get_unverified_header(token)
    (jwk,) = keys.jwks()["keys"]
    assert header["alg"] == "ES256" and header["kid"] == jwk["kid"]
    assert "d" not in jwk, "the JWKS publishes public keys only"
    decoded = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience=AUD, issuer=ISS)
    assert decoded["scope"] == "patient/Observation.rs"
    assert keys.verify(token, AUD, ISS)["sub"] == "p-1"


@pytest.mark.parametrize("tamper", ["alg_none", "hs256_with_public_key", "wrong_aud", "wrong_iss", "expired",
                                    "other_key"])
def test_forged_or_wrong_tokens_are_refused(keys, tamper):
    (jwk,) = keys.jwks()["keys"]
    kid = jwk["kid"]
    if tamper == "alg_none":
        token = jwt.encode(claims(), None, algorithm="none", headers={"kid": kid})
    elif tamper == "hs256_with_public_key":
        public_pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        header = b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
        signing_input = header + "." + b64(json.dumps(claims()).encode())
        token = signing_input + "." + b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    elif tamper == "wrong_aud":
        token = keys.sign(claims(aud="https://elsewhere"))
    elif tamper == "wrong_iss":
        token = keys.sign(claims(iss="https://evil.example"))
    elif tamper == "expired":
        token = keys.sign(claims(exp=int(time.time()) - 60))
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        token = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": kid})
    with pytest.raises(jwt.PyJWTError):
        keys.verify(token, AUD, ISS)


def test_a_token_of_another_ring_is_refused(keys, aws, tmp_path, clock):
    create_wrap_key_file(tmp_path / "other.bin")
    other = TokenKeys(KeyRing(LocalKeyWrap(tmp_path / "other.bin"), SCHEDULE, clock, REFRESH))
    with pytest.raises(jwt.PyJWTError):
        keys.verify(other.sign(claims()), AUD, ISS)


def test_a_token_meant_to_outlive_its_key_is_not_signed(keys):
    with pytest.raises(ValueError):
        keys.sign(claims(exp=int(time.time()) + 3600))


def test_made_up_kids_cost_one_ring_read_per_period_at_most(keys, clock, monkeypatch):
    keys.jwks()
    reads = []
    reread = keys.ring.reread
    monkeypatch.setattr(keys.ring, "reread", lambda: reads.append(1) or reread())
    for number in range(100):
        token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                           headers={"kid": f"made-up-{number}"})
        with pytest.raises(jwt.InvalidKeyError):
            keys.verify(token, AUD, ISS)
    assert len(reads) == 1
    clock.advance(seconds=10)
    with pytest.raises(jwt.InvalidKeyError):
        keys.verify(token, AUD, ISS)
    assert len(reads) == 2


@pytest.mark.parametrize("publish_ahead, period", [(timedelta(minutes=10), timedelta(days=30)),
                                                   (timedelta(hours=1), timedelta(minutes=30))])
def test_a_schedule_that_would_sign_with_unpublished_keys_is_refused(publish_ahead, period):
    # Clients cache the JWKS for 300 s and containers read the ring every 5 minutes: a key
    # published 10 minutes ahead might sign before some client or container knows it.
    with pytest.raises(ValueError):
        rotation_schedule(period, publish_ahead, REFRESH)
