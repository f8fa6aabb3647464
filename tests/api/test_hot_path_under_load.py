"""The FHIR hot path under concurrency, on a DynamoDB that cancels transactions in flight on the
same item as AWS does (tests/dynamodb_double.py): one app's calls for many citizens, and many calls
for one citizen, never cancel each other. The gate's former shape, which held the app's head and
the consent in every call's transaction, is run under the same load to show that the double does
cancel what AWS would."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

import app as application
from chalicelib.catalog.models import HEAD_VERSION, AppHead, transaction_connection
from chalicelib.consent.models import Consent
from chalicelib.oauth.grants import Authorization
from chalicelib.oauth.server import Client
from chalicelib.records.audit import new_entry
from chalicelib.records.demo import demo_resources
from chalicelib.records.models import AuditItem, RecordItem
from tests.dynamodb_double import dynamodb_double

APP = "demo-sandbox"
SCOPES = ["patient/Observation.rs", "patient/Observation.c"]
IN_FLIGHT = 0.02  # seconds each write stays in flight: long enough for 20 threads to meet
WEIGHT = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-30T07:00:00Z",
          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
          "valueQuantity": {"value": 70.5, "unit": "kg", "code": "kg", "system": "http://unitsofmeasure.org"}}


@pytest.fixture
def citizens(demo_apps):
    """50 citizens, each with measures and a consent to the sandbox app, and an access token."""
    now = datetime.now(timezone.utc)
    head = AppHead.get(APP, HEAD_VERSION)
    codec = application.fhir_service.codec
    tokens = {}
    measures = [resource for kind, _, resource in demo_resources({"id": "x", "given": "A", "family": "B"}, now)
                if kind == "Observation"][:3]  # a few each: moto's time grows with the table, DynamoDB's does not
    with RecordItem.batch_write() as batch:
        for number in range(50):
            patient_id = f"load-{number:02d}"
            for index, resource in enumerate(measures):
                batch.save(RecordItem.of(patient_id, "Observation", f"m{index:03d}",
                                         codec.check("Observation", resource, "x", now), APP, now))
            tokens[patient_id] = token_for(patient_id, head)
    return tokens


def token_for(patient_id: str, head: AppHead) -> str:
    """An access token as the token endpoint makes it, for a consent granted just now."""
    consent = application.consent_service.grant(patient_id, head, SCOPES, ["launch/patient"], 365)
    user = Authorization(patient_id, consent.pairwise_id, consent.generation, consent.expires_at,
                         family_id=uuid.uuid4().hex)
    scope = " ".join(["launch/patient", *SCOPES])
    return application.oauth_server._generate_token("authorization_code", Client(head), user, scope)["access_token"]


def call(token: str, what: str):
    """One FHIR interaction through the service layer (Chalice's test client is one request at a time)."""
    grant = application.token_verifier.grant_of(f"Bearer {token}")
    service = application.fhir_service
    if what == "search":
        return service.search(grant, "Observation", {"_count": ["5"]}, False)
    if what == "read":
        first = service.search(grant, "Observation", {"_count": ["1"]}, False)["entry"][0]["resource"]["id"]
        return service.read(grant, "Observation", first)
    return service.create(grant, "Observation", dict(WEIGHT))


def run_at_once(calls, workers=20):
    errors = []

    def guarded(job):
        try:
            job()
        except Exception as error:  # noqa: BLE001 - every failure is counted, whatever it is
            errors.append(error)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(guarded, calls))
    return errors


def test_200_concurrent_reads_by_one_app_across_50_citizens_never_conflict(citizens):
    calls = [lambda token=token, what=what: call(token, what)
             for token in citizens.values() for what in ("search", "read", "search", "read")]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once(calls)
    assert errors == [] and double.conflicts == 0
    assert double.calls["BatchGetItem"] >= 200 and double.calls["PutItem"] >= 200  # each call: checks, audit


def test_20_concurrent_reads_by_one_app_for_one_citizen_never_conflict(citizens):
    token = citizens["load-00"]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once([lambda what=what: call(token, what) for what in ["search", "read"] * 10])
    assert errors == [] and double.conflicts == 0
    allowed = [e for e in AuditItem.query("load-00") if e.outcome == "allowed" and e.interaction in ("search", "read")]
    assert len(allowed) == 30  # each read is a search then a read: every access logged


def test_concurrent_writes_by_one_app_for_one_and_for_many_citizens_never_conflict(citizens):
    tokens = list(citizens.values())
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once([lambda token=token: call(token, "create") for token in tokens]
                             + [lambda: call(tokens[0], "create") for _ in range(10)])
    assert errors == [] and double.conflicts == 0
    assert double.calls["TransactWriteItems"] == 60


def former_gate(patient_id: str, consent: Consent) -> None:
    """The gate as it was: every call held the consent and the app's head in its transaction."""
    now = datetime.now(timezone.utc)
    with TransactWrite(connection=transaction_connection()) as transaction:
        transaction.condition_check(Consent, patient_id, APP, condition=(Consent.status == "active")
                                    & (Consent.generation == consent.generation) & (Consent.expires_at > now))
        transaction.condition_check(AppHead, APP, HEAD_VERSION, condition=AppHead.status == "published")
        transaction.save(new_entry(patient_id, APP, now, "search", "Observation", count=5))


def test_the_double_cancels_the_former_gate_under_the_same_load(citizens):
    consents = {patient_id: Consent.get(patient_id, APP) for patient_id in citizens}
    calls = [lambda p=patient_id: former_gate(p, consents[p]) for patient_id in citizens for _ in range(4)]
    with dynamodb_double(in_flight_delay=IN_FLIGHT) as double:
        errors = run_at_once(calls)
    conflicts = [e for e in errors if isinstance(e, TransactWriteError)
                 and any(r and r.code == "TransactionConflict" for r in e.cancellation_reasons or [])]
    assert double.conflicts > 0 and len(conflicts) == len(errors) > 0
