"""online_access (SMART App Launch 2.x): a refresh token that lives only as long as the citizen's
sign-in session at the broker; offline_access outlives it until the consent ends."""
from datetime import timedelta

from tests.helpers.oauth import (SANDBOX, authorize_url, consent, cookie_of, exchange, form_post, pkce, signed_in,
                                 redirect_params, refresh)

ONLINE = "launch/patient patient/Observation.rs online_access"


def tokens_and_cookie(client, scope=ONLINE):
    verifier, challenge = pkce()
    response, page = consent(client, challenge, scope=scope)
    token = exchange(client, redirect_params(response)["code"], verifier)
    assert token.status_code == 200, token.body
    return token.json_body, cookie_of(page)


def end_session(cookie):
    import app as app_module
    app_module.citizen_sessions.end(cookie.split("=", 1)[1])


def test_online_access_gives_a_refresh_token_that_works_while_the_session_lives(client):
    tokens, _ = tokens_and_cookie(client)
    assert tokens["refresh_token"] and "online_access" in tokens["scope"].split()
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200, first.body
    second = refresh(client, first.json_body["refresh_token"])
    assert second.status_code == 200 and second.json_body["refresh_token"]


def test_signing_out_ends_online_access(client):
    tokens, cookie = tokens_and_cookie(client)
    rotated = refresh(client, tokens["refresh_token"]).json_body
    end_session(cookie)
    refused = refresh(client, rotated["refresh_token"])
    assert refused.status_code == 400 and refused.json_body["error"] == "invalid_grant"
    answer = form_post(client, "/oauth/introspect", token=rotated["refresh_token"], client_id=SANDBOX)
    assert answer.json_body == {"active": False}


def test_online_access_ends_when_the_session_expires(client, monkeypatch):
    import app as app_module
    tokens, _ = tokens_and_cookie(client)
    later = app_module.oauth_server.clock() + timedelta(minutes=31)
    monkeypatch.setattr(app_module.oauth_server, "clock", lambda: later)
    refused = refresh(client, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json_body["error"] == "invalid_grant"


def test_another_citizen_in_the_same_browser_ends_online_access(client):
    tokens, cookie = tokens_and_cookie(client)
    switched = signed_in(client, authorize_url(pkce()[1], login_hint="demo-karim"), headers={"Cookie": cookie})
    assert switched.status_code == 200
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"


def test_offline_access_outlives_the_session(client):
    tokens, cookie = tokens_and_cookie(client, scope="launch/patient patient/Observation.rs offline_access")
    end_session(cookie)
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_online_and_offline_together_is_offline(client):
    tokens, cookie = tokens_and_cookie(client, scope=ONLINE + " offline_access")
    end_session(cookie)
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_online_access_needs_approval(client):
    # rdv-facile was approved for neither offline nor online access.
    response = client.get(authorize_url(pkce()[1], client_id="rdv-facile",
                                        redirect_uri="https://rdvfacile.example.org/oauth/callback",
                                        scope="patient/Appointment.rs online_access"))
    assert redirect_params_of(response)["error"] == "invalid_scope"


def redirect_params_of(response):
    from urllib.parse import parse_qs, urlsplit
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_discovery_announces_online_access(client):
    smart = client.get("/fhir/.well-known/smart-configuration").json_body
    assert "permission-online" in smart["capabilities"] and "online_access" in smart["scopes_supported"]


def test_online_access_costs_one_more_read_per_refresh(client):
    from chalicelib.observability import dynamodb_usage
    calls = {}
    for scope in ("launch/patient patient/Observation.rs offline_access", ONLINE):
        tokens, _ = tokens_and_cookie(client, scope=scope)
        with dynamodb_usage() as usage:
            assert refresh(client, tokens["refresh_token"]).status_code == 200
        calls[scope.split()[-1]] = [c.operation for c in usage.calls]
    print(calls)
    assert len(calls["online_access"]) == len(calls["offline_access"]) + 1
