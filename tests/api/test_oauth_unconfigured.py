"""A deployment whose signing key wrap is missing answers every OAuth endpoint with 503 in the
OAuth dialect, never a 500 (the token endpoint used to reach for the missing server first)."""
import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.catalog.referential import load_referential
from chalicelib.oauth import routes as oauth_routes

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def unconfigured():
    app = Chalice(app_name="unconfigured")
    app.register_blueprint(oauth_routes.create_blueprint(None, None, None, load_referential(), "https://testserver",
                                                         secure_cookies=True))
    with Client(app) as client:
        yield client.http


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_the_token_endpoints_say_unavailable(unconfigured, path):
    answer = unconfigured.post(path, headers=FORM, body="grant_type=authorization_code&code=x")
    assert answer.status_code == 503
    assert answer.json_body["error"] == "temporarily_unavailable"


def test_the_keys_and_the_authorization_endpoint_say_unavailable(unconfigured):
    assert unconfigured.get("/oauth/jwks").status_code == 503
    assert unconfigured.get("/oauth/authorize?client_id=demo-sandbox").status_code == 503
