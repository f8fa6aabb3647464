"""Citizen sign-in through an upstream OpenID Connect provider (FranceConnect in production),
against a provider the tests start on 127.0.0.1: the happy path, and the attacks it must refuse."""
import http.client
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from chalice import Chalice
from chalice.test import Client
from joserfc.jwk import ECKey

from chalicelib import edge
from chalicelib.config import settings
from chalicelib.consent import routes as consent_routes
from chalicelib.identity import routes as signin_routes
from chalicelib.identity.citizens import CitizenSessions
from chalicelib.identity.signin import CitizenDirectory, UpstreamSignIn, local_path, upstream_sign_in_for
from chalicelib.identity.upstream import UpstreamProvider
from chalicelib.identity.upstream_config import UpstreamConfig, UpstreamError
from chalicelib.oauth import routes as oauth_routes
from chalicelib.oauth.authorize import AuthorizeFlow
from chalicelib.grants import grant_key
from chalicelib.identity.models import SessionItem
from tests.api.upstream_provider import CLIENT_ID, CLIENT_SECRET, TestProvider
from tests.helpers.oauth import authorize_url, cookie_of, exchange, pkce, read_form, redirect_params

CALLBACK = "https://testserver/signin/franceconnect/callback"


class Clock:
    def __init__(self):
        self.shift = timedelta(0)

    def __call__(self):
        return datetime.now(timezone.utc) + self.shift


@pytest.fixture
def provider():
    with TestProvider() as running:
        yield running


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "fc-client-secret"
    path.write_text(CLIENT_SECRET + "\n")
    return path


def upstream_for(provider, secret_file, **overrides):
    spec = {"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret_file": str(secret_file),
            "scope": "openid given_name family_name", "acr_values": "eidas1", **overrides}
    return UpstreamProvider(UpstreamConfig.parse(spec, settings.public_base_url))


@pytest.fixture
def upstream(provider, secret_file):
    return upstream_for(provider, secret_file)


@pytest.fixture
def broker(demo_apps, upstream, clock):
    """The broker as deployed: demo sign-in off, the upstream provider configured."""
    with broker_for(upstream, clock) as client:
        yield client


@contextmanager
def broker_for(upstream, clock):
    import app as app_module
    sessions = CitizenSessions(clock)
    sign_in = UpstreamSignIn(upstream, sessions, CitizenDirectory(clock))
    flow = AuthorizeFlow(app_module.oauth_server, app_module.consent_service, sessions, app_module.referential,
                         settings.fhir_base_url, demo_logins=False, upstream_sign_in=True)
    test_app = Chalice(app_name="signin-test")
    test_app.register_middleware(edge.log_request, "http")
    test_app.register_blueprint(oauth_routes.create_blueprint(app_module.token_keys, app_module.oauth_server, flow,
                                                              app_module.referential, settings.issuer, True))
    test_app.register_blueprint(signin_routes.create_blueprint(sign_in, secure_cookies=True))
    test_app.register_blueprint(consent_routes.create_blueprint(app_module.consent_service, sessions))
    with Client(test_app, stage_name="local") as test_client:
        yield test_client.http


def session_of(cookie):
    """The server-side session behind a `mes_session=...` cookie, or None."""
    try:
        return SessionItem.get(grant_key("session", cookie.split("=", 1)[1]))
    except SessionItem.DoesNotExist:
        return None


def follow_provider(location):
    """The citizen at the provider: it signs them in and redirects back (real HTTP)."""
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert response.status == 302
    back = response.getheader("Location")
    connection.close()
    assert back.startswith(CALLBACK + "?")
    return back[len("https://testserver"):]


def start(broker, next_path="/account/consents", cookie=None):
    response = broker.get(f"/signin/franceconnect?{urlencode({'next': next_path})}",
                          headers={"Cookie": cookie} if cookie else {})
    assert response.status_code == 302, response.body
    return response.headers["Location"], cookie_of(response)


def sign_in(broker, provider, next_path="/account/consents"):
    location, cookie = start(broker, next_path)
    callback = follow_provider(location)
    return broker.get(callback, headers={"Cookie": cookie}), cookie, callback


def assert_error_page(response, status, code):
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Location" not in response.headers
    assert f"<code>{code}</code>" in response.body.decode()


def test_a_citizen_signs_in_with_the_upstream_provider(broker, provider):
    response, first_cookie, _ = sign_in(broker, provider)
    assert response.status_code == 302 and response.headers["Location"] == "/account/consents"
    cookie = cookie_of(response)
    assert "HttpOnly" in response.headers["Set-Cookie"] and "Secure" in response.headers["Set-Cookie"]
    assert cookie != first_cookie, "the session id changes at sign-in (session fixation)"
    assert session_of(first_cookie) is None
    session = session_of(cookie)
    assert session.patient_id.startswith("cit-") and session.signed_in_by == provider.issuer
    assert session.id_token_hint and session.signin_state is None
    assert broker.get("/me/consents", headers={"Cookie": cookie}).status_code == 200
    assert broker.get("/me/consents", headers={"Cookie": first_cookie}).status_code == 401

    asked = next(r for r in provider.requests if r["endpoint"] == "authorize")
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["acr_values"] == "eidas1" and asked["scope"] == "openid given_name family_name"
    assert asked["redirect_uri"] == CALLBACK
    exchanged = next(r for r in provider.requests if r["endpoint"] == "token")
    assert exchanged["code_verifier"] and "client_secret" not in exchanged  # client_secret_basic


def test_the_same_person_gets_the_same_internal_id_and_another_person_another(broker, provider):
    first = session_of(cookie_of(sign_in(broker, provider)[0])).patient_id
    again = session_of(cookie_of(sign_in(broker, provider)[0])).patient_id
    provider.subject = "fc-sub-bruno"
    other = session_of(cookie_of(sign_in(broker, provider)[0])).patient_id
    assert first == again and other != first


def test_the_authorization_endpoint_sends_an_unsigned_in_citizen_to_the_provider(broker, provider):
    verifier, challenge = pkce()
    response = broker.get(authorize_url(challenge))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/signin/franceconnect?next=")
    back = parse_qs(urlsplit(location).query)["next"][0]
    assert back.startswith("/oauth/authorize?") and "code_challenge=" + challenge in back

    started = broker.get(location, headers={"Cookie": cookie_of(response)})
    signed_in = broker.get(follow_provider(started.headers["Location"]), headers={"Cookie": cookie_of(started)})
    assert signed_in.headers["Location"] == back
    cookie = cookie_of(signed_in)
    page = broker.get(back, headers={"Cookie": cookie})
    assert page.status_code == 200 and b'name="decision"' in page.body
    form = read_form(page.body.decode())
    fields = list(form.fields) + [(n, v) for n, v, checked in form.checkboxes if checked] + [("decision", "allow")]
    allowed = broker.post("/oauth/authorize", body=urlencode(fields),
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    token = exchange(broker, redirect_params(allowed)["code"], verifier)
    assert token.status_code == 200 and token.json_body["patient"]
    assert not token.json_body["patient"].startswith("cit-"), "apps see a pairwise id"


def test_a_posted_authorization_request_and_a_login_hint_also_go_to_the_provider(broker):
    _, challenge = pkce()
    hinted = broker.get(authorize_url(challenge, login_hint="demo-alice"))  # no demo sign-in here
    assert hinted.status_code == 302 and hinted.headers["Location"].startswith("/signin/franceconnect?next=")
    query = urlsplit(authorize_url(challenge)).query
    posted = broker.post("/oauth/authorize", body=query,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status_code == 302
    back = parse_qs(urlsplit(posted.headers["Location"]).query)["next"][0]
    assert parse_qs(urlsplit(back).query) == parse_qs(query)


@pytest.mark.parametrize("mangle", [
    lambda query: {**query, "state": "forged-state"},
    lambda query: {k: v for k, v in query.items() if k != "state"},
    lambda query: {**query, "state": ""},
])
def test_a_wrong_or_missing_state_signs_no_one_in(broker, provider, mangle):
    location, cookie = start(broker)
    callback = urlsplit(follow_provider(location))
    query = mangle({k: v[0] for k, v in parse_qs(callback.query).items()})
    response = broker.get(f"{callback.path}?{urlencode(query)}", headers={"Cookie": cookie})
    assert_error_page(response, 400, "invalid_state")
    assert session_of(cookie).patient_id is None
    assert not any(r["endpoint"] == "token" for r in provider.requests), "the code is not even exchanged"


def test_a_callback_works_once(broker, provider):
    response, cookie, callback = sign_in(broker, provider)
    assert response.status_code == 302
    assert_error_page(broker.get(callback, headers={"Cookie": cookie}), 400, "invalid_state")
    assert_error_page(broker.get(callback, headers={"Cookie": cookie_of(response)}), 400, "invalid_state")


def test_a_callback_in_another_browser_is_refused(broker, provider):
    location, _ = start(broker)
    callback = follow_provider(location)
    _, attacker_cookie = start(broker)  # the attacker's own session, with its own state
    assert_error_page(broker.get(callback, headers={"Cookie": attacker_cookie}), 400, "invalid_state")
    assert_error_page(broker.get(callback), 400, "invalid_state")


def test_a_sign_in_left_too_long_expires(broker, provider, clock):
    location, cookie = start(broker)
    callback = follow_provider(location)
    clock.shift = timedelta(minutes=11)
    response = broker.get(callback, headers={"Cookie": cookie})
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("tamper", [
    pytest.param({"claims": {"nonce": "another-nonce"}}, id="wrong-nonce"),
    pytest.param({"drop": ["nonce"]}, id="no-nonce"),
    pytest.param({"claims": {"aud": "another-client"}}, id="wrong-audience"),
    pytest.param({"claims": {"aud": [CLIENT_ID, "another-client"]}}, id="shared-audience-without-azp"),
    pytest.param({"claims": {"iss": "https://evil.example"}}, id="wrong-issuer"),
    pytest.param({"claims": {"exp": 1_000_000_000, "iat": 999_999_000}}, id="expired"),
    pytest.param({"key": ECKey.generate_key("P-256", parameters={"kid": "fc-1"})}, id="bad-signature"),
    pytest.param({"key": ECKey.generate_key("P-256", parameters={"kid": "unknown"})}, id="unknown-key"),
    pytest.param({"alg": "none"}, id="alg-none"),
    pytest.param({"drop": ["acr"]}, id="no-level-of-assurance"),
    pytest.param({"drop": ["sub"]}, id="no-subject"),
])
def test_an_invalid_id_token_signs_no_one_in(broker, provider, tamper):
    provider.tamper = tamper
    response, cookie, _ = sign_in(broker, provider)
    assert_error_page(response, 400, "invalid_id_token")
    assert session_of(cookie).patient_id is None
    assert "Set-Cookie" not in response.headers


def test_a_refusal_at_the_provider_is_a_clear_page(broker, provider):
    location, cookie = start(broker)
    state = parse_qs(urlsplit(location).query)["state"][0]
    response = broker.get(f"/signin/franceconnect/callback?{urlencode({'error': 'access_denied', 'state': state})}",
                          headers={"Cookie": cookie})
    assert_error_page(response, 400, "access_denied")
    assert "annulée" in response.body.decode()


def test_the_secret_goes_in_the_body_when_the_provider_takes_only_that(broker, provider):
    provider.tamper = {"metadata": {"token_endpoint_auth_methods_supported": ["client_secret_post"]}}
    sign_in(broker, provider)
    exchanged = next(r for r in provider.requests if r["endpoint"] == "token")
    assert exchanged["client_secret"] == CLIENT_SECRET and exchanged["authorization"] is None


def test_a_provider_that_refuses_the_code_is_a_clear_page(broker, provider):
    provider.tamper = {"token_error": "invalid_grant"}
    response, cookie, _ = sign_in(broker, provider)
    assert_error_page(response, 502, "upstream_error")
    assert session_of(cookie).patient_id is None


def test_the_answer_of_another_provider_is_refused(broker, provider):
    location, cookie = start(broker)
    callback = follow_provider(location) + "&" + urlencode({"iss": "https://evil.example"})
    assert_error_page(broker.get(callback, headers={"Cookie": cookie}), 400, "invalid_state")


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                       "/\t/evil.example", "javascript:alert(1)", "http:/evil.example",
                                       "evil.example", "/" + "a" * 5000])
def test_next_must_be_a_local_path(broker, provider, next_path):
    response = broker.get(f"/signin/franceconnect?next={quote(next_path, safe='')}")
    assert_error_page(response, 400, "invalid_next")


def test_local_paths_are_kept_as_they_are():
    assert local_path(None) == "/" and local_path("") == "/"
    assert local_path("/oauth/authorize?a=1&b=%2F%2Fx") == "/oauth/authorize?a=1&b=%2F%2Fx"
    with pytest.raises(UpstreamError):
        local_path("/\x00")


def test_an_unreachable_provider_is_a_clear_page(demo_apps, secret_file, clock):
    with TestProvider() as gone:
        pass  # started and stopped: nothing listens at its address any more
    sign_in_service = UpstreamSignIn(upstream_for(gone, secret_file), CitizenSessions(clock), CitizenDirectory(clock))
    test_app = Chalice(app_name="signin-down")
    test_app.register_blueprint(signin_routes.create_blueprint(sign_in_service, secure_cookies=True))
    with Client(test_app) as test_client:
        response = test_client.http.get("/signin/franceconnect?next=/")
    assert_error_page(response, 502, "upstream_unavailable")


def test_metadata_naming_another_issuer_is_refused(broker, provider):
    provider.tamper = {"metadata": {"issuer": "https://evil.example"}}
    assert_error_page(broker.get("/signin/franceconnect?next=/"), 502, "upstream_misconfigured")


def test_metadata_and_keys_are_fetched_once_per_warm_lambda(broker, provider):
    for _ in range(3):
        assert sign_in(broker, provider)[0].status_code == 302
    assert provider.jwks_fetches == 1


def test_keys_rotated_by_the_provider_are_fetched_again(broker, provider, upstream):
    assert sign_in(broker, provider)[0].status_code == 302
    provider.key = ECKey.generate_key("P-256", parameters={"kid": "fc-2", "use": "sig", "alg": "ES256"})
    started = upstream.clock()
    upstream.clock = lambda: started + 61  # refetched at most once a minute (an unknown kid costs us a fetch)
    assert sign_in(broker, provider)[0].status_code == 302
    assert provider.jwks_fetches == 2


def test_what_a_sign_in_costs_in_dynamodb(broker, provider):
    from chalicelib.observability import dynamodb_usage
    figures = {}
    for attempt in ("first sign-in", "later sign-in"):
        with dynamodb_usage() as started:
            location, cookie = start(broker)
        callback = follow_provider(location)
        with dynamodb_usage() as finished:
            assert broker.get(callback, headers={"Cookie": cookie}).status_code == 302
        figures[attempt] = ([c.operation for c in started.calls], [c.operation for c in finished.calls])
    print(figures)
    assert figures["first sign-in"][0] == ["PutItem"], "no cookie yet: one write starts session and sign-in"
    assert len(figures["first sign-in"][1]) == 6 and len(figures["later sign-in"][1]) == 5


def test_without_configuration_the_routes_say_so(client):
    assert_error_page(client.get("/signin/franceconnect?next=/"), 404, "not_configured")
    assert_error_page(client.get("/signin/franceconnect/callback?state=x&code=y"), 404, "not_configured")


@pytest.mark.parametrize("spec, message", [
    ({"client_id": "x", "client_secret_file": "/s"}, "issuer"),
    ({"issuer": "http://fc.example", "client_id": "x", "client_secret_file": "/s"}, "https"),
    ({"issuer": "https://fc.example", "client_id": "x"}, "client_secret"),
    ({"issuer": "https://fc.example", "client_id": "x", "client_secret_file": "/s", "algorithms": ["HS256"]},
     "algorithms"),
    ({"issuer": "https://fc.example", "client_id": "x", "client_secret_file": "/s", "scope": "profile"}, "openid"),
    ({"issuer": "https://fc.example", "client_id": "x", "client_secret_file": "/s", "client_secret": "inline"},
     "unknown"),
])
def test_a_wrong_configuration_fails_at_start(spec, message):
    with pytest.raises(ValueError, match=message):
        UpstreamConfig.parse(spec, "https://testserver")


def test_the_configuration_is_read_from_citizen_oidc():
    from dataclasses import replace
    configured = replace(settings, citizen_oidc={
        "issuer": "https://fcp.integ01.dev-franceconnect.fr/api/v2", "client_id": "abc",
        "client_secret_arn": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:fc", "acr_values": "eidas1",
        "jwks_uri": "https://keys.example/jwks"})
    service = upstream_sign_in_for(configured, CitizenSessions(Clock()), Clock())
    config = service.provider.config
    assert config.redirect_uri == "https://testserver/signin/franceconnect/callback"
    assert config.metadata == {"jwks_uri": "https://keys.example/jwks"} and config.acr_values == "eidas1"
    assert upstream_sign_in_for(settings, CitizenSessions(Clock()), Clock()) is None


def test_a_client_secret_changed_at_the_provider_is_read_again(demo_apps, provider, secret_file, clock):
    """An operator rotates the secret (FranceConnect, then Secrets Manager): a warm Lambda holding
    the old one reads it again when the provider answers invalid_client, instead of failing."""
    secret_file.write_text("the-old-secret\n")
    upstream = upstream_for(provider, secret_file)
    assert upstream.client_secret() == "the-old-secret"  # cached, as a warm Lambda would have it
    secret_file.write_text(CLIENT_SECRET + "\n")
    request = upstream.authorization_request()
    code = parse_qs(urlsplit(follow_provider(request.url)).query)["code"][0]
    id_token = upstream.exchange(code, request.verifier)
    assert upstream.verify_id_token(id_token, request.nonce)["sub"]
    tokens = [r for r in provider.requests if r["endpoint"] == "token"]
    assert len(tokens) == 2, "refused with the old secret, then accepted with the new one"


def answer_of(callback):
    return {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}


def test_signing_out_ends_the_session_at_the_provider_too(demo_apps, provider, upstream, clock):
    """RP-initiated logout: a citizen who came through the provider is sent to its
    end_session_endpoint with their ID token as hint, so that on a shared computer the next person
    does not find them still signed in there."""
    sessions = CitizenSessions(clock)
    sign_in_service = UpstreamSignIn(upstream, sessions, CitizenDirectory(clock))
    session_id, location = sign_in_service.start(None, "/account/consents")
    callback = follow_provider(location)
    new_session_id, _ = sign_in_service.finish(session_id, answer_of(callback))
    id_token = sessions.find(new_session_id).id_token_hint
    logout = sign_in_service.sign_out(new_session_id)
    assert logout.startswith(f"{provider.issuer}/logout?")
    query = parse_qs(urlsplit(logout).query)
    assert query["id_token_hint"] == [id_token] and query["state"][0]
    assert query["post_logout_redirect_uri"] == ["https://testserver/signin/franceconnect/logged-out"]
    assert sessions.find(new_session_id) is None, "signed out here at once"
    demo_session, _ = sessions.find_or_start(None)
    assert sign_in_service.sign_out(demo_session) is None, "nothing to end at the provider"
    provider.tamper = {"metadata": {"end_session_endpoint": None}}
    upstream._metadata = None  # a provider without RP-initiated logout: our sign-out alone
    second, location = sign_in_service.start(None, "/")
    third, _ = sign_in_service.finish(second, answer_of(follow_provider(location)))
    assert sign_in_service.sign_out(third) is None and sessions.find(third) is None


def test_the_provider_sends_the_signed_out_citizen_home(broker):
    response = broker.get("/signin/franceconnect/logged-out?state=x")
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_the_sign_out_button_leads_to_the_providers_logout(demo_apps, provider, upstream, clock):
    """Through the pages: the sign-out form's answer goes on to the provider's logout, which the
    pages' CSP allows as a form target (and nothing else)."""
    import re

    import app as app_module
    from chalicelib.pages import routes as pages_routes
    sessions = CitizenSessions(clock)
    sign_in_service = UpstreamSignIn(upstream, sessions, CitizenDirectory(clock))
    test_app = Chalice(app_name="signout-test")
    test_app.register_blueprint(signin_routes.create_blueprint(sign_in_service, secure_cookies=True))
    test_app.register_blueprint(pages_routes.create_blueprint(
        app_module.catalog_service, app_module.consent_service, sessions, app_module.access_log,
        settings, sign_in_service))
    with Client(test_app, stage_name="local") as test_client:
        browser = test_client.http
        started = browser.get("/signin/franceconnect?next=/account/consents")
        back = browser.get(follow_provider(started.headers["Location"]), headers={"Cookie": cookie_of(started)})
        cookie = cookie_of(back)
        page = browser.get("/account/consents", headers={"Cookie": cookie})
        assert page.status_code == 200
        assert f"form-action 'self' {provider.issuer}" in page.headers["Content-Security-Policy"]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode()).group(1)
        out = browser.post("/account/sign-out", body=urlencode({"csrf_token": csrf}),
                           headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        assert out.status_code == 303 and out.headers["Location"].startswith(f"{provider.issuer}/logout?")
        assert session_of(cookie) is None


@pytest.mark.parametrize("where", ["userinfo", "id_token"])
def test_the_identity_the_provider_vouches_for_lets_the_person_an_invitation_names_accept_it(
        demo_apps, records, provider, secret_file, clock, where):
    """As deployed (no family records), a proxy invitation is matched against the identity the
    provider vouched for at sign-in: FranceConnect's, at its userinfo endpoint, or in the ID token."""
    import app as app_module
    from chalicelib.consent.proxies import Invitee
    from chalicelib.identity.families import Families, NoFamilyRecords, Person
    from chalicelib.pages.account import AccountPages, Visitor
    identity = {"given_name": "Karim Ahmed", "family_name": "Benali", "birthdate": "1951-11-02"}
    if where == "userinfo":
        provider.userinfo = identity
    else:
        provider.tamper["claims"] = identity
    upstream = upstream_for(provider, secret_file, scope="openid given_name family_name birthdate")
    with broker_for(upstream, clock) as broker:
        cookie = cookie_of(sign_in(broker, provider)[0])
    session = session_of(cookie)
    assert (session.given_name, session.family_name, session.birth_date) == ("Karim Ahmed", "Benali", "1951-11-02")

    account = AccountPages(CitizenSessions(clock), app_module.consent_service, app_module.referential,
                           demo_sign_in=False, franceconnect=True, families=Families(NoFamilyRecords(), clock),
                           proxies=app_module.proxy_service)
    karim = account.person(Visitor(cookie.split("=", 1)[1], session, None))
    lea = Person("demo-lea", "Léa", "Dupont", datetime(1996, 7, 25).date())
    code, _ = app_module.proxy_service.invite(lea, Invitee("Karim", "BENALI", datetime(1951, 11, 2).date()),
                                              ["measures"], None)
    assert app_module.proxy_service.accept(code, karim).status == "active"
    assert [link.patient.name for link in app_module.proxy_service.acting_for(session.patient_id)] == ["Léa Dupont"]


def test_a_birth_date_the_provider_does_not_know_in_full_is_no_identity(demo_apps, provider, secret_file, clock):
    provider.userinfo = {"given_name": "Karim", "family_name": "Benali", "birthdate": "1951-00-00"}
    upstream = upstream_for(provider, secret_file, scope="openid given_name family_name birthdate")
    with broker_for(upstream, clock) as broker:
        session = session_of(cookie_of(sign_in(broker, provider)[0]))
    assert session.patient_id and session.given_name is None and session.birth_date is None

