"""The test identity provider of publishers and reviewers: its key, the tokens it mints, and the
SIRETs of the organisations the tests act for. (tests/conftest.py trusts it, through the same
TRUSTED_ISSUERS setting as ProConnect in production; its key exists only for this test session.)"""
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

TEST_ISSUER = "https://proconnect.test"
TEST_AUDIENCE = "https://testserver"
TEST_KEY = ec.generate_private_key(ec.SECP256R1())
TEST_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(TEST_KEY.public_key())), "kid": "test-1"}

# SIRETs with a valid checksum: the demo sandbox's publisher, and another organisation.
SANDBOX_SIRET = "73282932000074"
OTHER_SIRET = "55208131766522"


def mint(role, siret=None, *, key=TEST_KEY, issuer=TEST_ISSUER, audience=TEST_AUDIENCE, lifetime=600,
         subject=None, algorithm="ES256", **extra):
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject or f"{role}-{uuid.uuid4().hex[:8]}",
              "iat": now, "exp": now + lifetime, "role": role, "name": f"Test {role}", **extra}
    if siret:
        claims["siret"] = siret
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": "test-1"})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}
