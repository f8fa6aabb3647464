"""OAuth benchmark: DynamoDB calls per authorization, token exchange and refresh (as the request
log counts them), and the cost of signing and verifying an access token: tokens signed per second
by a warm container, and KMS calls per 1,000 tokens with the signing key ring on moto's KMS.

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
from dataclasses import replace
from pathlib import Path
from typing import List
from urllib.parse import parse_qs, urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
KEY_FILE = Path(tempfile.mkdtemp(prefix="mes-bench-")) / "signing-wrap-key.bin"
os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3",
                   "PUBLIC_BASE_URL": "https://bench.example", "SIGNING_WRAP_KEY_FILE": str(KEY_FILE)})
os.environ.pop("DYNAMODB_ENDPOINT", None)
from bench.dynamodb_bill import Tables, metered  # noqa: E402 - before any botocore session is made
REDIRECT = "http://127.0.0.1:9999/callback"


def main() -> None:
    from moto import mock_aws

    from chalicelib.oauth.keywrap import create_wrap_key_file
    create_wrap_key_file(KEY_FILE)
    with mock_aws():
        from chalice.test import Client

        from app import app, catalog_service
        from tests.helpers.oauth import submitted_fields
        from chalicelib.catalog.demo import seed_demo_catalog
        from chalicelib.storage import MODELS
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
            with metered() as usage:
                picker = http.get(f"/oauth/authorize?{query}")  # login_hint pre-selects; it never signs in
            figures["authorize: first visit (the identity picker)"] = usage
            with metered() as usage:
                page = http.post("/oauth/authorize", body=urlencode(submitted_fields(picker.body.decode())),
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "Cookie": picker.headers["Set-Cookie"].split(";")[0]})
            figures["authorize: signed in on the picker (consent page)"] = usage
            cookie = page.headers["Set-Cookie"].split(";")[0]
            fields = submitted_fields(page.body.decode())  # the tests' reading of the consent form
            with metered() as usage:
                answer = http.post("/oauth/authorize", body=urlencode(fields + [("decision", "allow")]),
                                   headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            figures["authorize: consent given, code issued"] = usage
            with metered() as usage:
                again = http.get(f"/oauth/authorize?{query}", headers={"Cookie": cookie})
            figures["authorize: consent already given (no page)"] = usage
            code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            with metered() as usage:
                token = http.post("/oauth/token", headers=form, body=urlencode({
                    "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                    "client_id": "demo-sandbox", "code_verifier": verifier})).json_body
            figures["token: code exchange"] = usage
            with metered() as usage:
                http.post("/oauth/token", headers=form, body=urlencode({
                    "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                    "client_id": "demo-sandbox"}))
            figures["token: refresh (rotation)"] = usage
            assert "code" in again.headers["Location"]
        import boto3
        raw = boto3.client("dynamodb", region_name="eu-west-3")
        tables = Tables(MODELS)
        figures = {step: (meter, meter.bill(tables, lambda table, key: raw.get_item(
            TableName=table, Key=key, ConsistentRead=True).get("Item"))) for step, meter in figures.items()}

    print("DynamoDB calls per OAuth step, and what they bill (bench/dynamodb_bill.py):")
    print("| step | calls | operations | RCU | WCU |\n|---|---|---|---|---|")
    for step, (usage, bill) in figures.items():
        print(f"| {step} | {len(usage.calls)} | {usage.operations()} | {bill.rcu:g} | {bill.wcu:g} |")

    with mock_aws():
        signing_figures()


def kms_calls_counted(client) -> List[str]:
    """The operations this boto3 client calls from now on."""
    calls: List[str] = []
    client.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
    return calls


def signing_figures() -> None:
    """Two containers of one deployment, with the signing key ring wrapped by a (moto) KMS key: the
    first makes the ring, the second finds it; each signs 1,000 access tokens, twice."""
    import boto3

    from chalicelib.clock import utc_now
    from chalicelib.config import settings
    from chalicelib.oauth.keys import token_keys_for
    from chalicelib.storage import ensure_tables

    ensure_tables()
    kms = boto3.client("kms", region_name="eu-west-3")
    wrap_key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    in_aws = replace(settings, signing_wrap_key_id=wrap_key)
    print("\nAccess tokens (ES256) signed by the key ring, KMS wrap on moto; one container at a time:")
    print("| container | tokens | KMS calls | tokens signed per second | verify, median |\n|---|---|---|---|---|")
    for name in ("first (makes the ring)", "second (finds it)"):
        client = boto3.client("kms", region_name="eu-west-3")
        calls = kms_calls_counted(client)
        keys = token_keys_for(in_aws, utc_now, lambda client=client: client)
        for batch in ("first 1,000", "next 1,000"):
            del calls[:]
            now = int(time.time())
            claims = {"iss": "https://bench.example", "aud": "https://bench.example/fhir", "sub": "p",
                      "patient": "p", "scope": "patient/Observation.rs", "iat": now, "exp": now + 600}
            started = time.perf_counter()
            tokens = [keys.sign(claims) for _ in range(1000)]
            rate = 1000 / (time.perf_counter() - started)
            verifies = []
            for token in tokens[:500]:
                started = time.perf_counter()
                keys.verify(token, "https://bench.example/fhir", "https://bench.example")
                verifies.append(time.perf_counter() - started)
            print(f"| {name} | {batch} | {len(calls)} ({', '.join(calls) or 'none'}) | {rate:,.0f} | "
                  f"{statistics.median(verifies) * 1e6:.0f} µs |")

if __name__ == "__main__":
    main()
