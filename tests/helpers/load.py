"""One app's FHIR calls for many citizens at once, in-process (Chalice's test client serves one
request at a time, so the calls go through the token verifier and the FHIR service, as a view
does): shared by tests/api/test_hot_path_under_load.py, tests/api/test_app_quotas.py (tokens) and
bench/conflicts.py."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable, Dict, List

from pynamodb.transactions import TransactWrite

import app as application
from chalicelib.catalog.models import HEAD_VERSION, AppHead
from chalicelib.dynamodb import transaction_connection
from chalicelib.consent.models import Consent
from chalicelib.oauth.grants import Authorization
from chalicelib.oauth.server import Client
from chalicelib.records.audit import new_entry
from chalicelib.records.demo import demo_resources
from chalicelib.records.models import RecordItem

APP = "demo-sandbox"
SCOPES = ["patient/Observation.rs", "patient/Observation.c"]
WEIGHT = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-30T07:00:00Z",
          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
          "valueQuantity": {"value": 70.5, "unit": "kg", "code": "kg", "system": "http://unitsofmeasure.org"}}


def seed_citizens(count: int) -> Dict[str, str]:
    """`count` citizens, each with a few measures and a consent to the sandbox app: their tokens.
    (A few measures each: moto's time grows with the table, DynamoDB's does not.)"""
    now = datetime.now(timezone.utc)
    head = AppHead.get(APP, HEAD_VERSION)
    codec = application.fhir_service.codec
    measures = [resource for kind, _, resource in demo_resources({"id": "x", "given": "A", "family": "B"}, now)
                if kind == "Observation"][:3]
    tokens = {}
    with RecordItem.batch_write() as batch:
        for number in range(count):
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
    token = application.oauth_server._generate_token("authorization_code", Client.of_head(head), user, scope)
    return token["access_token"]


def call(token: str, what: str):
    """One FHIR interaction ("search", "read" or "create") through the verifier and the service."""
    grant = application.token_verifier.grant_of(f"Bearer {token}")
    service = application.fhir_service
    if what == "search":
        return service.search(grant, "Observation", {"_count": ["5"]}, False)
    if what == "read":
        return service.read(grant, "Observation", "m000")
    return service.create(grant, "Observation", dict(WEIGHT))


def former_gate(patient_id: str, consent: Consent) -> None:
    """The gate as it was (decision 0007): every call held the consent and the app's head in its
    transaction, with the audit entry."""
    now = datetime.now(timezone.utc)
    with TransactWrite(connection=transaction_connection()) as transaction:
        transaction.condition_check(Consent, patient_id, APP, condition=(Consent.status == "active")
                                    & (Consent.generation == consent.generation) & (Consent.expires_at > now))
        transaction.condition_check(AppHead, APP, HEAD_VERSION, condition=AppHead.status == "published")
        transaction.save(new_entry(patient_id, APP, now, "search", "Observation", count=5))


def run_at_once(calls: List[Callable[[], object]], workers: int = 20) -> List[BaseException]:
    """Every call on `workers` threads; the exceptions they raised."""
    errors: List[BaseException] = []

    def guarded(job):
        try:
            job()
        except Exception as error:  # noqa: BLE001 - every failure is counted, whatever it is
            errors.append(error)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(guarded, calls))
    return errors
