"""Malformed OAuth requests get an OAuth error or an error page: never a 500."""
import pytest

from tests.helpers.oauth import offline_tokens, refresh

BODIES = ["", "grant_type=", "grant_type=authorization_code", "grant_type=refresh_token&refresh_token=" + "x" * 5000,
          "grant_type=authorization_code&code=a.b.c&client_id=demo-sandbox&code_verifier=x",
          "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=a.b.c&grant_type=authorization_code&code=x",
          "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOjEyM30.x&grant_type=authorization_code",
          "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJkZW1vLXNhbmRib3giLCJleHAiOiJ4In0.x&grant_type=authorization_code",
          "\xff\xfe", "grant_type=authorization_code&grant_type=refresh_token"]


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/authorize"])
@pytest.mark.parametrize("body", BODIES)
def test_malformed_posts_never_reach_a_500(client, path, body):
    r = client.post(path, body=body.encode("latin-1"), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code < 500, r.body


@pytest.mark.parametrize("query", ["", "response_type=code", "client_id=demo-sandbox&redirect_uri=x",
                                   "client_id=" + "x" * 3000,
                                   "client_id=demo-sandbox&redirect_uri=http://127.0.0.1:9999/callback&response_type=code&scope=%00"])
def test_malformed_authorization_requests_never_reach_a_500(client, query):
    r = client.get("/oauth/authorize?" + query)
    assert r.status_code < 500, r.body


# Characters Authlib will not quote in an error description, in the redirect URI or response type.
@pytest.mark.parametrize("query", ["response_type=code&client_id=demo-sandbox&redirect_uri=http://evil.example/%22&state=s",
                                   "response_type=code&client_id=demo-sandbox&redirect_uri=http://evil.example/%5C",
                                   "response_type=code&client_id=demo-sandbox&redirect_uri=http://%C3%A9vil.example/",
                                   "response_type=code&client_id=demo-sandbox&redirect_uri=%FF",
                                   "response_type=code%22&client_id=demo-sandbox&redirect_uri=http://127.0.0.1:9999/callback",
                                   "response_type=cod%C3%A9&client_id=demo-sandbox&redirect_uri=http://127.0.0.1:9999/callback"])
def test_unquotable_authorization_requests_get_an_error_page(client, query):
    r = client.get("/oauth/authorize?" + query)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/html"), r.body
    assert "Location" not in r.headers, "nothing about such a request can be trusted enough to redirect"


@pytest.mark.parametrize("scope", ['patient/Obs"ervation.rs', "patient/Observation.rs\\",
                                   "patient/Observation.rs?category=\u00e9"])
def test_a_refresh_scope_with_unquotable_characters_is_invalid_scope(client, scope):
    tokens = offline_tokens(client)
    answer = refresh(client, tokens["refresh_token"], scope=scope)
    assert answer.status_code == 400 and answer.json_body["error"] == "invalid_scope", answer.body
