"""DynamoDB throttled or failing (tests/dynamodb_double.py), as the FHIR API and the token endpoint
meet it: a fault that lasts is a 503 with Retry-After (an OperationOutcome on /fhir, an OAuth error
on /oauth), never a 500, and never data without its audit entry nor a code or refresh token half
consumed; a fault that happens once is absorbed by botocore's bounded retry.

The tests of this module share one moto DynamoDB, seeded once (catalogue, demo records), to stay
fast: each one compares what its call changed (before, after), the FHIR ones on demo-karim's record
with one token, the OAuth ones with codes and tokens of their own for demo-alice; a fault never
outlives its `with dynamodb_double()` block."""
import json
from types import SimpleNamespace
from unittest import mock

import botocore.endpoint
import pytest
from chalice.test import Client
from moto import mock_aws
from pynamodb.exceptions import DoesNotExist

from app import app
from chalicelib.catalog.demo import seed_demo_catalog
from chalicelib.catalog.service import CatalogService
from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta
from chalicelib.records.resources import Codec
from chalicelib.terminology import load_terminology
from chalicelib.records.demo import seed_demo_records
from chalicelib.records.models import AuditItem, RecordItem
from chalicelib.storage import ensure_tables
from tests.dynamodb_double import dynamodb_double
from tests.helpers.fhir import WRITE_ALL, appointment, transaction, weight
from tests.helpers.oauth import SANDBOX, consent, exchange, form_post, pkce, redirect_params, refresh
from tests.helpers.pages import session_cookie
from tests.helpers.smart import FHIR_JSON, auth, fhir_get, fhir_post, fhir_put, smart_token

PATIENT = "demo-karim"
ATTEMPTS = 1 + TableMeta.max_retry_attempts  # what every model and the gate's own client make in all
OFFLINE = "launch/patient patient/Observation.rs offline_access"


@pytest.fixture
def backoffs():
    """botocore's retry delays, recorded instead of slept (a throttling retry may wait 1 s, then 2 s)."""
    delays = []
    with mock.patch.object(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append)):
        yield delays


@pytest.fixture(scope="module")
def client(referential):
    """The Chalice test client of tests/api/conftest.py over one DynamoDB for the whole module."""
    with mock_aws():
        ensure_tables()
        seed_demo_catalog(CatalogService(referential))
        seed_demo_records(Codec(load_terminology(settings.catalog_dir), settings.fhir_base_url), settings.catalog_dir)
        with Client(app, stage_name="local") as test_client:
            yield test_client.http


@pytest.fixture(scope="module")
def token(client):
    """demo-karim's consent to the sandbox app, to read and write his record (no OAuth test signs him in)."""
    return smart_token(client, WRITE_ALL, patient=PATIENT)


# -- the FHIR interactions, each with what it needs first and the DynamoDB calls on its path ----------

def _nothing(client, token):
    return None


def _a_demo_measure(client, token):
    found = fhir_get(client, "/fhir/Observation", token, _count=1)
    assert found.status_code == 200, found.body
    return found.json_body["entry"][0]["resource"]["id"]


def _an_appointment_of_the_app(client, token):
    created = fhir_post(client, "/fhir/Appointment", token, appointment())
    assert created.status_code == 201, created.body
    return created.json_body["id"]


def _bundle_of_two_weights():
    return transaction(weight(71.0), weight(71.5, when="2026-11-21T08:00:00+01:00"))


INTERACTIONS = {
    # name: (what it needs first, the call, its success status)
    "read": (_a_demo_measure, lambda client, token, rid: fhir_get(client, f"/fhir/Observation/{rid}", token), 200),
    "search": (_nothing, lambda client, token, _: fhir_get(client, "/fhir/Observation", token, _count=5), 200),
    "create": (_nothing, lambda client, token, _: fhir_post(client, "/fhir/Observation", token, weight()), 201),
    "update": (_an_appointment_of_the_app, lambda client, token, rid: fhir_put(
        client, f"/fhir/Appointment/{rid}", token, dict(appointment(doctor="Dr Rossi"), id=rid),
        **{"If-Match": 'W/"1"'}), 200),
    "delete": (_an_appointment_of_the_app,
               lambda client, token, rid: client.delete(f"/fhir/Appointment/{rid}", headers=auth(token)), 204),
    "transaction": (_nothing,
                    lambda client, token, _: fhir_post(client, "/fhir", token, _bundle_of_two_weights()), 200),
}

# Every DynamoDB call site of each interaction: round trip 1 (BatchGetItem, with a search's Query
# alongside), round trip 2 (the audit PutItem of a read or a search, the TransactWriteItems of a write).
CALL_SITES = [
    ("read", "BatchGetItem"), ("read", "PutItem"),
    ("search", "BatchGetItem"), ("search", "Query"), ("search", "PutItem"),
    ("create", "BatchGetItem"), ("create", "TransactWriteItems"),
    ("update", "BatchGetItem"), ("update", "TransactWriteItems"),
    ("delete", "BatchGetItem"), ("delete", "TransactWriteItems"),
    ("transaction", "BatchGetItem"), ("transaction", "TransactWriteItems"),
]
SITE_IDS = [f"{interaction}-{operation}" for interaction, operation in CALL_SITES]


def newest_audit_key():
    """The key of the newest entry of the citizen's access log: what is logged after it is read alone."""
    newest = list(AuditItem.query(PATIENT, scan_index_forward=False, limit=1))
    return newest[0].at_key if newest else "0"  # keys start with a date: "0" is before them all


def logged_since(key):
    """(interaction, outcome) of each access logged after the entry `key` (keys start with the time)."""
    return [(entry.interaction, entry.outcome) for entry in AuditItem.query(PATIENT, AuditItem.at_key > key)]


def record_size():
    return RecordItem.count(PATIENT)  # a Query that answers a count, not the items


def stored(item_key):
    """An item of the citizen's record as stored (version, resource), or None."""
    if item_key is None:
        return None
    try:
        item = RecordItem.get(PATIENT, item_key)
    except DoesNotExist:
        return None
    return int(item.version), json.dumps(item.resource, sort_keys=True)


def target_key(interaction, target):
    return f"Appointment#{target}" if interaction in ("update", "delete") else None


def assert_fhir_unavailable(response):
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    body = response.json_body
    assert body["resourceType"] == "OperationOutcome"
    assert [issue["code"] for issue in body["issue"]] == ["transient"]


def assert_oauth_unavailable(response):
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json_body["error"] == "temporarily_unavailable"
    assert response.json_body["error_description"]
    assert "access_token" not in response.json_body


# -- 1. a lasting fault on the FHIR path: 503, and nothing half done -----------------------------------

@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "InternalServerError"])
@pytest.mark.parametrize("interaction, operation", CALL_SITES, ids=SITE_IDS)
def test_a_lasting_dynamodb_fault_on_any_call_of_the_fhir_path_is_503_and_leaves_no_data_without_audit(
        client, token, backoffs, interaction, operation, error):
    prepare, send, _ = INTERACTIONS[interaction]
    target = prepare(client, token)
    key = target_key(interaction, target)
    size, before, since = record_size(), stored(key), newest_audit_key()

    with dynamodb_double() as double:
        double.fail(operation, error, times=None)
        response = send(client, token, target)

    assert_fhir_unavailable(response)
    assert double.calls[operation] == ATTEMPTS == double.faults_injected  # retried by botocore, then given up
    if target is not None:
        assert target not in response.body.decode()  # nothing of the resource left
    logged = logged_since(since)
    assert (interaction, "allowed") not in logged, "no access recorded as allowed"
    assert record_size() == size and stored(key) == before, "the record is as it was"
    if operation == "TransactWriteItems":  # the audit entry and the record's writes: all or nothing
        assert logged == []


def test_a_read_whose_audit_entry_cannot_be_written_returns_nothing_of_the_resource(client, token, backoffs):
    measure = _a_demo_measure(client, token)
    since = newest_audit_key()
    with dynamodb_double() as double:
        double.fail("PutItem", "ThrottlingException", times=None, table=settings.audit_table)
        read = fhir_get(client, f"/fhir/Observation/{measure}", token)
        search = fhir_get(client, "/fhir/Observation", token, _count=5)

    for response in (read, search):
        assert_fhir_unavailable(response)
        assert "valueQuantity" not in response.body.decode() and measure not in response.body.decode()
    assert logged_since(since) == []


# -- 2. a fault that happens once: botocore's retry absorbs it, one audit entry --------------------------

@pytest.mark.parametrize("error", ["ThrottlingException", "InternalServerError"])
@pytest.mark.parametrize("interaction, operation", CALL_SITES, ids=SITE_IDS)
def test_a_dynamodb_fault_that_happens_once_is_retried_and_the_call_succeeds_with_one_audit_entry(
        client, token, backoffs, interaction, operation, error):
    prepare, send, success = INTERACTIONS[interaction]
    target = prepare(client, token)
    key = target_key(interaction, target)
    size, since = record_size(), newest_audit_key()

    with dynamodb_double() as double:
        double.fail(operation, error, times=1)
        response = send(client, token, target)

    assert response.status_code == success, response.body
    assert double.faults_injected == 1 and double.calls[operation] == 2
    assert len(backoffs) == 1
    assert logged_since(since) == [(interaction, "allowed")]  # one entry, though the call was tried twice
    written = {"create": 1, "transaction": 2, "delete": -1}.get(interaction, 0)
    assert record_size() == size + written  # written once, not once per attempt
    if interaction == "update":
        version, resource = stored(key)
        assert version == 2 and "Dr Rossi" in resource
    if interaction == "delete":
        assert stored(key) is None


# -- 3. the token endpoint, code exchange ---------------------------------------------------------------

def a_code(client, scope=OFFLINE):
    verifier, challenge = pkce()
    code = redirect_params(consent(client, challenge, scope=scope, prompt="consent")[0])["code"]
    return code, verifier


def offline_tokens(client):
    """Tokens with a refresh token, for demo-alice, from a consent given just now."""
    response = exchange(client, *a_code(client))
    assert response.status_code == 200, response.body
    return response.json_body


def assert_tokens_work(client, tokens):
    fhir = client.get("/fhir/Observation", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert fhir.status_code == 200, fhir.body
    if "refresh_token" in tokens:
        rotated = refresh(client, tokens["refresh_token"])
        assert rotated.status_code == 200, rotated.body


EXCHANGE_STEPS = [
    ("GetItem", settings.apps_table),  # the app, as a client
    ("GetItem", settings.grants_table),  # the code
    ("GetItem", settings.consents_table),  # the consent behind it
    ("TransactWriteItems", None),  # the code marked used, the refresh token and its family stored
]


@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "ServiceUnavailable"])
@pytest.mark.parametrize("operation, table", EXCHANGE_STEPS, ids=["app", "code", "consent", "write"])
def test_a_code_exchange_meeting_a_lasting_fault_is_503_and_the_same_code_works_once_it_clears(
        client, backoffs, operation, table, error):
    code, verifier = a_code(client)
    with dynamodb_double() as double:
        double.fail(operation, error, times=None, table=table)
        failed = exchange(client, code, verifier)
        assert double.faults_injected == ATTEMPTS
        double.clear_faults()
        again = exchange(client, code, verifier)

    assert_oauth_unavailable(failed)
    assert again.status_code == 200, again.body  # not taken for a replay: nothing was half consumed
    assert again.json_body["access_token"] and again.json_body["refresh_token"]
    assert_tokens_work(client, again.json_body)
    replay = exchange(client, code, verifier)  # and it is single-use again from now on
    assert replay.status_code == 400 and replay.json_body["error"] == "invalid_grant"


@pytest.mark.parametrize("error", ["ThrottlingException", "InternalServerError"])
@pytest.mark.parametrize("operation, table", EXCHANGE_STEPS, ids=["app", "code", "consent", "write"])
def test_a_code_exchange_meeting_a_fault_once_succeeds_at_the_first_try(client, backoffs, operation, table, error):
    code, verifier = a_code(client)
    with dynamodb_double() as double:
        double.fail(operation, error, times=1, table=table)
        token = exchange(client, code, verifier)

    assert token.status_code == 200, token.body
    assert double.faults_injected == 1
    assert_tokens_work(client, token.json_body)


# -- 4. the token endpoint, refresh ---------------------------------------------------------------------

REFRESH_STEPS = [
    ("TransactWriteItems", None),  # the old refresh token rotated, the new one stored
    ("GetItem", settings.grants_table),  # the refresh token and its family
    ("GetItem", settings.consents_table),  # the consent
]


@pytest.mark.parametrize("error", ["ThrottlingException", "InternalServerError"])
@pytest.mark.parametrize("operation, table", REFRESH_STEPS, ids=["write", "token", "consent"])
def test_a_refresh_meeting_a_lasting_fault_is_503_and_the_same_refresh_token_works_once_it_clears(
        client, backoffs, operation, table, error):
    tokens = offline_tokens(client)
    with dynamodb_double() as double:
        double.fail(operation, error, times=None, table=table)
        failed = refresh(client, tokens["refresh_token"])
        assert double.faults_injected == ATTEMPTS

    assert_oauth_unavailable(failed)
    again = refresh(client, tokens["refresh_token"])
    assert again.status_code == 200, again.body  # not a replay of a rotated token
    assert again.json_body["refresh_token"] != tokens["refresh_token"]
    for token in (again.json_body["access_token"], again.json_body["refresh_token"]):
        answer = form_post(client, "/oauth/introspect", token=token, client_id=SANDBOX).json_body
        assert answer["active"] is True
    assert_tokens_work(client, again.json_body)  # the family was not revoked


# -- 5. revocation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("error", ["ThrottlingException", "InternalServerError"])
@pytest.mark.parametrize("operation", ["UpdateItem", "GetItem"])
def test_a_revocation_meeting_a_lasting_fault_is_503_with_an_oauth_error_and_works_once_it_clears(
        client, backoffs, operation, error):
    tokens = offline_tokens(client)
    with dynamodb_double() as double:
        double.fail(operation, error, times=None)
        failed = form_post(client, "/oauth/revoke", token=tokens["refresh_token"], client_id=SANDBOX)
        assert double.faults_injected >= ATTEMPTS

    assert_oauth_unavailable(failed)
    done = form_post(client, "/oauth/revoke", token=tokens["refresh_token"], client_id=SANDBOX)
    assert done.status_code == 200, done.body
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"


def test_a_revocation_whose_family_cannot_be_marked_revoked_is_not_answered_200(client, backoffs):
    tokens = offline_tokens(client)
    with dynamodb_double() as double:
        double.fail("UpdateItem", "InternalServerError", times=None, table=settings.grants_table)
        answer = form_post(client, "/oauth/revoke", token=tokens["refresh_token"], client_id=SANDBOX)
        assert double.faults_injected == ATTEMPTS

    assert_oauth_unavailable(answer)  # not 200: the refresh token was not revoked
    done = form_post(client, "/oauth/revoke", token=tokens["refresh_token"], client_id=SANDBOX)
    assert done.status_code == 200, done.body
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"


def test_a_replayed_code_whose_revocation_cannot_be_written_is_503_not_a_silent_refusal(client, backoffs):
    code, verifier = a_code(client)
    first = exchange(client, code, verifier)
    assert first.status_code == 200, first.body
    with dynamodb_double() as double:
        double.fail("UpdateItem", "InternalServerError", times=None, table=settings.consents_table)
        replay = exchange(client, code, verifier)
        assert double.faults_injected == ATTEMPTS

    assert_oauth_unavailable(replay)  # so that the replay is presented again, and then revokes
    again = exchange(client, code, verifier)
    assert again.status_code == 400 and again.json_body["error"] == "invalid_grant"
    answer = form_post(client, "/oauth/introspect", token=first.json_body["access_token"], client_id=SANDBOX)
    assert answer.json_body == {"active": False}


# -- the citizen's pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path, operation", [("/", "Query"), ("/apps/demo-sandbox", "GetItem")])
def test_a_page_meeting_a_lasting_fault_is_a_503_page_in_french_with_retry_after(client, backoffs, path, operation):
    with dynamodb_double() as double:
        double.fail(operation, "ProvisionedThroughputExceededException", times=None)
        page = client.get(path)
    assert page.status_code == 503 and page.headers["Retry-After"] == "1"
    assert page.headers["Content-Type"].startswith("text/html")
    assert "momentanément indisponible" in page.body.decode()
    assert client.get(path).status_code == 200  # once the fault is gone


# -- the citizen's record ----------------------------------------------------------------------------------

@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_hiding_a_document_meeting_a_lasting_fault_is_503_not_404_and_works_once_it_clears(client, backoffs, error):
    cookie = session_cookie(client, "demo-alice")
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    target = client.get("/me/documents", headers=headers).json_body["documents"][0]["id"]
    with dynamodb_double() as double:
        double.fail("UpdateItem", error, times=None, table=settings.records_table)
        failed = client.put(f"/me/documents/{target}/visibility", body=json.dumps({"hidden": True}), headers=headers)
        assert double.faults_injected == ATTEMPTS

    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1", failed.body
    assert RecordItem.get("demo-alice", f"DocumentReference#{target}").hidden is not True
    for hidden in (True, False):  # and shown again: the other tests of the module read this record
        done = client.put(f"/me/documents/{target}/visibility", body=json.dumps({"hidden": hidden}), headers=headers)
        assert done.status_code == 200 and done.json_body == {"id": target, "hidden": hidden}, done.body
