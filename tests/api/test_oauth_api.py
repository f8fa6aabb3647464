"""The authorization server over HTTP: its published keys; SMART scopes as clients write them
(a granular category with its code system, as SMART App Launch 2 does) and narrowed at refresh."""
from urllib.parse import quote

import pytest

from tests.helpers.oauth import authorize_url, offline_tokens, pkce, redirect_params, refresh
from tests.helpers.smart import fhir_get, smart_token

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def test_the_broker_publishes_its_public_signing_key(client):
    response = client.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jwk-set+json"
    (key,) = response.json_body["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and key["kid"] and "d" not in key


def categories_of(bundle):
    return {entry["resource"]["category"][0]["coding"][0]["code"] for entry in bundle.get("entry", [])}


def test_a_category_scope_with_its_system_reads_that_category_only(client, records):
    scope = f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs"
    assert "%7C" in authorize_url("x", scope=scope)  # through the URL, `|` is percent-encoded once
    token = smart_token(client, f"launch/patient {scope}")
    assert token["scope"] == f"{scope} launch/patient", "granted as the client wrote it"
    vitals = fhir_get(client, "/fhir/Observation", token, _count=100)
    assert vitals.status_code == 200 and categories_of(vitals.json_body) == {"vital-signs"}
    steps = fhir_get(client, "/fhir/Observation", token, code="55423-8")  # an activity measure
    assert steps.status_code == 200 and not steps.json_body.get("entry")
    assert fhir_get(client, "/fhir/DocumentReference", token).status_code == 403


@pytest.mark.parametrize("scope, reason", [
    (f"patient/DocumentReference.rs?category={US_CORE_DOCUMENT_CATEGORY}|clinical-note", "code system"),
    (f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|astrology", "not a category of Observation"),
    (quote(f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs", safe="/?="), "percent-encoded"),
])
def test_a_category_in_another_system_or_unknown_goes_back_to_the_app_as_invalid_scope(client, scope, reason):
    response = client.get(authorize_url(pkce()[1], scope=f"launch/patient {scope}"))
    params = redirect_params(response)
    assert params["error"] == "invalid_scope" and params["state"] == "st-123"
    assert reason in params["error_description"]


def test_a_refresh_may_narrow_read_and_search_to_read_but_never_widen(client, records):
    first = offline_tokens(client, scope="launch/patient patient/Observation.rs offline_access")
    some = fhir_get(client, "/fhir/Observation", first, _count=1).json_body["entry"][0]["resource"]["id"]
    narrow = refresh(client, first["refresh_token"], scope="launch/patient patient/Observation.r offline_access")
    assert narrow.status_code == 200, narrow.body
    token = narrow.json_body
    assert token["scope"] == "patient/Observation.r launch/patient offline_access"
    assert fhir_get(client, f"/fhir/Observation/{some}", token).status_code == 200
    search = fhir_get(client, "/fhir/Observation", token)
    assert search.status_code == 403 and 'error="insufficient_scope"' in search.headers["WWW-Authenticate"]
    for wider in ("patient/Observation.crs", "patient/Observation.r patient/Appointment.rs",
                  "patient/Observation.r openid"):
        refused = refresh(client, token["refresh_token"], scope=wider)
        assert refused.status_code == 400 and refused.json_body["error"] == "invalid_scope", wider
    again = refresh(client, token["refresh_token"])  # without `scope`: what was granted (RFC 6749 §6)
    assert again.status_code == 200 and again.json_body["scope"] == first["scope"]


def test_a_refresh_may_narrow_to_a_category_and_a_category_grant_may_not_widen(client, records):
    first = offline_tokens(client, scope="launch/patient patient/Observation.rs offline_access")
    vitals = f"patient/Observation.rs?category={OBSERVATION_CATEGORY}|vital-signs"
    narrow = refresh(client, first["refresh_token"], scope=f"{vitals} offline_access")
    assert narrow.status_code == 200, narrow.body
    assert narrow.json_body["scope"] == f"{vitals} offline_access"
    bundle = fhir_get(client, "/fhir/Observation", narrow.json_body, _count=100)
    assert bundle.status_code == 200 and categories_of(bundle.json_body) == {"vital-signs"}
    unknown = refresh(client, narrow.json_body["refresh_token"], scope="patient/Observation.rs?category=astrology")
    assert unknown.status_code == 400 and unknown.json_body["error"] == "invalid_scope"

    only_vitals = offline_tokens(client, scope=f"launch/patient {vitals} offline_access")
    wider = refresh(client, only_vitals["refresh_token"], scope="patient/Observation.rs offline_access")
    assert wider.status_code == 400 and wider.json_body["error"] == "invalid_scope"
    same = refresh(client, only_vitals["refresh_token"], scope="patient/Observation.r?category=vital-signs")
    assert same.status_code == 200 and same.json_body["scope"] == "patient/Observation.r?category=vital-signs"
