"""Regression tests from a security review of the FHIR API and the pages: each was a real bug
(an internal id in S3 URLs, unchecked categories poisoning every app's search, content stored
after withdrawal, 500s on calendar edges, a non-ASCII If-Match, a trailing newline in `next`)."""
import base64
import json

import pytest

from chalicelib.config import settings
from tests.helpers.fhir import READ_ALL, WRITE_ALL, pdf_document, weight
from tests.helpers.oauth import cookie_of
from tests.helpers.pages import session_cookie
from tests.helpers.smart import auth, fhir_get, fhir_post, fhir_put, smart_token


@pytest.fixture
def token(client, records):
    return smart_token(client, WRITE_ALL)


def appointment(start="2026-12-10T09:30:00+01:00"):
    """A bare appointment: no end, no service type."""
    return {"resourceType": "Appointment", "status": "booked", "start": start,
            "participant": [{"actor": {"display": "Dr X"}, "status": "accepted"}]}


@pytest.mark.parametrize("date", ["9999-12", "9999-12-31", "ge9999-12-31", "9999-12-31T23:59:59Z",
                                  "0001-01-01T00:00:00+01:00"])
def test_search_date_edge_is_4xx(client, token, date):
    response = fhir_get(client, "/fhir/Observation", token, date=date)
    assert response.status_code < 500


@pytest.mark.parametrize("when", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_create_observation_extreme_datetime_is_4xx(client, token, when):
    response = fhir_post(client, "/fhir/Observation", token, weight(when=when))
    assert response.status_code < 500


def test_create_appointment_extreme_datetime_is_4xx(client, token):
    response = fhir_post(client, "/fhir/Appointment", token, appointment("9999-12-31T23:30:00-01:00"))
    assert response.status_code < 500


def test_if_match_superscript_digit_is_412(client, token):
    created = fhir_post(client, "/fhir/Appointment", token, appointment())
    assert created.status_code == 201
    rid = created.json_body["id"]
    body = {**appointment(), "id": rid}
    response = fhir_put(client, f"/fhir/Appointment/{rid}", token, body, **{"If-Match": 'W/"\u00b2"'})
    assert response.status_code == 412


def large_document():
    """A document whose content goes to S3 (over the inline limit)."""
    return pdf_document(100_000, title=None)


def test_presigned_urls_do_not_reveal_the_internal_patient_id(client, token, documents_bucket):
    document = large_document()
    created = fhir_post(client, "/fhir/DocumentReference", token, document)
    assert created.status_code == 201
    url = created.json_body["content"][0]["attachment"]["url"]
    assert "demo-alice" not in url, "the internal citizen id reaches the app in the S3 URL"


def _doc(category):
    return {"resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
            "category": category,
            "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"hi").decode()}}]}


def _strict(raw):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(raw, parse_constant=refuse)


def test_every_category_is_checked_not_only_the_first(client, token):
    from chalicelib.terminology import load_terminology
    system = load_terminology(settings.catalog_dir).systems["document_category"]
    valid = {"coding": [{"system": system, "code": "report"}]}
    created = fhir_post(client, "/fhir/DocumentReference", token, _doc([valid, "junk", {"evil": [1, 2]}]))
    assert created.status_code == 422, "category[1:] must be checked like category[0]"
    expressions = {e for issue in created.json_body["issue"] for e in issue.get("expression", [])}
    assert {"DocumentReference.category[1]", "DocumentReference.category[2]"} <= expressions
    with_nan = client.post("/fhir/DocumentReference", body='{"resourceType":"DocumentReference","status":"current",'
                           '"type":{"coding":[{"system":"http://loinc.org","code":"11502-2"}]},'
                           '"category":[' + json.dumps(valid) + ',NaN],'
                           '"content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}',
                           headers=auth(token, **{"Content-Type": "application/fhir+json"}))
    assert with_nan.status_code == 400, "NaN is not JSON"


def test_search_after_poison_is_valid_json(client, token):
    from chalicelib.terminology import load_terminology
    system = load_terminology(settings.catalog_dir).systems["document_category"]
    valid = {"coding": [{"system": system, "code": "report"}]}
    client.post("/fhir/DocumentReference", body='{"resourceType":"DocumentReference","status":"current",'
                '"type":{"coding":[{"system":"http://loinc.org","code":"11502-2"}]},'
                '"category":[' + json.dumps(valid) + ',NaN],'
                '"content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}',
                headers=auth(token, **{"Content-Type": "application/fhir+json"}))
    other = smart_token(client, READ_ALL)  # another token; same effect for any app
    search = fhir_get(client, "/fhir/DocumentReference", other, _count=100)
    _strict(search.body)


@pytest.mark.parametrize("dates", [["ge2026-02-01", "le2026-01-01"], ["gt2026-01-01", "lt2026-01-01"]])
def test_empty_date_range_is_an_empty_bundle_not_500(client, token, dates):
    response = fhir_get(client, "/fhir/Observation", token, date=dates)
    assert response.status_code == 200 and response.json_body.get("entry") == []


def test_a_withdrawn_consent_stores_no_document_content(client, token, documents_bucket):
    import boto3
    cookie = session_cookie(client, "demo-alice")
    assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
    document = large_document()
    refused = fhir_post(client, "/fhir/DocumentReference", token, document)
    assert refused.status_code == 401
    listed = boto3.client("s3", region_name=settings.region).list_objects_v2(Bucket=settings.documents_bucket)
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert keys == [], "content was stored in S3 although the consent was withdrawn"


def test_sign_in_next_with_trailing_newline(client, records):
    page = client.get("/account/sign-in")
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode()).group(1)
    from urllib.parse import urlencode
    response = client.post("/account/sign-in", body=urlencode({"csrf_token": csrf, "login_hint": "demo-alice",
                                                               "next": "/account/consents\n"}),
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/account/consents"
