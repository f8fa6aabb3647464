"""The FHIR API as an app meets it: a real SMART token (through the consent page, as a citizen
would give it), and FHIR R4 validation of responses with fhirclient's R4 (4.0.1) models."""
import json
from urllib.parse import urlencode

from fhirclient.models.fhirelementfactory import FHIRElementFactory

from tests.helpers.oauth import authorize_url, cookie_of, exchange, pkce, redirect_params, signed_in, submitted_fields

FHIR_JSON = "application/fhir+json"


def smart_token(client, scope, patient="demo-alice", untick=(), for_whom=None, **params):
    """The token response for `demo-sandbox` after `patient` consented to `scope` (for themselves,
    or for `for_whom`, a person they represent, named as the "for whom?" page names them)."""
    verifier, challenge = pkce()
    page = signed_in(client, authorize_url(challenge, login_hint=patient, scope=scope, prompt="consent", **params),
                     for_whom=for_whom)
    assert page.status_code == 200, page.body
    fields = submitted_fields(page.body.decode(), untick)
    response = client.post("/oauth/authorize", body=urlencode(fields + [("decision", "allow")]), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(page)})
    token = exchange(client, redirect_params(response)["code"], verifier)
    assert token.status_code == 200, token.body
    return token.json_body


def auth(token, **headers):
    return {"Authorization": f"Bearer {token['access_token']}", **headers}


def fhir_get(client, path, token, **params):
    return client.get(path + ("?" + urlencode(params, doseq=True) if params else ""), headers=auth(token))


def fhir_post(client, path, token, body, **headers):
    return client.post(path, body=json.dumps(body), headers=auth(token, **{"Content-Type": FHIR_JSON, **headers}))


def fhir_put(client, path, token, body, **headers):
    return client.put(path, body=json.dumps(body), headers=auth(token, **{"Content-Type": FHIR_JSON, **headers}))


def assert_r4(resource):
    """Parse with the R4 models (strict): unknown elements, wrong types or missing required elements
    raise. Returns the resource."""
    FHIRElementFactory.instantiate(resource["resourceType"], resource)
    return resource


def outcome(response, status):
    """A FHIR answer as a client meets it: the status expected, FHIR JSON, and valid R4 (strict);
    returns the resource."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    return assert_r4(response.json_body)
