"""An independent OAuth client library (Authlib's requests client, as a real app would use) runs
discovery, authorization with PKCE through the consent form, and the token exchange, over HTTP."""
import jwt
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.helpers.oauth import submit

pytestmark = pytest.mark.e2e
REDIRECT = "http://127.0.0.1:9999/callback"


def test_a_standard_client_gets_a_working_token(server):
    base, _ = server
    config = requests.get(f"{base}/fhir/.well-known/smart-configuration", timeout=10).json()
    client = OAuth2Session("demo-sandbox", redirect_uri=REDIRECT, code_challenge_method="S256",
                           scope="launch/patient patient/Observation.rs patient/Appointment.rs")
    verifier = generate_token(48)
    url, state = client.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                                 aud=f"{base}/fhir")

    browser = requests.Session()  # the citizen's browser
    picker = browser.get(url, timeout=10)
    assert picker.status_code == 200 and "Qui êtes-vous" in picker.text
    for_whom = submit(browser, base, picker.text)  # Alice, the picker's first person, represents her children
    assert for_whom.status_code == 200 and "Pour qui ?" in for_whom.text
    consent_page = submit(browser, base, for_whom.text)  # for herself, the first choice
    assert consent_page.status_code == 200 and 'name="decision"' in consent_page.text
    answer = submit(browser, base, consent_page.text, decision="allow")
    assert answer.status_code == 302
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT) and f"state={state}" in callback

    token = client.fetch_token(config["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)
    assert set(token["scope"].split()) == {"launch/patient", "patient/Observation.rs", "patient/Appointment.rs"}
    jwks = requests.get(config["jwks_uri"], timeout=10).json()
    key = jwt.PyJWKClient(config["jwks_uri"]).get_signing_key_from_jwt(token["access_token"]).key
    claims = jwt.decode(token["access_token"], key, algorithms=["ES256"], audience=f"{base}/fhir",
                        issuer=config["issuer"])
    assert claims["patient"] == token["patient"] and claims["client_id"] == "demo-sandbox"
    assert jwks["keys"][0]["kid"] == jwt.get_unverified_header(token["access_token"])["kid"]

    replay = requests.post(config["token_endpoint"], timeout=10, data={
        "grant_type": "authorization_code", "code": dict(p.split("=") for p in callback.split("?")[1].split("&"))["code"],
        "redirect_uri": REDIRECT, "client_id": "demo-sandbox", "code_verifier": verifier})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
