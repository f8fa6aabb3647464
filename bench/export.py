"""Export benchmark (issue 17): a citizen's archive built by the export worker's own code
(ExportService.build, as the Lambda runs it), against moto's DynamoDB and S3 in process, for a
demo record plus 1,000 and 10,000 measures. Per record: the resources written, the DynamoDB calls
and the read units DynamoDB would bill (from the items' sizes: bench/dynamodb_bill.py), per 1,000
resources; the archive's size; the time: all of it, the part spent inside moto (DynamoDB and S3
answering in process, far slower than DynamoDB itself on 1 MB pages), and our own.

Run with `make bench`."""
from __future__ import annotations

import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from bench.dynamodb_bill import Tables, metered  # noqa: E402 - before any botocore session is made
from bench.environment import use_local_aws  # noqa: E402
KEYS = use_local_aws(unset=("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "EXPORT_WORKER_FUNCTION"))
SIZES = {"demo-karim": 1_000, "demo-lea": 10_000}


def seed(codec, patient_id: str, count: int) -> None:
    from datetime import datetime, timedelta, timezone

    from chalicelib.records.models import RecordItem
    from chalicelib.records.store import RecordStore
    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=6 * count)

    def items():
        for number in range(count):
            resource = {"resourceType": "Observation", "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                        "effectiveDateTime": (start + timedelta(hours=6 * number)).isoformat(),
                        "valueQuantity": {"value": 60 + number % 30, "unit": "kg",
                                          "system": "http://unitsofmeasure.org", "code": "kg"}}
            yield RecordItem.of(patient_id, "Observation", f"bench{number:06d}", codec.check(
                "Observation", resource, "x", now), "demo-sandbox", now)
    RecordStore().save_all(items())


def main() -> None:
    from moto import mock_aws

    from chalicelib.oauth.claims import create_key_file as create_claim_key_file
    from chalicelib.oauth.keywrap import create_wrap_key_file
    create_wrap_key_file(KEYS / "signing-wrap.bin")
    create_claim_key_file(KEYS / "claim.bin")
    with mock_aws():
        from datetime import datetime, timezone

        import app
        from chalicelib.config import settings
        from chalicelib.export.models import ExportJob
        from chalicelib.records.demo import seed_demo_records
        from chalicelib.storage import MODELS, ensure_tables
        ensure_tables()
        app.documents.ensure_bucket()
        seed_demo_records(app.codec, settings.catalog_dir)
        tables = Tables(MODELS)
        rows = []
        for patient_id, extra in SIZES.items():
            seed(app.codec, patient_id, extra)
            now = datetime.now(timezone.utc)
            ExportJob(patient_id, job_id=f"bench{extra}", state="queued", requested_at=now, updated_at=now).save()
            started, cpu = time.perf_counter(), time.process_time()
            with metered() as meter:
                app.export_service.build(patient_id, f"bench{extra}")
            wall = time.perf_counter() - started
            job = app.export_service.store.job(patient_id)
            assert job.state == "ready", job.state
            bill = meter.bill(tables, lambda table, key: None)
            queries = [c for c in meter.calls if c.operation == "Query"]
            read = sum(len(c.parsed.get("Items", [])) for c in queries)
            in_moto = meter.seconds_in_dynamodb()
            per = 1000 / int(job.resources)
            rows.append((int(job.resources), len(meter.calls), len(queries), read, bill.rcu, bill.rcu * per,
                         bill.wcu, int(job.archive_bytes), wall, in_moto, wall - in_moto, (wall - in_moto) * per,
                         time.process_time() - cpu))
    print("\nExport of one citizen's record (ExportService.build, the worker's code; moto in process):")
    print("| resources | DynamoDB calls | of which Query | items read | RCU | RCU per 1,000 resources | WCU "
          "| archive (bytes) | time (s) | of which inside moto's DynamoDB (s) | the rest (s) "
          "| the rest per 1,000 resources (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (resources, calls, queries, read, rcu, rcu_per, wcu, size, wall, in_moto, own, own_per, _) in rows:
        print(f"| {resources:,} | {calls} | {queries} | {read:,} | {rcu:.1f} | {rcu_per:.1f} | {wcu:.0f} | {size:,} "
              f"| {wall:.2f} | {in_moto:.2f} | {own:.2f} | {own_per:.3f} |")
    print("The rest is our code (showing each resource as FHIR, JSON, zip) and the upload to moto's S3. "
          "DynamoDB itself answers a 1 MB Query page in tens of milliseconds, moto in about a second.")


if __name__ == "__main__":
    main()
