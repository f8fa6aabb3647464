"""Publishers and reviewers sign in to the portal through ProConnect (OpenID Connect), against a
provider the tests start on 127.0.0.1: a publisher is the organisation of the SIRET the provider
returns (at its userinfo endpoint, as a signed JWT), a reviewer is on the allow-list, anyone else
is refused; the demo picker does not exist outside the local and test stages."""
import dataclasses
import http.client
from urllib.parse import urlencode, urlsplit

import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib import edge
from chalicelib.config import settings
from chalicelib.identity.portal import PortalSessions, portal_sign_in_for
from chalicelib.portal import routes as portal_routes
from tests.api.upstream_provider import CLIENT_ID, CLIENT_SECRET, TestProvider
from tests.helpers.pages import cookie_pair, html

CALLBACK = "https://testserver/portal/signin/proconnect/callback"
ORGANISATION = "55208131766522"


@pytest.fixture
def provider():
    with TestProvider() as running:
        yield running


@pytest.fixture
def portal(demo_apps, provider, tmp_path):
    import app as app_module
    secret = tmp_path / "proconnect-secret"
    secret.write_text(CLIENT_SECRET)
    deployed = dataclasses.replace(settings, stage="dev", portal_oidc={
        "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret_file": str(secret),
        "reviewers": [{"email": "claire.dubois@sante.gouv.example", "siret": "11000601200010"}]})
    sessions = PortalSessions(app_module.utc_now)
    test_app = Chalice(app_name="portal-signin-test")
    test_app.register_middleware(edge.log_request, "http")
    test_app.register_blueprint(portal_routes.create_blueprint(
        sessions, app_module.publisher_service, app_module.review_service, None, app_module.referential, None,
        deployed, portal_sign_in_for(deployed, sessions)))
    with Client(test_app, stage_name="local") as client:
        yield client.http


def through_provider(portal, next_path="/portal"):
    start = portal.get(f"/portal/signin/proconnect?{urlencode({'next': next_path})}")
    assert start.status_code == 302, start.body
    cookie = cookie_pair(start, "mes_portal")
    parts = urlsplit(start.headers["Location"])
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    back = connection.getresponse().getheader("Location")
    connection.close()
    assert back.startswith(CALLBACK + "?")
    return portal.get(back[len("https://testserver"):], headers={"Cookie": cookie}), cookie


def test_a_publisher_is_the_organisation_of_the_siret_proconnect_returns(portal, provider):
    provider.userinfo = {"siret": ORGANISATION, "given_name": "Inès", "usual_name": "Moreau",
                         "email": "ines@nouvelle-sante.example"}
    answer, first = through_provider(portal, "/portal/apps")
    assert answer.status_code == 303 and answer.headers["Location"] == "/portal/apps"
    cookie = cookie_pair(answer, "mes_portal")
    assert cookie != first and "Secure" in answer.headers["Set-Cookie"]
    page = portal.get("/portal/apps", headers={"Cookie": cookie})
    assert page.status_code == 200 and f"SIRET {ORGANISATION}" in html(page) and "Inès Moreau" in html(page)
    assert portal.get("/portal/review", headers={"Cookie": cookie}).status_code == 403


def test_a_reviewer_is_on_the_allow_list_and_nobody_else_gets_a_role(portal, provider):
    provider.userinfo = {"siret": "11000601200010", "email": "Claire.Dubois@sante.gouv.example"}
    answer, _ = through_provider(portal)
    queue = portal.get("/portal/review", headers={"Cookie": cookie_pair(answer, "mes_portal")})
    assert queue.status_code == 200 and "Dossiers à instruire" in html(queue)

    provider.userinfo = {"email": "someone@example.org"}  # no organisation, not on the list
    refused, _ = through_provider(portal)
    assert refused.status_code == 403 and "Set-Cookie" not in refused.headers

    provider.userinfo = {"siret": ORGANISATION}
    provider.tamper["claims"] = {"sub": "someone-else"}  # userinfo about another person than the ID token
    mixed, _ = through_provider(portal)
    assert mixed.status_code == 502


def test_the_demo_picker_is_not_there_in_a_deployed_stage(portal):
    page = portal.get("/portal/sign-in")
    assert "S'identifier avec ProConnect" in html(page) and 'name="person"' not in html(page)
    assert portal.post("/portal/sign-in", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                   "Cookie": cookie_pair(page, "mes_portal")},
                       body="csrf_token=x&person=reviewer:commission").status_code == 403
