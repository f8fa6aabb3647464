"""Notification benchmark (issue 16): the same pipeline as `make run` (the stream handler and the
delivery worker of the Lambdas, fed by moto's streams and queue through notify/local.py), a
webhook receiver on 127.0.0.1, for one citizen with two apps' subscriptions. Per event: the
latency from the committed write to the signed notification's arrival (locally: the stream poll,
the fan-out, the queue poll, the POST), and the DynamoDB and SQS calls our code makes for it, by
operation. Lambda's own polling (GetRecords, ReceiveMessage, DeleteMessageBatch) is counted apart.
Then the scheduled sweeps, from the sweep to the delivery: one heartbeat of an idle subscription,
and one consent past its end told to its `consent-ended` subscription.

Run with `make bench`."""
from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from bench.environment import use_local_aws  # noqa: E402
KEYS = use_local_aws(unset=("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "SQS_ENDPOINT", "NOTIFY_QUEUE_URL"))
EVENTS = 40
POLLING = {"GetRecords", "GetShardIterator", "DescribeStream", "ReceiveMessage", "DeleteMessageBatch",
           "GetQueueAttributes"}
_PIPELINE_THREADS = ("stream-", "notify-")


class CallCounter:
    """Every AWS call made by the pipeline's threads (not the FHIR request's), by service and operation."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.lock = threading.Lock()

    def install(self) -> None:
        import botocore.client
        original = botocore.client.BaseClient._make_api_call
        counter = self

        def counted(client, operation, params):
            if threading.current_thread().name.startswith(_PIPELINE_THREADS):
                with counter.lock:
                    counter.calls[(client.meta.service_model.service_name, operation)] += 1
            return original(client, operation, params)
        botocore.client.BaseClient._make_api_call = counted

    def take(self) -> Counter:
        with self.lock:
            taken, self.calls = self.calls, Counter()
        return taken


def main() -> None:
    from moto import mock_aws

    from chalicelib.oauth.claims import create_key_file as create_claim_key_file
    from chalicelib.oauth.keywrap import create_wrap_key_file
    create_wrap_key_file(KEYS / "signing-wrap.bin")
    create_claim_key_file(KEYS / "claim.bin")
    counter = CallCounter()
    counter.install()
    with mock_aws():
        import app
        from chalicelib.catalog.referential import load_referential
        from chalicelib.clock import utc_now
        from chalicelib.config import settings
        from chalicelib.consent.service import ConsentService
        from chalicelib.notify.local import local_pipeline_for
        from chalicelib.storage import ensure_tables
        from tests.helpers.fhir import weight
        from tests.helpers.services import FixedClock, access_grant, grant_consent, publish_sandbox
        from tests.helpers.webhooks import Receiver, subscription
        ensure_tables()
        publish_sandbox(load_referential(), FixedClock(utc_now()))
        consent = grant_consent(ConsentService(utc_now), scopes="patient/Observation.rs patient/Observation.c")
        grant = access_grant(consent)
        pipeline = local_pipeline_for(settings, app.notify_queue, app.fan_out.handle, app.delivery.handle).start()
        latencies, per_event = [], Counter()
        with Receiver() as hook, Receiver() as second:
            for receiver in (hook, second):
                app.subscription_service.create(grant, subscription("observation-created", receiver.url()))
            pipeline.settle()
            counter.take()
            for number in range(EVENTS):
                start = time.perf_counter()
                app.fhir_service.create(grant, "Observation", weight(70 + number % 10))
                hook.next(timeout=10)
                latencies.append(time.perf_counter() - start)
                second.next(timeout=10)
            pipeline.settle()
            per_event = counter.take()
        sweeps = {}
        with Receiver() as idle:
            app.subscription_service.create(grant, subscription("observation-created", idle.url(), heartbeat=60))
            app.subscription_service.create(grant, subscription("consent-ended", idle.url("/notifications/consent")))
            pipeline.settle()
            counter.take()
            counted_run(lambda: app.heartbeats.sweep(utc_now() + timedelta(seconds=61)))
            idle.next(timeout=10)
            pipeline.settle()
            sweeps["a heartbeat"] = counter.take()
            counted_run(lambda: app.consent_service.end_expired(consent.expires_at + timedelta(minutes=1)))
            idle.next(timeout=10)
            pipeline.settle()
            sweeps["a consent expired, told"] = counter.take()
        pipeline.stop()
    ours = {key: count for key, count in per_event.items() if key[1] not in POLLING}
    polling = {key: count for key, count in per_event.items() if key[1] in POLLING}
    latencies.sort()
    print(f"\nNotifications, event to delivery (local pipeline over moto, {EVENTS} new measures, "
          "each notified to two subscriptions of one citizen):")
    print("| latency p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|")
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"| {statistics.median(latencies) * 1000:.0f} | {p95 * 1000:.0f} | {latencies[-1] * 1000:.0f} |")
    print("\nAWS calls per event (two notifications), made by the fan-out and the delivery worker:")
    print("| service | operation | per event |")
    print("|---|---|---|")
    for (service, operation), count in sorted(ours.items()):
        print(f"| {service} | {operation} | {count / EVENTS:.2f} |")
    dynamodb = sum(c for (s, _), c in ours.items() if s == "dynamodb") / EVENTS
    sqs = sum(c for (s, _), c in ours.items() if s == "sqs") / EVENTS
    print(f"| **DynamoDB** | all | **{dynamodb:.2f}** |\n| **SQS** | all | **{sqs:.2f}** |")
    print("Polling by the local stand-in for Lambda's event source mappings (on AWS, Lambda's own), "
          "over the run: " + ", ".join(f"{op} {count}" for (_, op), count in sorted(polling.items())) + ".")
    print("\nThe scheduled sweeps, from the sweep to the delivery (one sweep run each; the Queries are the "
          "sweep's, one per shard and day, whatever it finds):")
    print("| sweep | AWS calls, by operation |")
    print("|---|---|")
    for name, calls in sweeps.items():
        print(f"| {name} | " + ", ".join(f"{op} {count}" for (_, op), count in sorted(calls.items())
                                       if op not in POLLING) + " |")


def counted_run(sweep) -> None:
    """A scheduled handler run in a thread of its own, named as the pipeline's, so that its calls count."""
    thread = threading.Thread(target=sweep, name="notify-sweep")
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
