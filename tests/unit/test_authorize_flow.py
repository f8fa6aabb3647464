"""The authorization endpoint's flow, driven with Chalice Requests built from API Gateway events
(no HTTP, no browser): where an error goes (a page unless the redirect URI is verified), who sees
the sign-in and consent pages, and who gets a code without them."""
from typing import Dict, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from chalice.app import Request

from chalicelib.catalog.models import AppStatus
from chalicelib.config import settings
from chalicelib.consent.models import Consent
from chalicelib.grants import grant_key
from chalicelib.identity.citizens import DEMO_SIGN_IN, CitizenSessions
from chalicelib.oauth.authorize import AuthorizeFlow
from chalicelib.oauth.models import AuthorizationCodeItem
from chalicelib.oauth.server import BrokerServer
from tests.helpers.oauth import REDIRECT, pkce
from tests.helpers.services import ALICE, SANDBOX, grant_consent, sandbox_status

SCOPE = "launch/patient patient/Observation.rs"


@pytest.fixture
def sessions(fixed_clock):
    return CitizenSessions(fixed_clock)


@pytest.fixture
def flow(consents, sessions, referential, fixed_clock):
    server = BrokerServer(None, settings.issuer, settings.fhir_base_url, fixed_clock, consents)
    return AuthorizeFlow(server, consents, sessions, referential, settings.fhir_base_url, demo_logins=True)


@pytest.fixture
def signed_in(sessions):
    """Alice's session id, signed in with the demo picker."""
    session_id, _ = sessions.sign_in(None, ALICE, signed_in_by=DEMO_SIGN_IN)
    return session_id


def params(**overrides) -> Dict[str, str]:
    """A valid authorization request of the sandbox app; an override of None leaves it out."""
    values = {"response_type": "code", "client_id": SANDBOX, "redirect_uri": REDIRECT, "scope": SCOPE,
              "state": "st-123", "aud": settings.fhir_base_url, "code_challenge": pkce()[1],
              "code_challenge_method": "S256", **overrides}
    return {name: value for name, value in values.items() if value is not None}


def request(query: Optional[Dict[str, str]] = None, form: Optional[Dict[str, str]] = None) -> Request:
    """GET /oauth/authorize?query, or a POST of the form, as API Gateway hands it to Chalice."""
    headers = {"host": "testserver"}
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
    return Request({
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "headers": headers, "pathParameters": None, "stageVariables": None,
        "requestContext": {"httpMethod": "POST" if form is not None else "GET", "resourcePath": "/oauth/authorize"},
        "body": urlencode(form) if form is not None else None})


def redirected(outcome) -> Dict[str, str]:
    assert outcome.redirect is not None and outcome.template is None, outcome
    assert outcome.redirect.startswith(REDIRECT + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(outcome.redirect).query).items()}


# -- errors: a page unless the redirect URI is the app's ------------------------------------------

@pytest.mark.parametrize("client_id", ["no-such-app", "", "Not An Id!"])
def test_an_unknown_client_gets_an_error_page_never_a_redirect(flow, client_id):
    outcome = flow.handle(request(params(client_id=client_id)), None)
    assert outcome.redirect is None and outcome.template == "error.html" and outcome.status == 400


def test_a_redirect_uri_the_app_did_not_register_gets_an_error_page(flow):
    outcome = flow.handle(request(params(redirect_uri="https://attacker.example/callback")), None)
    assert outcome.redirect is None and outcome.template == "error.html"


def test_a_suspended_app_is_no_client_and_gets_an_error_page(flow):
    sandbox_status().update(actions=[AppStatus.status.set("suspended")])
    outcome = flow.handle(request(params()), None)
    assert outcome.redirect is None and outcome.template == "error.html"


def test_a_request_without_a_pkce_challenge_goes_back_to_the_app_with_invalid_request(flow):
    answer = redirected(flow.handle(request(params(code_challenge=None)), None))
    assert answer["error"] == "invalid_request" and answer["state"] == "st-123"
    assert answer["iss"] == settings.issuer and "code" not in answer


@pytest.mark.parametrize("overrides", [{"state": None}, {"aud": "https://elsewhere.example/fhir"},
                                       {"code_challenge_method": "plain"}])
def test_a_request_the_flow_cannot_trust_goes_back_with_invalid_request(flow, overrides):
    assert redirected(flow.handle(request(params(**overrides)), None))["error"] == "invalid_request"


# -- pages and codes ----------------------------------------------------------------------------

def test_a_citizen_not_signed_in_sees_the_sign_in_page(flow):
    outcome = flow.handle(request(params()), None)
    assert outcome.template == "login.html" and outcome.redirect is None and outcome.session_id


def test_a_signed_in_citizen_with_an_active_consent_gets_a_code_without_the_consent_page(flow, consents,
                                                                                        signed_in):
    consent = grant_consent(consents, ALICE, "patient/Observation.rs")
    outcome = flow.handle(request(params()), signed_in)
    answer = redirected(outcome)
    assert answer["state"] == "st-123" and answer["iss"] == settings.issuer
    code = AuthorizationCodeItem.get(grant_key("code", answer["code"]))
    assert (code.patient_id, code.client_id, int(code.consent_generation)) == (ALICE, SANDBOX, consent.generation)
    assert code.scope.split() == ["patient/Observation.rs", "launch/patient"]
    assert outcome.session_id == signed_in


def test_a_signed_in_citizen_without_a_consent_sees_the_consent_page(flow, signed_in):
    outcome = flow.handle(request(params()), signed_in)
    assert outcome.template == "consent.html" and outcome.redirect is None
    assert [item["scope"] for item in outcome.context["requested"]] == ["patient/Observation.rs"]


def test_a_consent_that_covers_less_than_asked_shows_the_consent_page_again(flow, consents, signed_in):
    grant_consent(consents, ALICE, "patient/Observation.rs")
    outcome = flow.handle(request(params(scope=SCOPE + " patient/Appointment.rs")), signed_in)
    assert outcome.template == "consent.html"


def test_prompt_consent_shows_the_consent_page_even_with_an_active_consent(flow, consents, signed_in):
    grant_consent(consents, ALICE, "patient/Observation.rs")
    assert flow.handle(request(params(prompt="consent")), signed_in).template == "consent.html"


# -- the citizen's decision -------------------------------------------------------------------

def consent_form(flow, session_id, decision, **fields):
    """The consent page's form as the citizen submits it, with this session's CSRF token."""
    page = flow.handle(request(params()), session_id)
    carried = dict(page.context["params"])
    return {**carried, "csrf_token": page.context["csrf_token"], "decision": decision,
            "scope": "patient/Observation.rs", **fields}


def test_allowing_records_the_consent_and_issues_a_code(flow, signed_in):
    answer = redirected(flow.handle(request(form=consent_form(flow, signed_in, "allow", duration="30")), signed_in))
    consent = Consent.get(ALICE, SANDBOX)
    assert consent.status == "active" and consent.scopes["data"] == ["patient/Observation.rs"]
    assert int(AuthorizationCodeItem.get(grant_key("code", answer["code"])).consent_generation) == consent.generation


def test_denying_goes_back_with_access_denied_and_records_nothing(flow, consents, signed_in):
    answer = redirected(flow.handle(request(form=consent_form(flow, signed_in, "deny")), signed_in))
    assert answer["error"] == "access_denied" and "code" not in answer
    assert consents.find(ALICE, SANDBOX) is None


def test_a_decision_with_another_sessions_csrf_token_is_refused_with_a_page(flow, consents, signed_in):
    form = consent_form(flow, signed_in, "allow", csrf_token="not-this-sessions")
    outcome = flow.handle(request(form=form), signed_in)
    assert outcome.status == 403 and outcome.template == "error.html" and outcome.redirect is None
    assert consents.find(ALICE, SANDBOX) is None
