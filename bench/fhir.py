"""FHIR benchmark, against moto's DynamoDB server on loopback (a real HTTP DynamoDB endpoint, as
`make run` uses):

1. DynamoDB round trips per authorized read, search page and write (target: 2 for a read and for
   a search page), with the operations, as botocore reported them;
2. the items read (ScannedCount) and capacity per search page for a citizen with 100 and with
   10,000 records (target: the same in both); moto reports a fixed capacity per call, so the read
   units DynamoDB would bill are also given, from the size of the items read;
3. the in-process time of an authorized search (the whole request: routing, token, search, gate,
   FHIR rendering) divided by the time of the raw DynamoDB calls it needs, made with a bare boto3
   client against the same server (target: at most 1.3).

Run with `make bench`.
"""
from __future__ import annotations

import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from bench.dynamodb_sizes import item_size  # noqa: E402
KEYS = Path(tempfile.mkdtemp(prefix="mes-bench-"))
with socket.socket() as _probe:
    _probe.bind(("127.0.0.1", 0))
    PORT = _probe.getsockname()[1]
os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3",
                   "PUBLIC_BASE_URL": "https://testserver", "SIGNING_KEY_FILE": str(KEYS / "signing.pem"),
                   "CLAIM_KEY_FILE": str(KEYS / "claim.bin"), "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{PORT}",
                   "LOG_LEVEL": "WARNING"})
SIZES = {"demo-alice": 100, "demo-karim": 10_000}
RUNS = 15
_IN_DYNAMODB = {"started": 0.0, "total": 0.0}


def _call_started(**_):
    _IN_DYNAMODB["started"] = time.perf_counter()


def _call_ended(**_):
    _IN_DYNAMODB["total"] += time.perf_counter() - _IN_DYNAMODB["started"]


# Time spent inside DynamoDB calls (botocore's own events, in every session, PynamoDB's included).
from botocore import handlers as _handlers  # noqa: E402

_handlers.BUILTIN_HANDLERS += [("before-call.dynamodb", _call_started), ("after-call.dynamodb", _call_ended)]


def seed(codec, patient_id: str, count: int) -> None:
    """`count` measures (weights, heart rates, steps...), one a day or so, going back in time."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.records.demo import demo_resources
    from chalicelib.records.models import RecordItem
    now = datetime.now(timezone.utc)
    templates = [r for kind, _, r in demo_resources({"id": patient_id, "given": "B", "family": "B"}, now)
                 if kind == "Observation"]
    with RecordItem.batch_write() as batch:
        for number in range(count):
            resource = json.loads(json.dumps(templates[number % len(templates)]))
            resource["effectiveDateTime"] = (now - timedelta(hours=6 * number + 1)).isoformat()
            indexed = codec.check("Observation", resource, "bench", now)
            batch.save(RecordItem.of(patient_id, "Observation", f"b{number:06d}", indexed, "demo-sandbox", now))


def token_for(http, patient_id: str) -> dict:
    from tests.smart import smart_token  # the tests' consent flow, through the pages (for testserver)
    return smart_token(http, "launch/patient patient/Observation.rs patient/Observation.c", patient=patient_id)


def main() -> None:
    import logging

    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-call access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    server.start()
    try:
        run()
    finally:
        server.stop()


def run() -> None:
    import boto3
    from chalice.test import Client

    from chalicelib.oauth.claims import create_key_file
    from chalicelib.oauth.keys import LocalSigningKey
    LocalSigningKey.create(KEYS / "signing.pem")
    create_key_file(KEYS / "claim.bin")
    from app import app, catalog_service, fhir_service
    from chalicelib.catalog.demo import seed_demo_catalog
    from chalicelib.config import settings
    from chalicelib.observability import dynamodb_usage
    from chalicelib.storage import ensure_tables

    ensure_tables()
    seed_demo_catalog(catalog_service)
    for patient_id, size in SIZES.items():
        started = time.perf_counter()
        seed(fhir_service.codec, patient_id, size)
        print(f"  seeded {size} records for one citizen in {time.perf_counter() - started:.1f} s", flush=True)

    rows, ratios = [], []
    with Client(app) as test_client:
        http = test_client.http
        for patient_id, size in SIZES.items():
            token = token_for(http, patient_id)
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            steps = {
                "read": lambda: http.get("/fhir/Observation/b000042", headers=headers),
                "search page 1 (_count=20)": lambda: http.get("/fhir/Observation?_count=20", headers=headers),
                "search by code (weights)": lambda: http.get("/fhir/Observation?code=29463-7&_count=20",
                                                             headers=headers),
                "write (create a measure)": lambda: http.post(
                    "/fhir/Observation", headers={**headers, "Content-Type": "application/fhir+json"},
                    body=json.dumps({"resourceType": "Observation", "status": "final",
                                     "effectiveDateTime": "2026-11-27T07:00:00Z",
                                     "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                                     "valueQuantity": {"value": 70.1, "unit": "kg", "code": "kg",
                                                       "system": "http://unitsofmeasure.org"}})),
            }
            for label, step in steps.items():
                with dynamodb_usage() as usage:
                    response = step()
                assert response.status_code in (200, 201), response.body
                queries = [c for c in usage.calls if c.operation == "Query"]
                scanned = sum(c.scanned_count or 0 for c in queries)
                rows.append((size, label, usage.call_count, ", ".join(c.operation for c in usage.calls),
                             scanned if queries else "-", usage.capacity_units))
            sample = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)
            page = sample.query(TableName=settings.records_table, IndexName="by-date",
                                KeyConditionExpression="patient_id = :p AND begins_with(date_key, :t)",
                                ExpressionAttributeValues={":p": {"S": patient_id}, ":t": {"S": "Observation#"}},
                                ScanIndexForward=False, Limit=21)
            rcu = math.ceil(sum(item_size(i) for i in page["Items"]) / 4096) * 0.5
            rows.append((size, "  est. RCU of search page 1 (items' size, eventually consistent)", "", "", "", rcu))
            ratios.append((size, *timing(http, headers, sample, patient_id, token, settings)))

    print("\nDynamoDB per FHIR call (as botocore reported them):")
    print("| records | call | round trips | operations | items read by the Query | moto CU |\n|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(value) for value in row) + " |")
    print(f"\nAuthorized search (_count=20), median of {RUNS}: whole request in-process vs the raw DynamoDB "
          "calls it needs (Query + TransactWriteItems, bare boto3, same server):")
    print("| records | request ms | raw DynamoDB ms | ratio (target ≤ 1.3) | our code's own ms in the request |")
    print("|---|---|---|---|---|")
    for size, request_ms, raw_ms, own_ms in ratios:
        print(f"| {size} | {request_ms:.1f} | {raw_ms:.1f} | {request_ms / raw_ms:.2f} | {own_ms:.1f} |")
    print("moto's server answers a Query in time proportional to the whole table (it holds both citizens), so "
          "its times are not DynamoDB's; the last column is the part that is ours whatever the store.")


def timing(http, headers, client, patient_id, token, settings):
    """Median time of the whole search request, and of its two DynamoDB calls made directly."""
    from chalicelib.consent.models import Consent
    consent = Consent.get(patient_id, "demo-sandbox")
    request_times, raw_times, own_times = [], [], []
    for number in range(RUNS):
        _IN_DYNAMODB["total"] = 0.0
        started = time.perf_counter()
        http.get("/fhir/Observation?" + urlencode({"_count": 20}), headers=headers)
        request_times.append(time.perf_counter() - started)
        own_times.append(request_times[-1] - _IN_DYNAMODB["total"])
        started = time.perf_counter()
        client.query(TableName=settings.records_table, IndexName="by-date",
                     KeyConditionExpression="patient_id = :p AND date_key BETWEEN :low AND :high",
                     ExpressionAttributeValues={":p": {"S": patient_id}, ":low": {"S": "Observation#"},
                                                ":high": {"S": "Observation#~"}},
                     ScanIndexForward=False, Limit=21, ReturnConsumedCapacity="TOTAL")
        stamp = f"2026-11-28T00:00:00.{number:06d}+00:00#raw"
        client.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": settings.consents_table,
                                "Key": {"patient_id": {"S": patient_id}, "item_key": {"S": "demo-sandbox"}},
                                "ConditionExpression": "#s = :a AND #g = :g",
                                "ExpressionAttributeNames": {"#s": "status", "#g": "generation"},
                                "ExpressionAttributeValues": {":a": {"S": "active"},
                                                              ":g": {"N": str(consent.generation)}}}},
            {"ConditionCheck": {"TableName": settings.apps_table,
                                "Key": {"app_id": {"S": "demo-sandbox"}, "version": {"N": "0"}},
                                "ConditionExpression": "#s = :p", "ExpressionAttributeNames": {"#s": "status"},
                                "ExpressionAttributeValues": {":p": {"S": "published"}}}},
            {"Put": {"TableName": settings.audit_table, "Item": {
                "patient_id": {"S": patient_id}, "at_key": {"S": stamp}, "app_key": {"S": f"demo-sandbox#{stamp}"},
                "app_id": {"S": "demo-sandbox"}, "interaction": {"S": "search"}, "resource_type": {"S": "Observation"},
                "count": {"N": "20"}, "outcome": {"S": "allowed"}, "at": {"S": stamp[:32]}}}}],
            ReturnConsumedCapacity="TOTAL")
        raw_times.append(time.perf_counter() - started)
    return (statistics.median(request_times) * 1000, statistics.median(raw_times) * 1000,
            statistics.median(own_times) * 1000)


if __name__ == "__main__":
    main()
