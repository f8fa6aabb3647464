"""Token signing: our JWS verifies with standard libraries; rotation keeps old tokens valid."""
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from moto import mock_aws

from chalicelib.oauth.keys import KmsSigningKey, LocalSigningKey, TokenKeys

AUD, ISS = "http://testserver/fhir", "http://testserver"


def claims(**extra):
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "p-1", "iat": now, "exp": now + 300, **extra}


@pytest.fixture
def local_key(tmp_path):
    return LocalSigningKey.create(tmp_path / "signing.pem")


def test_a_signed_token_verifies_with_pyjwt_and_the_published_jwks(local_key):
    keys = TokenKeys(local_key)
    token = keys.sign(claims(scope="patient/Observation.rs"))
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == local_key.kid
    jwk = keys.jwks()["keys"][0]
    assert "d" not in jwk, "the JWKS publishes public keys only"
    decoded = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience=AUD, issuer=ISS)
    assert decoded["scope"] == "patient/Observation.rs"
    assert keys.verify(token, AUD, ISS)["sub"] == "p-1"


def test_rotation_keeps_tokens_of_the_previous_key_valid(tmp_path, local_key):
    old = TokenKeys(local_key)
    token = old.sign(claims())
    new = TokenKeys(LocalSigningKey.create(tmp_path / "next.pem"), previous=[local_key.public_jwk()])
    assert [k["kid"] for k in new.jwks()["keys"]][1] == local_key.kid
    assert new.verify(token, AUD, ISS)["sub"] == "p-1"
    assert jwt.get_unverified_header(new.sign(claims()))["kid"] != local_key.kid
    with pytest.raises(jwt.PyJWTError):
        TokenKeys(LocalSigningKey.create(tmp_path / "other.pem")).verify(token, AUD, ISS)


@pytest.mark.parametrize("tamper", ["alg_none", "hs256_with_public_key", "wrong_aud", "wrong_iss", "expired",
                                    "other_key"])
def test_forged_or_wrong_tokens_are_refused(local_key, tamper):
    keys = TokenKeys(local_key)
    if tamper == "alg_none":
        token = jwt.encode(claims(), None, algorithm="none", headers={"kid": local_key.kid})
    elif tamper == "hs256_with_public_key":
        public_pem = serialization.load_pem_private_key(local_key.path.read_bytes(), None).public_key() \
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        import hmac, hashlib, base64, json
        def b64(d):
            return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
        signing_input = b64(json.dumps({"alg": "HS256", "kid": local_key.kid}).encode()) + "." + b64(json.dumps(claims()).encode())
        token = signing_input + "." + b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    elif tamper == "wrong_aud":
        token = keys.sign(claims(aud="https://elsewhere"))
    elif tamper == "wrong_iss":
        token = keys.sign(claims(iss="https://evil.example"))
    elif tamper == "expired":
        token = keys.sign(claims(exp=int(time.time()) - 60))
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        token = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": local_key.kid})
    with pytest.raises(jwt.PyJWTError):
        keys.verify(token, AUD, ISS)


def test_a_kms_key_signs_tokens_that_verify_with_its_public_key():
    import boto3
    with mock_aws():
        client = boto3.client("kms", region_name="eu-west-3")
        key_id = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        keys = TokenKeys(KmsSigningKey(key_id, lambda: client))
        token = keys.sign(claims())
        public = serialization.load_der_public_key(client.get_public_key(KeyId=key_id)["PublicKey"])
        assert jwt.decode(token, public, algorithms=["ES256"], audience=AUD, issuer=ISS)["sub"] == "p-1"
