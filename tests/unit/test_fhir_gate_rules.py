"""The FHIR service and its gate, called directly with an AccessGrant built by hand for a consent
granted through the consent service (no consent page, no token): whose records a grant reaches,
what stops it at the next call, and what the citizen's access log says of every call."""
from datetime import timedelta

import pytest
from pynamodb.exceptions import DoesNotExist

from chalicelib.catalog.models import AppStatus
from chalicelib.errors import Forbidden, NotFound, PreconditionFailed, Unauthenticated
from chalicelib.fhir.service import etag
from chalicelib.records.models import RecordItem
from chalicelib.records.service import RecordService
from chalicelib.referencing.review_service import ReviewService
from tests.helpers.fhir import heart_rate, text_document, weight
from tests.helpers.services import (ALICE, KARIM, SANDBOX, access_grant, audit_of, fhir_service,
                                    grant_consent, reviewer, sandbox_status, store)

READ_AND_WRITE = ("patient/Observation.rs patient/Observation.c patient/Observation.u "
                  "patient/DocumentReference.rs patient/Patient.rs")


@pytest.fixture
def catalog(sandbox_published):
    return sandbox_published


@pytest.fixture
def fhir(catalog, fixed_clock):
    return fhir_service(fixed_clock)


@pytest.fixture
def alice(consents):
    """Alice's consent to the sandbox app: reading and writing measures, reading documents."""
    return grant_consent(consents, ALICE, READ_AND_WRITE)


def last_entry(patient_id):
    entries = audit_of(patient_id)
    assert entries, "nothing was logged"
    return max(entries, key=lambda entry: entry.at_key)


def refusal_of(error):
    return error.value.status, error.value.headers.get("WWW-Authenticate", "")


# -- whose records ----------------------------------------------------------------------------

def test_a_read_of_another_citizens_resource_answers_as_if_it_did_not_exist(fhir, consents, alice):
    store(fhir, KARIM, "Observation", "karim-weight", weight(), SANDBOX)
    karim = grant_consent(consents, KARIM)
    with pytest.raises(NotFound) as error:
        fhir.read(access_grant(alice), "Observation", "karim-weight")
    assert error.value.status == 404
    with pytest.raises(NotFound):
        fhir.read(access_grant(alice), "Patient", karim.pairwise_id)
    assert audit_of(KARIM) == []  # nothing of Karim's was reached, so nothing is in his log


def test_a_search_returns_only_the_citizens_own_measures(fhir, alice):
    store(fhir, ALICE, "Observation", "alice-weight", weight(71), SANDBOX)
    store(fhir, KARIM, "Observation", "karim-weight", weight(88), SANDBOX)
    bundle = fhir.search(access_grant(alice), "Observation", {}, False)
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == ["alice-weight"]
    assert bundle["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{alice.pairwise_id}"


# -- what stops a grant at the next call ----------------------------------------------------------

def test_a_withdrawn_consent_makes_the_next_call_an_invalid_token_and_logs_the_refusal(fhir, consents, alice,
                                                                                        fixed_clock):
    store(fhir, ALICE, "Observation", "alice-weight", weight(), SANDBOX)
    grant = access_grant(alice)
    fhir.read(grant, "Observation", "alice-weight")
    fixed_clock.advance(minutes=1)
    consents.revoke(ALICE, SANDBOX)
    fixed_clock.advance(minutes=1)
    with pytest.raises(Unauthenticated) as error:
        fhir.read(grant, "Observation", "alice-weight")
    status, challenge = refusal_of(error)
    assert status == 401 and 'error="invalid_token"' in challenge
    entry = last_entry(ALICE)
    assert (entry.interaction, entry.outcome, entry.reason, entry.resource_id) == (
        "read", "refused", "consent", "alice-weight")


def test_a_consent_granted_again_refuses_the_grants_of_the_previous_generation(fhir, consents, alice):
    old = access_grant(alice)
    new = access_grant(grant_consent(consents, ALICE, READ_AND_WRITE))
    with pytest.raises(Unauthenticated):
        fhir.search(old, "Observation", {}, False)
    assert fhir.search(new, "Observation", {}, False)["total"] == 0


def test_an_expired_consent_refuses_the_next_call(fhir, consents, fixed_clock):
    grant = access_grant(grant_consent(consents, ALICE, days=30))
    fhir.search(grant, "Observation", {}, False)
    fixed_clock.advance(days=30)
    with pytest.raises(Unauthenticated):
        fhir.search(grant, "Observation", {}, False)
    assert last_entry(ALICE).reason == "consent"


def test_a_revoked_token_family_is_refused_while_the_other_families_of_the_consent_go_on(fhir, consents, alice,
                                                                                          fixed_clock):
    consents.revoke_family(ALICE, SANDBOX, "family-0001", fixed_clock() + timedelta(minutes=10))
    with pytest.raises(Unauthenticated):
        fhir.search(access_grant(alice, family_id="family-0001"), "Observation", {}, False)
    assert last_entry(ALICE).reason == "token-revoked"
    assert fhir.search(access_grant(alice, family_id="family-0002"), "Observation", {}, False)["total"] == 0


def test_a_suspended_app_is_refused_and_the_refusal_names_the_app(fhir, alice):
    status = sandbox_status()
    status.update(actions=[AppStatus.status.set("suspended")])
    with pytest.raises(Unauthenticated) as error:
        fhir.search(access_grant(alice), "Observation", {}, False)
    assert refusal_of(error)[0] == 401
    entry = last_entry(ALICE)
    assert (entry.outcome, entry.reason, entry.app_id) == ("refused", "app", SANDBOX)


def test_grants_from_before_a_suspension_stay_refused_after_the_reinstatement(fhir, alice, catalog, referential,
                                                                              fixed_clock):
    review = ReviewService(referential, catalog, fixed_clock)
    review.suspend(reviewer(), SANDBOX, {"reason": "fuite de jetons"})
    review.reinstate(reviewer(), SANDBOX, {"reason": "corrigé"})
    epoch = sandbox_status().epoch
    assert epoch == 1
    with pytest.raises(Unauthenticated):
        fhir.search(access_grant(alice, app_epoch=0), "Observation", {}, False)
    assert fhir.search(access_grant(alice, app_epoch=epoch), "Observation", {}, False)["total"] == 0


def test_a_refused_create_stores_nothing(fhir, consents, alice):
    consents.revoke(ALICE, SANDBOX)
    with pytest.raises(Unauthenticated):
        fhir.create(access_grant(alice), "Observation", weight())
    assert list(RecordItem.query(ALICE)) == []
    assert [entry.outcome for entry in audit_of(ALICE)] == ["refused"]


# -- scopes ---------------------------------------------------------------------------------

def test_a_scope_without_create_cannot_create_and_the_refusal_is_logged_with_reason_scope(fhir, consents):
    reader = access_grant(grant_consent(consents, ALICE, "patient/Observation.rs"))
    with pytest.raises(Forbidden) as error:
        fhir.create(reader, "Observation", weight())
    status, challenge = refusal_of(error)
    assert status == 403 and 'error="insufficient_scope"' in challenge and "patient/Observation.c" in challenge
    assert list(RecordItem.query(ALICE)) == []
    entry = last_entry(ALICE)
    assert (entry.interaction, entry.outcome, entry.reason) == ("create", "refused", "scope")


def test_a_grant_narrower_than_its_consent_is_held_to_its_own_scopes(fhir, alice):
    """The token's scopes decide, not the consent's: a grant of reading only cannot write."""
    with pytest.raises(Forbidden):
        fhir.create(access_grant(alice, scopes="patient/Observation.rs"), "Observation", weight())


# -- writing --------------------------------------------------------------------------------

def test_a_created_measure_is_stored_with_its_app_and_logged_in_the_same_call(fhir, alice):
    created, version = fhir.create(access_grant(alice), "Observation", heart_rate())
    item = RecordItem.get(ALICE, f"Observation#{created['id']}")
    assert version == 1 and item.source_app == SANDBOX and int(item.version) == 1
    entry = last_entry(ALICE)
    assert (entry.interaction, entry.outcome, entry.resources, entry.resource_id) == (
        "create", "allowed", 1, created["id"])


def test_an_update_with_a_stale_if_match_is_412_and_nothing_is_written(fhir, alice, fixed_clock):
    grant = access_grant(alice)
    created, _ = fhir.create(grant, "Observation", weight(70))
    resource_id = created["id"]
    fixed_clock.advance(minutes=1)
    _, version = fhir.update(grant, "Observation", resource_id, weight(71), etag(1))
    assert version == 2
    fixed_clock.advance(minutes=1)
    with pytest.raises(PreconditionFailed) as error:
        fhir.update(grant, "Observation", resource_id, weight(99), etag(1))
    assert error.value.status == 412
    item = RecordItem.get(ALICE, f"Observation#{resource_id}")
    assert int(item.version) == 2 and item.resource["valueQuantity"]["value"] == 71
    entry = last_entry(ALICE)
    assert (entry.interaction, entry.outcome, entry.reason) == ("update", "refused", "stale-version")
    assert [e.interaction for e in audit_of(ALICE) if e.outcome == "allowed"].count("update") == 1


def test_an_app_cannot_change_what_another_app_wrote(fhir, alice):
    store(fhir, ALICE, "Observation", "scale-weight", weight(), "balance-horizon")
    with pytest.raises(Forbidden):
        fhir.update(access_grant(alice), "Observation", "scale-weight", weight(50), None)
    assert RecordItem.get(ALICE, "Observation#scale-weight").resource["valueQuantity"]["value"] == 72.5
    assert last_entry(ALICE).reason == "not-written-by-app"


def test_an_update_of_a_resource_that_does_not_exist_is_404_and_creates_nothing(fhir, alice):
    with pytest.raises(NotFound):
        fhir.update(access_grant(alice), "Observation", "0123456789abcdef", weight(), None)
    with pytest.raises(DoesNotExist):
        RecordItem.get(ALICE, "Observation#0123456789abcdef")


# -- hidden documents -------------------------------------------------------------------------

def test_a_hidden_document_is_invisible_to_search_and_read_and_not_counted(fhir, alice, fixed_clock):
    store(fhir, ALICE, "DocumentReference", "shown", text_document())
    store(fhir, ALICE, "DocumentReference", "secret", text_document())
    RecordService(fixed_clock).set_visibility(ALICE, "secret", {"hidden": True})
    grant = access_grant(alice)
    bundle = fhir.search(grant, "DocumentReference", {}, False)
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == ["shown"] and bundle["total"] == 1
    assert last_entry(ALICE).resources == 1
    fixed_clock.advance(seconds=1)
    with pytest.raises(NotFound):
        fhir.read(grant, "DocumentReference", "secret")
    entry = last_entry(ALICE)
    assert (entry.interaction, entry.outcome, entry.resources) == ("read", "allowed", 0)


def test_a_document_shown_again_is_readable_at_the_next_call(fhir, alice, fixed_clock):
    store(fhir, ALICE, "DocumentReference", "secret", text_document())
    records = RecordService(fixed_clock)
    records.set_visibility(ALICE, "secret", {"hidden": True})
    records.set_visibility(ALICE, "secret", {"hidden": False})
    shown, _ = fhir.read(access_grant(alice), "DocumentReference", "secret")
    assert shown["id"] == "secret"


# -- the access log -------------------------------------------------------------------------

def test_every_allowed_read_writes_exactly_one_audit_entry_counting_the_resource(fhir, alice):
    store(fhir, ALICE, "Observation", "alice-weight", weight(), SANDBOX)
    fhir.read(access_grant(alice), "Observation", "alice-weight")
    [entry] = audit_of(ALICE)
    assert (entry.app_id, entry.interaction, entry.resource_type, entry.resource_id, entry.resources,
            entry.outcome) == (SANDBOX, "read", "Observation", "alice-weight", 1, "allowed")


def test_a_read_of_nothing_is_logged_once_with_a_count_of_zero(fhir, alice):
    with pytest.raises(NotFound):
        fhir.read(access_grant(alice), "Observation", "0123456789abcdef")
    assert [(entry.interaction, entry.resources, entry.outcome) for entry in audit_of(ALICE)] == [
        ("read", 0, "allowed")]


@pytest.mark.parametrize("count, expected", [("10", 3), ("2", 2)])
def test_every_allowed_search_writes_exactly_one_audit_entry_counting_what_it_returned(fhir, alice, count,
                                                                                     expected):
    for number in range(3):
        store(fhir, ALICE, "Observation", f"weight-{number}", weight(70 + number), SANDBOX)
    bundle = fhir.search(access_grant(alice), "Observation", {"_count": [count]}, False)
    assert len(bundle["entry"]) == expected
    [entry] = audit_of(ALICE)
    assert (entry.interaction, entry.resource_type, entry.resources, entry.outcome) == (
        "search", "Observation", expected, "allowed")
