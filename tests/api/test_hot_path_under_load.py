"""The FHIR hot path under concurrency, on a DynamoDB that cancels transactions in flight on the
same item as AWS does (tests/dynamodb_double.py): one app's calls for many citizens, and many calls
for one citizen, never cancel each other. The gate's former shape, which held the app's head and
the consent in every call's transaction, is run under the same load to show that the double does
cancel what AWS would."""
import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.consent.models import Consent
from chalicelib.records.models import AuditItem
from tests.dynamodb_double import dynamodb_double
from tests.helpers.load import APP, call, former_gate, run_at_once, seed_citizens

IN_FLIGHT = 0.02  # seconds each write stays in flight: long enough for 20 threads to meet


@pytest.fixture
def citizens(demo_apps):
    return seed_citizens(50)


def test_200_concurrent_reads_by_one_app_across_50_citizens_never_conflict(citizens):
    calls = [lambda token=token, what=what: call(token, what)
             for token in citizens.values() for what in ("search", "read", "search", "read")]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once(calls)
    assert errors == [] and double.conflicts == 0
    assert double.calls["BatchGetItem"] == 200 and double.calls["PutItem"] == 200  # each call: checks, audit


def test_20_concurrent_reads_by_one_app_for_one_citizen_never_conflict(citizens):
    token = citizens["load-00"]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once([lambda what=what: call(token, what) for what in ["search", "read"] * 10])
    assert errors == [] and double.conflicts == 0
    allowed = [e for e in AuditItem.query("load-00") if e.outcome == "allowed" and e.interaction in ("search", "read")]
    assert len(allowed) == 20  # every access logged


def test_concurrent_writes_by_one_app_for_one_and_for_many_citizens_never_conflict(citizens):
    tokens = list(citizens.values())
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once([lambda token=token: call(token, "create") for token in tokens]
                             + [lambda: call(tokens[0], "create") for _ in range(10)])
    assert errors == [] and double.conflicts == 0
    assert double.calls["TransactWriteItems"] == 60


def test_the_double_cancels_the_former_gate_under_the_same_load(citizens):
    consents = {patient_id: Consent.get(patient_id, APP) for patient_id in citizens}
    calls = [lambda p=patient_id: former_gate(p, consents[p]) for patient_id in citizens for _ in range(4)]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once(calls)
    conflicts = [e for e in errors if isinstance(e, TransactWriteError)
                 and any(r and r.code == "TransactionConflict" for r in e.cancellation_reasons or [])]
    assert double.conflicts > 0 and len(conflicts) == len(errors) > 0
