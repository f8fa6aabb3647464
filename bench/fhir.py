"""FHIR benchmark, against moto's DynamoDB server on loopback (a real HTTP DynamoDB endpoint, as
`make run` uses):

1. per authorized read, search page and write: the sequential DynamoDB round trips (calls in flight
   together count once; target: 2 for a read and a search page), the operations, the items a
   search reads (target: `_count + 1` whatever the size of the record), and the read and write
   units DynamoDB would bill, from the items' sizes and its billing rules (bench/dynamodb_bill.py;
   targets: a read at most 4 RCU and 3 WCU, a search page its items' RCU plus at most 4 RCU and
   3 WCU, a create the record's own WCU plus at most 3), beside the same calls in the gate's
   former shape (a transaction holding the consent and the app's head on every call);
2. our code's own time in an authorized search of 20 (the whole request in-process, minus the
   time during which a DynamoDB call was in flight; target: at most 3 ms).

Conflicts under concurrency are measured in-process by bench/conflicts.py (moto's server cannot
show them). Run with `make bench`.
"""
from __future__ import annotations

import json
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
from bench.dynamodb_bill import Tables, metered  # noqa: E402 - before any botocore session is made
KEYS = Path(tempfile.mkdtemp(prefix="mes-bench-"))
with socket.socket() as _probe:
    _probe.bind(("127.0.0.1", 0))
    PORT = _probe.getsockname()[1]
os.environ.update({"STAGE": "test", "TABLE_PREFIX": "mes-bench-", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-3",
                   "PUBLIC_BASE_URL": "https://testserver", "SIGNING_WRAP_KEY_FILE": str(KEYS / "signing-wrap.bin"),
                   "CLAIM_KEY_FILE": str(KEYS / "claim.bin"), "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{PORT}",
                   "LOG_LEVEL": "WARNING",
                   # One app makes every call here: a quota this high keeps the quota's shared
                   # count out of the figures of a call (bench/quotas.py measures those reports).
                   "APP_RATE_LIMIT": "100000", "APP_BURST_LIMIT": "100000"})
SIZES = {"demo-alice": 100, "demo-karim": 10_000}
RUNS = 30


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
    from tests.helpers.smart import smart_token  # the tests' consent flow, through the pages (for testserver)
    return smart_token(http, "launch/patient patient/Observation.rs patient/Observation.c", patient=patient_id)


def main() -> None:
    """moto's server runs in a process of its own, as DynamoDB would: in this process, its threads
    would take the interpreter's lock from the request being measured."""
    import subprocess
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", PORT)) == 0:
                    break
            time.sleep(0.05)
        run()
    finally:
        server.terminate()
        server.wait(timeout=10)


def run() -> None:
    import boto3
    from chalice.test import Client

    from chalicelib.oauth.claims import create_key_file
    from chalicelib.oauth.keywrap import create_wrap_key_file
    create_wrap_key_file(KEYS / "signing-wrap.bin")
    create_key_file(KEYS / "claim.bin")
    from app import app, catalog_service, fhir_service
    from chalicelib.catalog.demo import seed_demo_catalog
    from chalicelib.config import settings
    from chalicelib.storage import MODELS, ensure_tables

    ensure_tables()
    seed_demo_catalog(catalog_service)
    for patient_id, size in SIZES.items():
        started = time.perf_counter()
        seed(fhir_service.codec, patient_id, size)
        print(f"  seeded {size} records for one citizen in {time.perf_counter() - started:.1f} s", flush=True)

    raw = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)
    tables = Tables(MODELS)

    def stored(table, key):
        return raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    rows, own = [], []
    with Client(app) as test_client:
        http = test_client.http
        for patient_id, size in SIZES.items():
            token = token_for(http, patient_id)
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            for label, step in steps(http, headers).items():
                with metered() as meter:
                    response = step()
                assert response.status_code in (200, 201), response.body
                queries = [c for c in meter.calls if c.operation == "Query"]
                scanned = sum(c.parsed.get("ScannedCount", 0) for c in queries) if queries else "-"
                after = meter.bill(tables, stored)
                with metered() as former:
                    former_shape(raw, settings, patient_id, label, response)
                before = former.bill(tables, lambda t, k: former_item(raw, settings, t, k) or stored(t, k))
                rows.append((size, label, meter.round_trips(), meter.operations(), scanned, after, former.round_trips(),
                             before))
            own.append((size, *own_time(http, headers)))

    print("\nDynamoDB per FHIR call: after (the gate reads, then writes its citizen's items only) and before "
          "(the former gate: one transaction holding the consent and the app's head on every call). Units "
          "from the items' sizes and DynamoDB's billing rules (bench/dynamodb_bill.py):")
    print("| records | call | round trips | operations | items read by the Query | RCU | WCU "
          "| WCU if a transaction's index entries bill twice | before: round trips | before: RCU | before: WCU "
          "(ConditionCheck by key) | before: WCU (ConditionCheck by item size) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, label, trips, operations, scanned, after, before_trips, before in rows:
        print(f"| {size} | {label} | {trips} | {operations} | {scanned} | {after.rcu:g} | {after.wcu:g} "
              f"| {after.wcu_indexes_doubled:g} | {before_trips} | {before.rcu:g} | {before.wcu:g} "
              f"| {before.wcu_checks_by_item:g} |")
    print(f"\nAuthorized search (_count=20), median of {RUNS}: the whole request in-process, the time during "
          "which a DynamoDB call was in flight, and the rest, which is our code's own (target: at most 3 ms):")
    print("| records | request ms | in DynamoDB ms | our own ms |\n|---|---|---|---|")
    for size, request_ms, dynamodb_ms, own_ms in own:
        print(f"| {size} | {request_ms:.1f} | {dynamodb_ms:.1f} | {own_ms:.1f} |")
    print("moto's server answers a Query in time proportional to the whole table (it holds both citizens), so "
          "its times are not DynamoDB's; the last column is the part that is ours whatever the store.")


def steps(http, headers):
    weight = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-27T07:00:00Z",
              "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
              "valueQuantity": {"value": 70.1, "unit": "kg", "code": "kg", "system": "http://unitsofmeasure.org"}}
    return {
        "read": lambda: http.get("/fhir/Observation/b000042", headers=headers),
        "search page 1 (_count=20)": lambda: http.get("/fhir/Observation?_count=20", headers=headers),
        "search by code (weights)": lambda: http.get("/fhir/Observation?code=29463-7&_count=20", headers=headers),
        "write (create a measure)": lambda: http.post(
            "/fhir/Observation", headers={**headers, "Content-Type": "application/fhir+json"},
            body=json.dumps(weight)),
    }


def former_shape(raw, settings, patient_id: str, label: str, response) -> None:
    """The calls the gate made before (decision 0007): the record read (eventually consistent), then
    one transaction: ConditionCheck of the consent and of the app's head, the audit entry, the
    call's own writes."""
    stamp = f"2026-11-28T00:00:00.{time.perf_counter_ns() % 10**6:06d}+00:00#former"
    checks = [
        {"ConditionCheck": {"TableName": settings.consents_table,
                            "Key": {"patient_id": {"S": patient_id}, "item_key": {"S": "demo-sandbox"}},
                            "ConditionExpression": "attribute_exists(patient_id)"}},
        {"ConditionCheck": {"TableName": settings.apps_table,
                            "Key": {"app_id": {"S": "demo-sandbox"}, "version": {"N": "0"}},
                            "ConditionExpression": "attribute_exists(app_id)"}},
        {"Put": {"TableName": settings.audit_table, "Item": {
            "patient_id": {"S": patient_id}, "at_key": {"S": stamp}, "app_key": {"S": f"demo-sandbox#{stamp}"},
            "app_id": {"S": "demo-sandbox"}, "interaction": {"S": "search"}, "resource_type": {"S": "Observation"},
            "count": {"N": "20"}, "outcome": {"S": "allowed"}, "at": {"S": stamp[:32]},
            "expires_at": {"N": "1900000000"}}}}]
    if label.startswith("read"):
        raw.get_item(TableName=settings.records_table,
                     Key={"patient_id": {"S": patient_id}, "item_key": {"S": "Observation#b000042"}})
    elif label.startswith("search"):
        code = "29463-7" if "code" in label else None
        raw.query(TableName=settings.records_table, IndexName="by-code" if code else "by-date",
                  KeyConditionExpression="patient_id = :p AND begins_with(#k, :t)",
                  ExpressionAttributeNames={"#k": "code_key" if code else "date_key"},
                  ExpressionAttributeValues={":p": {"S": patient_id},
                                             ":t": {"S": f"Observation#{code}#" if code else "Observation#"}},
                  ScanIndexForward=False, Limit=21)
    else:  # the record written by the measured call, written again under another id
        created = response.json_body["id"]
        item = raw.get_item(TableName=settings.records_table,
                            Key={"patient_id": {"S": patient_id}, "item_key": {"S": f"Observation#{created}"}})["Item"]
        item["item_key"] = {"S": f"Observation#former{stamp[-16:-7]}"}
        checks.append({"Put": {"TableName": settings.records_table, "Item": item}})
    raw.transact_write_items(TransactItems=checks)


def former_item(raw, settings, table: str, key):
    """The consent as it was before its receipt moved to the grant's event (for its size)."""
    if table != settings.consents_table:
        return None
    consent = raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not consent or "receipt_key" not in consent:
        return consent
    event = raw.get_item(TableName=table, Key={"patient_id": key["patient_id"], "item_key": consent["receipt_key"]},
                         ConsistentRead=True).get("Item", {})
    return {**consent, "receipt": event.get("receipt", {"S": ""})}


def own_time(http, headers):
    """Median time of the whole search request, of the time a DynamoDB call was in flight, and of
    the difference."""
    request_times, dynamodb_times = [], []
    for _ in range(RUNS):
        with metered() as meter:
            started = time.perf_counter()
            http.get("/fhir/Observation?" + urlencode({"_count": 20}), headers=headers)
            request_times.append(time.perf_counter() - started)
        dynamodb_times.append(meter.seconds_in_dynamodb())
    own = [r - d for r, d in zip(request_times, dynamodb_times, strict=True)]
    return (statistics.median(request_times) * 1000, statistics.median(dynamodb_times) * 1000,
            statistics.median(own) * 1000)


if __name__ == "__main__":
    main()
