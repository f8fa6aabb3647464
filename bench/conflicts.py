"""Conflicts under concurrency, per FHIR interaction, before and after the hot path's change
(decision 0010): one app's calls on 20 threads, on moto's in-process DynamoDB with the test double
that cancels transactions in flight on the same item as DynamoDB does (tests/dynamodb_double.py),
each write kept in flight 20 ms (about a transaction's latency on DynamoDB).

Run with `make bench`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
from bench.environment import use_local_aws  # noqa: E402
KEYS = use_local_aws()
IN_FLIGHT = 0.02


def main() -> None:
    from moto import mock_aws

    from chalicelib.oauth.claims import create_key_file
    from chalicelib.oauth.keywrap import create_wrap_key_file
    create_wrap_key_file(KEYS / "signing-wrap.bin")
    create_key_file(KEYS / "claim.bin")
    with mock_aws():
        from app import catalog_service
        from chalicelib.catalog.demo import seed_demo_catalog
        from chalicelib.consent.models import Consent
        from chalicelib.storage import ensure_tables
        from tests.dynamodb_double import dynamodb_double
        from tests.helpers.load import APP, call, former_gate, run_at_once, seed_citizens

        ensure_tables()
        seed_demo_catalog(catalog_service)
        tokens = seed_citizens(50)
        one = tokens["load-00"]
        consents = {patient_id: Consent.get(patient_id, APP) for patient_id in tokens}
        scenarios = [
            ("after", "read and search, 50 citizens x 4", [lambda t=t, w=w: call(t, w) for t in tokens.values()
                                                          for w in ("search", "read") * 2]),
            ("after", "read and search, 1 citizen x 20", [lambda w=w: call(one, w) for w in ("search", "read") * 10]),
            ("after", "create, 50 citizens + 10 for 1", [lambda t=t: call(t, "create") for t in tokens.values()]
             + [lambda: call(one, "create") for _ in range(10)]),
            ("before", "any call, 50 citizens x 4", [lambda p=p: former_gate(p, consents[p]) for p in tokens
                                                    for _ in range(4)]),
            ("before", "any call, 1 citizen x 20", [lambda: former_gate("load-00", consents["load-00"])
                                                   for _ in range(20)]),
        ]
        print(f"\nOne app's FHIR calls on 20 threads, each write in flight {IN_FLIGHT * 1000:.0f} ms "
              "(tests/dynamodb_double.py): calls cancelled by DynamoDB for a transaction conflict.")
        print("| gate | calls | count | conflicts | errors | wall s |\n|---|---|---|---|---|---|")
        for shape, label, calls in scenarios:
            with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
                started = time.perf_counter()
                errors = run_at_once(calls)
                elapsed = time.perf_counter() - started
            print(f"| {shape} | {label} | {len(calls)} | {double.conflicts} | {len(errors)} | {elapsed:.1f} |")
        print("Before, every call of the app held its head item (and the citizen's consent) in its transaction: "
              "calls in flight together cancel each other, and the app gets 409. After, a call holds only its own "
              "new audit entry (and, for a write, its record): 0.")


if __name__ == "__main__":
    main()
