"""The FHIR R4 API as a referenced app meets it: read, search, write the consenting citizen's
record, with every answer valid R4 and every refusal an OperationOutcome."""
import json

import pytest

from chalicelib.config import settings
from tests.helpers.fhir import READ_ALL, WRITE_ALL, appointment, heart_rate, pdf_document, transaction, weight
from tests.helpers.pages import session_cookie
from tests.helpers.smart import assert_r4, auth, fhir_get, FHIR_JSON, fhir_post, fhir_put, outcome, smart_token


@pytest.fixture
def token(client, records):
    return smart_token(client, WRITE_ALL)


def test_the_capability_statement_is_r4_and_points_to_the_oauth_endpoints(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = assert_r4(response.json_body)
    assert statement["fhirVersion"] == "4.0.1"
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["authorize"] == "https://testserver/oauth/authorize" and uris["token"].endswith("/oauth/token")
    assert {"authorize", "token", "introspect", "revoke", "manage"} <= set(uris)
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in types["Observation"]["searchParam"]} == {"patient", "code", "category", "date"}


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(client, records):
    response = client.get("/fhir/Observation")
    outcome(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.get("/fhir/Observation", headers={"Authorization": "Bearer a.b.c"})
    outcome(forged, 401)
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]


def test_a_search_returns_a_paged_searchset_of_the_patients_documents(client, token):
    first = fhir_get(client, "/fhir/DocumentReference", token, patient=token["patient"], _count=3)
    bundle = outcome(first, 200)
    assert bundle["type"] == "searchset" and len(bundle["entry"]) == 3
    seen = []
    while True:
        for entry in bundle["entry"]:
            document = entry["resource"]
            assert document["subject"]["reference"] == f"Patient/{token['patient']}"
            assert document["content"][0]["attachment"]["size"] > 0
            seen.append(document["id"])
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            break
        assert links["next"].startswith("https://testserver/fhir/DocumentReference?")
        bundle = outcome(client.get(links["next"][len("https://testserver"):], headers=auth(token)), 200)
    assert len(seen) == len(set(seen)) == 8, "every demo document once, across pages"
    dates = [e for e in seen]
    assert dates


def test_search_by_code_and_date_returns_only_those_newest_first(client, token):
    bundle = outcome(fhir_get(client, "/fhir/Observation", token, code="http://loinc.org|29463-7",
                              date="ge2026-01-01", _count=50), 200)
    values = [entry["resource"] for entry in bundle["entry"]]
    assert values and all(r["code"]["coding"][0]["code"] == "29463-7" for r in values)
    instants = [r["effectiveDateTime"] for r in values]
    assert instants == sorted(instants, reverse=True)
    assert all(i >= "2026-01-01" for i in instants)
    assert bundle["total"] == len(values)


def test_unknown_search_parameters_are_refused_unless_lenient(client, token):
    outcome(fhir_get(client, "/fhir/Observation", token, colour="blue"), 400)
    lenient = client.get("/fhir/Observation?colour=blue&_count=2",
                         headers=auth(token, Prefer="handling=lenient"))
    assert outcome(lenient, 200)["type"] == "searchset"
    outcome(fhir_get(client, "/fhir/Observation", token, date="yesterday"), 400)
    outcome(fhir_get(client, "/fhir/Observation", token, _cursor="not-a-cursor"), 400)


def test_a_created_measure_is_read_back_with_its_version_and_source(client, token):
    created = fhir_post(client, "/fhir/Observation", token, weight())
    resource = outcome(created, 201)
    assert created.headers["Location"] == f"https://testserver/fhir/Observation/{resource['id']}/_history/1"
    assert created.headers["ETag"] == 'W/"1"' and resource["meta"]["versionId"] == "1"
    assert resource["meta"]["source"] == "https://testserver/apps/demo-sandbox"
    read = fhir_get(client, f"/fhir/Observation/{resource['id']}", token)
    assert outcome(read, 200)["valueQuantity"]["value"] == 72.5
    assert read.headers["ETag"] == 'W/"1"'


def test_an_invalid_measure_is_422_naming_each_failing_element(client, token):
    wrong = weight(value=720, unit="lb")
    wrong["effectiveDateTime"] = "yesterday"
    body = outcome(fhir_post(client, "/fhir/Observation", token, wrong), 422)
    expressions = {e for issue in body["issue"] for e in issue.get("expression", [])}
    assert {"Observation.valueQuantity.code", "Observation.effectiveDateTime"} <= expressions
    unknown = weight()
    unknown["code"]["coding"][0]["code"] = "1234-5"
    outcome(fhir_post(client, "/fhir/Observation", token, unknown), 422)
    outcome(client.post("/fhir/Observation", body="{not json", headers=auth(token, **{"Content-Type": FHIR_JSON})), 400)
    outcome(client.post("/fhir/Observation", body="<xml/>", headers=auth(token, **{"Content-Type": "text/xml"})), 415)


def test_a_blood_pressure_needs_both_components(client, token):
    pressure = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-20T08:00:00Z",
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                               "valueQuantity": {"value": 128, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org",
                                                 "code": "mm[Hg]"}}]}
    body = outcome(fhir_post(client, "/fhir/Observation", token, pressure), 422)
    assert "8462-4" in json.dumps(body)
    pressure["component"].append({"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                                  "valueQuantity": {"value": 82, "unit": "mm[Hg]",
                                                    "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})
    outcome(fhir_post(client, "/fhir/Observation", token, pressure), 201)


def test_the_patient_reads_under_the_pairwise_id_only(client, token):
    patient = outcome(fhir_get(client, f"/fhir/Patient/{token['patient']}", token), 200)
    assert patient["id"] == token["patient"] and patient["name"][0]["family"] == "Martin"
    outcome(fhir_get(client, "/fhir/Patient/demo-alice", token), 404)


def test_another_patients_record_is_as_if_it_did_not_exist(client, token, records):
    karim = smart_token(client, WRITE_ALL, patient="demo-karim")
    assert karim["patient"] != token["patient"]
    his = outcome(fhir_post(client, "/fhir/Observation", karim, weight(95)), 201)
    outcome(fhir_get(client, f"/fhir/Observation/{his['id']}", token), 404)
    outcome(fhir_get(client, f"/fhir/Patient/{karim['patient']}", token), 404)
    empty = outcome(fhir_get(client, "/fhir/Observation", token, patient=karim["patient"]), 200)
    assert empty["total"] == 0 and not empty.get("entry")
    foreign = weight()
    foreign["subject"] = {"reference": f"Patient/{karim['patient']}"}
    outcome(fhir_post(client, "/fhir/Observation", token, foreign), 422)


def test_updates_need_the_current_version_and_lose_nothing(client, token):
    resource = outcome(fhir_post(client, "/fhir/Appointment", token, appointment()), 201)
    path = f"/fhir/Appointment/{resource['id']}"
    first = dict(appointment(doctor="Dr Rossi"), id=resource["id"])
    second = dict(appointment(status="cancelled"), id=resource["id"])
    updated = fhir_put(client, path, token, first, **{"If-Match": 'W/"1"'})
    assert outcome(updated, 200)["meta"]["versionId"] == "2" and updated.headers["ETag"] == 'W/"2"'
    outcome(fhir_put(client, path, token, second, **{"If-Match": 'W/"1"'}), 412)
    now = outcome(fhir_get(client, path, token), 200)
    assert now["participant"][0]["actor"]["display"] == "Dr Rossi" and now["status"] == "booked"
    outcome(fhir_put(client, path, token, dict(second, id="another")), 422)
    assert outcome(fhir_put(client, path, token, second), 200)["status"] == "cancelled"


def test_an_app_changes_only_what_it_wrote(client, token):
    bundle = outcome(fhir_get(client, "/fhir/Appointment", token, _count=100), 200)
    others = [e["resource"] for e in bundle["entry"] if e["resource"]["meta"].get("source", "").endswith("/rdv-facile")]
    outcome(client.delete(f"/fhir/Appointment/{others[0]['id']}", headers=auth(token)), 403)
    outcome(fhir_put(client, f"/fhir/Appointment/{others[0]['id']}", token, appointment()), 403)
    mine = outcome(fhir_post(client, "/fhir/Appointment", token, appointment()), 201)
    assert client.delete(f"/fhir/Appointment/{mine['id']}", headers=auth(token)).status_code == 204
    outcome(fhir_get(client, f"/fhir/Appointment/{mine['id']}", token), 404)
    measure = outcome(fhir_post(client, "/fhir/Observation", token, weight()), 201)
    outcome(client.delete(f"/fhir/Observation/{measure['id']}", headers=auth(token)), 403)  # no .d granted


def test_scopes_decide_each_interaction(client, records):
    reader = smart_token(client, "launch/patient patient/Observation.rs")
    outcome(fhir_get(client, "/fhir/Observation", reader, _count=1), 200)
    denied = fhir_post(client, "/fhir/Observation", reader, weight())
    outcome(denied, 403)
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    outcome(fhir_get(client, "/fhir/DocumentReference", reader), 403)
    outcome(fhir_get(client, "/fhir/Appointment", reader), 403)


def test_a_granular_scope_shows_only_its_category(client, records):
    vitals = smart_token(client, "launch/patient patient/Observation.rs?category=vital-signs")
    bundle = outcome(fhir_get(client, "/fhir/Observation", vitals, _count=100), 200)
    categories = {e["resource"]["category"][0]["coding"][0]["code"] for e in bundle["entry"]}
    assert categories == {"vital-signs"}
    steps = outcome(fhir_get(client, "/fhir/Observation", vitals, code="55423-8"), 200)
    assert not steps.get("entry")


def test_a_transaction_bundle_is_all_or_nothing(client, token):
    before = outcome(fhir_get(client, "/fhir/Observation", token, code="8867-4", _count=100), 200)
    rate = heart_rate()
    bad = json.loads(json.dumps(rate))
    bad["valueQuantity"]["value"] = 640
    batch = transaction(rate, bad)
    refused = outcome(fhir_post(client, "/fhir", token, batch), 422)
    assert any("Bundle.entry[1]" in e for issue in refused["issue"] for e in issue.get("expression", []))
    same = outcome(fhir_get(client, "/fhir/Observation", token, code="8867-4", _count=100), 200)
    assert len(same["entry"]) == len(before["entry"])
    batch["entry"][1]["resource"] = rate
    applied = outcome(fhir_post(client, "/fhir", token, batch), 200)
    assert applied["type"] == "transaction-response"
    assert [e["response"]["status"] for e in applied["entry"]] == ["201 Created", "201 Created"]
    after = outcome(fhir_get(client, "/fhir/Observation", token, code="8867-4", _count=100), 200)
    assert len(after["entry"]) == len(before["entry"]) + 2


def test_a_large_document_goes_to_s3_behind_a_presigned_url(client, token, documents_bucket):
    import base64

    import boto3
    content = b"%PDF-1.4 " + b"x" * 200_000
    document = {"resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
                "description": "Bilan complet", "content": [{"attachment": {
                    "contentType": "application/pdf", "title": "bilan.pdf",
                    "data": base64.b64encode(content).decode()}}]}
    created = outcome(fhir_post(client, "/fhir/DocumentReference", token, document), 201)
    attachment = created["content"][0]["attachment"]
    assert "data" not in attachment and attachment["size"] == len(content)
    assert "X-Amz-Signature=" in attachment["url"] and "X-Amz-Expires=300" in attachment["url"]
    key = attachment["url"].split(f"/{settings.documents_bucket}/")[1].split("?")[0]
    stored = boto3.client("s3", region_name=settings.region).get_object(Bucket=settings.documents_bucket, Key=key)
    assert stored["Body"].read() == content


def _stored_keys():
    import boto3
    listed = boto3.client("s3", region_name=settings.region).list_objects_v2(Bucket=settings.documents_bucket)
    return {entry["Key"] for entry in listed.get("Contents", [])}


def test_a_replaced_or_deleted_document_leaves_no_content_behind(client, records, documents_bucket):
    """Health data the record no longer holds must not linger in S3: the content of a replaced
    version goes when the new one is written, all of it when the document is deleted."""
    token = smart_token(client, READ_ALL + " patient/DocumentReference.cud")
    created = outcome(fhir_post(client, "/fhir/DocumentReference", token, pdf_document(200_000)), 201)
    first = _stored_keys()
    assert len(first) == 1
    path = f"/fhir/DocumentReference/{created['id']}"
    stale = fhir_put(client, path, token, dict(pdf_document(150_000), id=created["id"]), **{"If-Match": 'W/"9"'})
    outcome(stale, 412)
    assert _stored_keys() == first, "a refused update stored or removed content"
    replaced = fhir_put(client, path, token, dict(pdf_document(150_000, "v2.pdf"), id=created["id"]),
                        **{"If-Match": 'W/"1"'})
    assert outcome(replaced, 200)["meta"]["versionId"] == "2"
    second = _stored_keys()
    assert len(second) == 1 and not second & first, "the replaced version's content is still stored"
    assert client.delete(path, headers=auth(token)).status_code == 204
    assert _stored_keys() == set(), "the deleted document's content is still stored"


def test_a_deleted_document_stays_deleted_when_s3_fails_to_remove_its_content(client, records, documents_bucket,
                                                                               monkeypatch):
    """The record's change stands; the content left behind is logged, not turned into a 500."""
    from botocore.exceptions import ClientError

    import app
    token = smart_token(client, READ_ALL + " patient/DocumentReference.cud")
    created = outcome(fhir_post(client, "/fhir/DocumentReference", token, pdf_document(200_000)), 201)
    s3 = app.fhir_service.documents.client

    def unavailable(**_):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "DeleteObject")
    monkeypatch.setattr(s3, "delete_object", unavailable)
    path = f"/fhir/DocumentReference/{created['id']}"
    assert client.delete(path, headers=auth(token)).status_code == 204
    outcome(fhir_get(client, path, token), 404)


def test_a_transaction_too_large_for_one_dynamodb_transaction_is_413_and_writes_nothing(client, token):
    """Each document is small enough to sit inline, but together they exceed what DynamoDB takes in
    one transaction (4 MB): the app is told to split the batch, and nothing is written."""
    import base64
    before = outcome(fhir_get(client, "/fhir/DocumentReference", token, _count=100), 200)
    chunk = base64.b64encode(b"x" * 60_000).decode()
    document = {"resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                "content": [{"attachment": {"contentType": "text/plain", "data": chunk}},
                            {"attachment": {"contentType": "text/plain", "data": chunk}}]}
    batch = transaction(*[document] * 30)
    refused = outcome(fhir_post(client, "/fhir", token, batch), 413)
    assert "several" in refused["issue"][0]["diagnostics"]
    after = outcome(fhir_get(client, "/fhir/DocumentReference", token, _count=100), 200)
    assert len(after["entry"]) == len(before["entry"])


def test_withdrawn_consent_or_suspended_app_is_refused_at_the_next_call(client, token, reviewer_token):
    assert fhir_get(client, "/fhir/Observation", token, _count=1).status_code == 200
    cookie = session_cookie(client, "demo-alice")
    assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
    refused = fhir_get(client, "/fhir/Observation", token, _count=1)
    outcome(refused, 401)
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    log = client.get("/me/access-log", headers={"Cookie": cookie}).json_body
    assert [e["outcome"] for e in log["entries"][:2]] == ["refused", "allowed"]
    assert log["entries"][0]["app_name"] == "Bac à sable développeurs"


def test_hidden_documents_are_invisible_to_every_app(client, token):
    cookie = session_cookie(client, "demo-alice")
    documents = client.get("/me/documents", headers={"Cookie": cookie}).json_body["documents"]
    target = documents[0]["id"]
    hide = client.put(f"/me/documents/{target}/visibility", body=json.dumps({"hidden": True}),
                      headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert hide.status_code == 200
    outcome(fhir_get(client, f"/fhir/DocumentReference/{target}", token), 404)
    bundle = outcome(fhir_get(client, "/fhir/DocumentReference", token, _count=100), 200)
    assert target not in {e["resource"]["id"] for e in bundle["entry"]}
    bad = client.put(f"/me/documents/{target}/visibility", body=json.dumps({"hidden": "yes"}),
                     headers={"Cookie": cookie, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json_body["error"]["code"] == "bad_request"


def test_the_access_log_pages_and_filters_by_app(client, token):
    for _ in range(3):
        fhir_get(client, "/fhir/Appointment", token, _count=1)
    cookie = session_cookie(client, "demo-alice")
    page = client.get("/me/access-log?limit=2&app=demo-sandbox", headers={"Cookie": cookie}).json_body
    assert len(page["entries"]) == 2 and page["next"]
    assert page["entries"][0]["interaction"] == "search" and page["entries"][0]["resource_type"] == "Appointment"
    rest = client.get(f"/me/access-log?limit=50&app=demo-sandbox&cursor={page['next']}",
                      headers={"Cookie": cookie}).json_body
    assert len(rest["entries"]) == 1 and rest["next"] is None
    assert client.get("/me/access-log", headers={}).status_code == 401
    assert client.get("/me/access-log?cursor=%%%", headers={"Cookie": cookie}).status_code == 400
