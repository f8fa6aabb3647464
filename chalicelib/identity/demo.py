"""The local stage's demo identity issuer: a key pair made at run time, never committed."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Dict

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEMO_KID = "demo-issuer"


def create_key_file(path: Path) -> None:
    """A fresh P-256 private key, readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def _private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not a P-256 key")
    return key


def public_jwks(path: Path) -> Dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(_private_key(path).public_key()))
    return {"keys": [{**jwk, "kid": DEMO_KID, "use": "sig", "alg": "ES256"}]}


def demo_issuer_url(base_url: str) -> str:
    return f"{base_url}/demo-issuer"


def demo_issuer_spec(path: Path, base_url: str, audience: str) -> Dict[str, Any]:
    """The demo issuer, as TRUSTED_ISSUERS names an issuer (identity/service.py trusts it locally)."""
    return {"issuer": demo_issuer_url(base_url), "audience": audience, "algorithms": ["ES256"],
            "jwks": public_jwks(path)}


def mint_token(path: Path, base_url: str, audience: str, identity: Dict[str, Any],
               lifetime_s: int = 3600) -> str:
    """A bearer token for a demo publisher or reviewer, as ProConnect would issue in production."""
    now = int(time.time())
    claims = {"iss": demo_issuer_url(base_url), "aud": audience, "sub": identity["subject"],
              "iat": now, "exp": now + lifetime_s, "jti": str(uuid.uuid4()), "role": identity["role"],
              "name": identity["name"], "email": identity["email"]}
    if identity.get("siret"):
        claims["siret"] = identity["siret"]
    return jwt.encode(claims, _private_key(path), algorithm="ES256", headers={"kid": DEMO_KID})
