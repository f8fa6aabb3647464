"""OAuth benchmark: DynamoDB calls per authorization, token exchange and refresh (as the request
log counts them), and the cost of signing and verifying an access token.

Run with `make bench`. DynamoDB is moto's in-process mock: call counts are the measure, not time.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
KEY_FILE = Path(tempfile.mkdtemp(prefix="mes-bench-")) / "signing-key.pem"
os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3",
                   "PUBLIC_BASE_URL": "https://bench.example", "SIGNING_KEY_FILE": str(KEY_FILE)})
os.environ.pop("DYNAMODB_ENDPOINT", None)
REDIRECT = "http://127.0.0.1:9999/callback"


def main() -> None:
    from moto import mock_aws

    from chalicelib.oauth.keys import LocalSigningKey, TokenKeys
    LocalSigningKey.create(KEY_FILE)
    with mock_aws():
        from chalice.test import Client

        from app import app, catalog_service
        from tests.api.test_authorize_api import submitted_fields
        from chalicelib.catalog.demo import seed_demo_catalog
        from chalicelib.observability import dynamodb_usage
        from chalicelib.storage import ensure_tables

        ensure_tables()
        seed_demo_catalog(catalog_service)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({"response_type": "code", "client_id": "demo-sandbox", "redirect_uri": REDIRECT,
                           "scope": "launch/patient patient/Observation.rs offline_access", "state": "s",
                           "aud": "https://bench.example/fhir", "code_challenge": challenge,
                           "code_challenge_method": "S256", "login_hint": "demo-alice"})
        figures = {}
        with Client(app) as test_client:
            http = test_client.http
            with dynamodb_usage() as usage:
                page = http.get(f"/oauth/authorize?{query}")
            figures["authorize: first visit (sign-in, consent page)"] = usage
            cookie = page.headers["Set-Cookie"].split(";")[0]
            fields = submitted_fields(page.body.decode())  # the tests' reading of the consent form
            with dynamodb_usage() as usage:
                answer = http.post("/oauth/authorize", body=urlencode(fields + [("decision", "allow")]),
                                   headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            figures["authorize: consent given, code issued"] = usage
            with dynamodb_usage() as usage:
                again = http.get(f"/oauth/authorize?{query}", headers={"Cookie": cookie})
            figures["authorize: consent already given (no page)"] = usage
            code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            with dynamodb_usage() as usage:
                token = http.post("/oauth/token", headers=form, body=urlencode({
                    "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                    "client_id": "demo-sandbox", "code_verifier": verifier})).json_body
            figures["token: code exchange"] = usage
            with dynamodb_usage() as usage:
                http.post("/oauth/token", headers=form, body=urlencode({
                    "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "demo-sandbox"}))
            figures["token: refresh (rotation)"] = usage
            assert "code" in again.headers["Location"]

    print("DynamoDB round trips per OAuth step (as botocore reported them):")
    print("| step | calls | operations |\n|---|---|---|")
    for step, usage in figures.items():
        print(f"| {step} | {usage.call_count} | {', '.join(c.operation for c in usage.calls)} |")

    keys = TokenKeys(LocalSigningKey(KEY_FILE))
    claims = {"iss": "https://bench.example", "aud": "https://bench.example/fhir", "sub": "p", "patient": "p",
              "scope": "patient/Observation.rs", "iat": int(time.time()), "exp": int(time.time()) + 600}
    signs, verifies = [], []
    for _ in range(500):
        started = time.perf_counter()
        signed = keys.sign(claims)
        signs.append(time.perf_counter() - started)
        started = time.perf_counter()
        keys.verify(signed, "https://bench.example/fhir", "https://bench.example")
        verifies.append(time.perf_counter() - started)
    print(f"\nAccess token (ES256, local key), median of 500: sign {statistics.median(signs) * 1e6:.0f} µs, "
          f"verify {statistics.median(verifies) * 1e6:.0f} µs. (A KMS key adds one KMS Sign call per token.)")


if __name__ == "__main__":
    main()
