"""The services as app.py wires them, built directly for unit tests: one clock that moves only when
a test moves it, the sandbox app published at that clock, a consent and the AccessGrant a verified
token would carry (no consent page, no token), records written by hand, the audit log read back,
and the publishers and reviewers who act on the referencing services."""
import json
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from chalicelib.catalog.demo import publish_demo
from chalicelib.catalog.models import HEAD_VERSION, STATUS_VERSION, AppHead, AppStatus
from chalicelib.catalog.service import CatalogService
from chalicelib.config import settings
from chalicelib.consent.models import Consent
from chalicelib.consent.service import ConsentService
from chalicelib.fhir.access import AccessGrant
from chalicelib.fhir.gate import Gate
from chalicelib.fhir.service import FhirService
from chalicelib.identity.service import Principal
from chalicelib.oauth.scopes import ScopeRequest
from chalicelib.records.documents import DocumentStore
from chalicelib.records.models import AuditItem, RecordItem
from chalicelib.records.resources import Codec
from chalicelib.terminology import load_terminology
from tests.helpers.identity import SANDBOX_SIRET, TEST_ISSUER

SANDBOX = "demo-sandbox"
ALICE, KARIM = "demo-alice", "demo-karim"
# Late in 2026: the sandbox's test reports and écoscore measures (catalog/demo) are recent then.
START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


class FixedClock:
    """The services' clock: START until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def publish_sandbox(referential, clock: FixedClock) -> CatalogService:
    """The sandbox app published 30 days before `clock`'s now, as its demo file says (for a year),
    through the same transaction as a commission decision; the catalogue service that did it."""
    catalog = CatalogService(referential, clock)
    demo = json.loads((referential.directory / "demo" / "listings" / f"{SANDBOX}.json").read_text(encoding="utf-8"))
    publish_demo(catalog, demo)
    return catalog


def sandbox_head() -> AppHead:
    return AppHead.get(SANDBOX, HEAD_VERSION)


def sandbox_status() -> AppStatus:
    return AppStatus.get(SANDBOX, STATUS_VERSION)


def grant_consent(consents: ConsentService, patient_id: str = ALICE, scopes: str = "patient/Observation.rs",
                  context: str = "launch/patient", days: int = 365) -> Consent:
    """The citizen's consent to the sandbox app, as the consent page records it."""
    return consents.grant(patient_id, sandbox_head(), scopes.split(), context.split(), days)


def access_grant(consent: Consent, scopes: Optional[str] = None, app_epoch: int = 0,
                 family_id: Optional[str] = "family-0001") -> AccessGrant:
    """What the token verifier would make of an access token issued under `consent` (its scopes
    unless `scopes` says otherwise)."""
    text = scopes if scopes is not None else " ".join(consent.scopes["data"])
    return AccessGrant(consent.app_id, consent.pairwise_id, consent.patient_id, int(consent.generation),
                       ScopeRequest.parse(text).data, text, app_epoch, family_id)


def fhir_service(clock: FixedClock) -> FhirService:
    codec = Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url)
    return FhirService(codec, Gate(clock), DocumentStore(settings.documents_bucket, settings.region, None), clock,
                       settings.public_base_url)


def store(service: FhirService, patient_id: str, resource_type: str, resource_id: str, resource: dict,
          source_app: Optional[str] = None) -> RecordItem:
    """A resource already in the citizen's record (the DMP's own when `source_app` is None)."""
    now = service.clock()
    indexed = service.codec.check(resource_type, resource, "stored", now)
    item = RecordItem.of(patient_id, resource_type, resource_id, indexed, source_app, now)
    item.save()
    return item


def audit_of(patient_id: str) -> List[AuditItem]:
    """The citizen's access log, as written (oldest first)."""
    return list(AuditItem.query(patient_id))


def publisher(siret: str = SANDBOX_SIRET) -> Principal:
    return Principal(subject=f"publisher-{siret}", issuer=TEST_ISSUER, role="publisher", name="Test publisher",
                     organisation_siret=siret)


def reviewer() -> Principal:
    return Principal(subject="reviewer-1", issuer=TEST_ISSUER, role="reviewer", name="Test reviewer")
