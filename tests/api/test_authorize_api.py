"""The SMART authorization code flow through the consent page, and the attacks it must refuse."""
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from tests.helpers.oauth import (FHIR, REDIRECT, SANDBOX, authorize_url, consent, cookie_of, exchange, form_post,
                                 offline_tokens, pkce, read_form, redirect_params, refresh, signed_in,
                                 submitted_fields)
from tests.helpers.referencing import approve, post


def test_a_citizen_consents_and_the_app_gets_a_scoped_token(client):
    verifier, challenge = pkce()
    response, page = consent(client, challenge, untick=("patient/DocumentReference.rs",))
    html = page.body.decode()
    assert "Bac à sable développeurs" in html and "Lire vos mesures de santé" in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Lax" in page.headers["Set-Cookie"]
    params = redirect_params(response)
    assert params["state"] == "st-123" and params["code"]

    token = exchange(client, params["code"], verifier)
    assert token.status_code == 200, token.body
    assert token.headers["Cache-Control"] == "no-store" and token.headers["Pragma"] == "no-cache"
    body = token.json_body
    assert body["token_type"] == "Bearer" and body["expires_in"] <= 900
    assert body["scope"] == "patient/Observation.rs launch/patient"
    jwks = client.get("/oauth/jwks").json_body
    claims = jwt.decode(body["access_token"], jwt.PyJWK(jwks["keys"][0]).key, algorithms=["ES256"],
                        audience=FHIR, issuer="https://testserver")
    assert claims["patient"] == body["patient"] and claims["client_id"] == SANDBOX
    assert claims["patient"] != "demo-alice", "apps see a pairwise id, never the internal one"
    assert body["access_grant_expiration"] > claims["exp"]


def test_a_code_works_once_and_its_replay_revokes_what_it_produced(client):
    """RFC 6749 section 4.1.2: a second use is refused, and the tokens of the first stop working
    (a replayed code may be a stolen one). The consent itself stands."""
    verifier, challenge = pkce()
    answer, _ = consent(client, challenge, scope="launch/patient patient/Observation.rs offline_access")
    code = redirect_params(answer)["code"]
    first = exchange(client, code, verifier)
    assert first.status_code == 200
    tokens = first.json_body
    replay = exchange(client, code, verifier)
    assert replay.status_code == 400 and replay.json_body["error"] == "invalid_grant"
    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = form_post(client, "/oauth/introspect", token=token, client_id=SANDBOX).json_body
        assert answer == {"active": False}
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"
    fhir = client.get("/fhir/Observation", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert fhir.status_code == 401
    # the citizen's consent stands: the app's next authorization needs no consent page
    verifier, challenge = pkce()
    again = signed_in(client, authorize_url(challenge, login_hint="demo-alice",
                                            scope="launch/patient patient/Observation.rs"))
    assert again.status_code == 302 and "code=" in again.headers["Location"]


def test_a_wrong_verifier_is_refused(client):
    verifier, challenge = pkce()
    code = redirect_params(consent(client, challenge)[0])["code"]
    wrong = exchange(client, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json_body["error"] in ("invalid_grant", "invalid_request")


def test_deny_sends_access_denied(client):
    response, _ = consent(client, pkce()[1], decision="deny")
    assert redirect_params(response) == {"error": "access_denied", "state": "st-123", "iss": "https://testserver"}


def test_every_authorization_response_names_its_issuer(client):
    """RFC 9207: the app can check the answer came from the server it sent the citizen to."""
    allowed = redirect_params(consent(client, pkce()[1])[0])
    refused = redirect_params(client.get(authorize_url(pkce()[1], scope="patient/Immunization.rs")))
    assert allowed["iss"] == refused["iss"] == "https://testserver"
    assert "code" in allowed and refused["error"] == "invalid_scope"
    metadata = client.get("/.well-known/oauth-authorization-server").json_body
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_an_active_consent_skips_the_page_unless_prompt_consent(client):
    verifier, challenge = pkce()
    response, page = consent(client, challenge)
    redirect_params(response)
    again = client.get(authorize_url(challenge), headers={"Cookie": cookie_of(page)})
    assert "code" in redirect_params(again)
    forced = client.get(authorize_url(challenge, prompt="consent"), headers={"Cookie": cookie_of(page)})
    assert forced.status_code == 200 and b'name="decision"' in forced.body


def test_the_consent_form_needs_its_csrf_token(client):
    _, challenge = pkce()
    page = signed_in(client, authorize_url(challenge, login_hint="demo-alice"))
    form = read_form(page.body.decode())
    fields = [(n, v) for n, v in form.fields if n != "csrf_token"] + [("decision", "allow")]
    response = client.post("/oauth/authorize", body=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(page)})
    assert response.status_code == 403 and "Location" not in response.headers


def test_signing_in_on_the_identity_picker_starts_a_new_session(client):
    """Session fixation: a session id planted in the citizen's browser before sign-in (here, the
    attacker's own visit to the authorization page) must sign no one in afterwards."""
    _, challenge = pkce()
    planted = client.get(authorize_url(challenge))  # the picker, no one signed in
    assert planted.status_code == 200
    picker = read_form(planted.body.decode())
    fields = list(picker.fields) + [("login_hint", "demo-alice")]
    answer = client.post("/oauth/authorize", body=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(planted)})
    assert answer.status_code == 200 and "Bac à sable développeurs" in answer.body.decode()
    assert cookie_of(answer) != cookie_of(planted)
    assert client.get("/me/consents", headers={"Cookie": cookie_of(planted)}).status_code == 401
    assert client.get("/me/consents", headers={"Cookie": cookie_of(answer)}).status_code == 200


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "patient/Immunization.rs"}, "invalid_scope"),
    ({"scope": "patient/Observation.sr"}, "invalid_scope"),
    ({"aud": "https://other.example/fhir"}, "invalid_request"),
    ({"state": None}, "invalid_request"),
])
def test_bad_requests_go_back_to_the_app_with_an_oauth_error(client, overrides, error):
    response = client.get(authorize_url(pkce()[1], **overrides))
    params = redirect_params(response)
    assert params["error"] == error and params["error_description"]


@pytest.mark.parametrize("overrides", [
    {"redirect_uri": "https://evil.example/callback"},
    {"redirect_uri": "http://127.0.0.1:9999/callback/../steal"},
    {"client_id": "no-such-app"},
    {"client_id": None},
])
def test_unknown_clients_and_unregistered_redirects_get_a_page_never_a_redirect(client, overrides):
    response = client.get(authorize_url(pkce()[1], **overrides))
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_suspended_app_cannot_start_an_authorization(client, reviewer_token):
    import json
    client.post(f"/review/apps/{SANDBOX}/suspend", body=json.dumps({"reason": "test de suspension"}),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {reviewer_token}"})
    response = client.get(authorize_url(pkce()[1]))
    assert response.status_code == 400 and "Location" not in response.headers


def test_token_endpoint_errors_follow_rfc_6749(client):
    assert exchange(client, "made-up-code", pkce()[0]).json_body["error"] == "invalid_grant"
    response = client.post("/oauth/token", body=urlencode({"grant_type": "password", "username": "x"}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json_body["error"] == "unsupported_grant_type"
    as_json = client.post("/oauth/token", body="{}", headers={"Content-Type": "application/json"})
    assert as_json.status_code == 415 and as_json.json_body["error"] == "invalid_request"


def test_discovery_tells_what_is_supported(client):
    smart = client.get("/fhir/.well-known/smart-configuration").json_body
    assert smart["code_challenge_methods_supported"] == ["S256"]
    assert smart["authorization_endpoint"] == "https://testserver/oauth/authorize"
    assert "launch-standalone" in smart["capabilities"] and "permission-v2" in smart["capabilities"]
    assert smart["management_endpoint"] == "https://testserver/account/consents"
    metadata = client.get("/.well-known/oauth-authorization-server").json_body
    assert metadata["issuer"] == "https://testserver" and metadata["jwks_uri"].endswith("/oauth/jwks")


def test_no_refresh_token_without_offline_access(client):
    assert "refresh_token" not in offline_tokens(client, scope="launch/patient patient/Observation.rs")


def test_refresh_rotates_and_may_narrow_the_scope(client):
    first = offline_tokens(client)
    assert first["refresh_token"] and "offline_access" in first["scope"].split()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.body
    assert second.json_body["refresh_token"] != first["refresh_token"]
    narrow = refresh(client, second.json_body["refresh_token"], scope="patient/Observation.rs offline_access")
    assert narrow.status_code == 200 and narrow.json_body["scope"] == "patient/Observation.rs offline_access"
    wider = refresh(client, narrow.json_body["refresh_token"], scope="patient/DocumentReference.rs")
    assert wider.status_code == 400 and wider.json_body["error"] == "invalid_scope"


def test_reusing_a_rotated_refresh_token_revokes_the_family(client, monkeypatch):
    import app as app_module
    from datetime import timedelta
    first = offline_tokens(client)
    second = refresh(client, first["refresh_token"]).json_body
    retried = refresh(client, first["refresh_token"])  # within the grace period: refused, family kept
    assert retried.status_code == 400 and retried.json_body["error"] == "invalid_grant"
    later = app_module.oauth_server.clock() + timedelta(minutes=5)
    monkeypatch.setattr(app_module.oauth_server, "clock", lambda: later)
    stolen = refresh(client, first["refresh_token"])
    assert stolen.status_code == 400 and stolen.json_body["error"] == "invalid_grant"
    legit = refresh(client, second["refresh_token"])
    assert legit.status_code == 400 and legit.json_body["error"] == "invalid_grant", "the whole family is revoked"


def test_a_new_consent_ends_the_refresh_tokens_of_the_old_one(client):
    first = offline_tokens(client)
    verifier, challenge = pkce()
    consent(client, challenge, prompt="consent", scope="launch/patient patient/Observation.rs offline_access")
    refused = refresh(client, first["refresh_token"])
    assert refused.status_code == 400 and refused.json_body["error"] == "invalid_grant"


def test_offline_access_needs_approval(client):
    # rdv-facile was not approved for offline access.
    response = client.get(authorize_url(pkce()[1], client_id="rdv-facile",
                                         redirect_uri="https://rdvfacile.example.org/oauth/callback",
                                         scope="patient/Appointment.rs offline_access"))
    location = response.headers["Location"]
    assert location.startswith("https://rdvfacile.example.org/oauth/callback?")
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_scope"]


def test_introspection_tells_active_and_inactive_tokens(client):
    tokens = offline_tokens(client)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = form_post(client, "/oauth/introspect", token=token, client_id=SANDBOX).json_body
        assert answer["active"] is True and answer["client_id"] == SANDBOX and answer["patient"] == tokens["patient"]
    for token in ("unknown-token", tokens["access_token"][:-4] + "AAAA"):
        assert form_post(client, "/oauth/introspect", token=token, client_id=SANDBOX).json_body == {"active": False}
    other = form_post(client, "/oauth/introspect", token=tokens["access_token"], client_id="rdv-facile")
    assert other.status_code in (200, 401) and other.json_body.get("active") in (False, None)


def test_token_parameters_come_once_and_in_the_body(client):
    """RFC 6749 sections 3.1 and 3.2: no parameter twice (which verifier, which redirect URI would
    count?), and none from the query string of a POST to the token endpoint."""
    verifier, challenge = pkce()
    code = redirect_params(consent(client, challenge)[0])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": SANDBOX}
    twice = client.post("/oauth/token", body=urlencode(form) + "&code_verifier=" + verifier + "&code_verifier=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert twice.status_code == 400 and twice.json_body["error"] == "invalid_request"
    assert "code_verifier" in twice.json_body["error_description"]
    in_query = client.post("/oauth/token?code_verifier=" + verifier, body=urlencode(form),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert in_query.status_code == 400 and in_query.json_body["error"] in ("invalid_request", "invalid_grant")
    assert exchange(client, code, verifier).status_code == 200  # the code was not spent by those


@pytest.mark.parametrize("repeated", [("redirect_uri", "http://localhost:9999/callback"),
                                      ("aud", "https://other.example/fhir"), ("state", "other")])
def test_an_authorization_request_with_a_repeated_parameter_gets_a_page(client, repeated):
    query = authorize_url(pkce()[1], login_hint="demo-alice") + "&" + urlencode([repeated])
    page = client.get(query)
    assert page.status_code == 400 and "Location" not in page.headers


def test_revocation_answers_follow_rfc_7009(client):
    tokens = offline_tokens(client)
    # A token the server does not know (or no longer accepts) is revoked as far as anyone can tell: 200.
    assert form_post(client, "/oauth/revoke", token="not-a-token", client_id=SANDBOX).status_code == 200
    # A hint the server does not know is ignored (section 2.1): the refresh token is still found.
    odd = form_post(client, "/oauth/revoke", token=tokens["refresh_token"], token_type_hint="weird", client_id=SANDBOX)
    assert odd.status_code == 200
    assert form_post(client, "/oauth/introspect", token=tokens["refresh_token"], token_type_hint="weird",
                     client_id=SANDBOX).json_body == {"active": False}
    missing = form_post(client, "/oauth/revoke", client_id=SANDBOX)
    assert missing.status_code == 400 and missing.json_body["error"] == "invalid_request"


def test_revoking_a_refresh_token_ends_it_and_its_family(client):
    tokens = offline_tokens(client)
    rotated = refresh(client, tokens["refresh_token"]).json_body
    assert form_post(client, "/oauth/revoke", token=rotated["refresh_token"], client_id=SANDBOX).status_code == 200
    assert refresh(client, rotated["refresh_token"]).json_body["error"] == "invalid_grant"
    assert form_post(client, "/oauth/introspect", token=rotated["refresh_token"],
                     client_id=SANDBOX).json_body == {"active": False}
    assert form_post(client, "/oauth/revoke", token="never-issued", client_id=SANDBOX).status_code == 200


def test_a_new_consent_makes_old_access_tokens_inactive(client):
    tokens = offline_tokens(client)
    consent(client, pkce()[1], prompt="consent")
    answer = form_post(client, "/oauth/introspect", token=tokens["access_token"], client_id=SANDBOX).json_body
    assert answer == {"active": False}


def test_suspending_the_app_makes_its_tokens_inactive_and_refresh_fail(client, reviewer_token):
    import json
    tokens = offline_tokens(client)
    client.post(f"/review/apps/{SANDBOX}/suspend", body=json.dumps({"reason": "incident en cours"}),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {reviewer_token}"})
    assert refresh(client, tokens["refresh_token"]).json_body["error"] in ("invalid_client", "invalid_grant")
    answer = form_post(client, "/oauth/introspect", token=tokens["access_token"], client_id=SANDBOX)
    assert answer.json_body.get("active") in (False, None)


def test_tokens_from_before_a_suspension_stay_dead_after_the_reinstatement(client, reviewer_token):
    """A suspension may answer an incident in which tokens leaked: reinstating the app must not
    bring them back. The citizens' consents stand, so the app simply authorizes again."""
    import json
    tokens = offline_tokens(client)
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {reviewer_token}"}
    for action in ("suspend", "reinstate"):
        answer = client.post(f"/review/apps/{SANDBOX}/{action}", body=json.dumps({"reason": "fuite de jetons"}),
                             headers=bearer)
        assert answer.status_code == 200, answer.body
    fhir = client.get("/fhir/Observation", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert fhir.status_code == 401 and 'error="invalid_token"' in fhir.headers["WWW-Authenticate"]
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert form_post(client, "/oauth/introspect", token=token, client_id=SANDBOX).json_body == {"active": False}
    verifier, challenge = pkce()  # a new authorization works at once, with no consent page
    skipped = signed_in(client, authorize_url(challenge, login_hint="demo-alice",
                                       scope="launch/patient patient/Observation.rs offline_access"))
    fresh = exchange(client, redirect_params(skipped)["code"], verifier).json_body
    again = client.get("/fhir/Observation", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert again.status_code == 200
    assert refresh(client, fresh["refresh_token"]).status_code == 200


def test_a_citizen_sees_downloads_and_revokes_a_consent(client):
    verifier, challenge = pkce()
    response, page = consent(client, challenge, scope="launch/patient patient/Observation.rs offline_access")
    tokens = exchange(client, redirect_params(response)["code"], verifier).json_body
    me = {"Cookie": cookie_of(page)}

    mine = client.get("/me/consents", headers=me).json_body
    assert [c["app_id"] for c in mine["active"]] == [SANDBOX] and mine["past"] == []
    assert mine["active"][0]["scopes"] == ["patient/Observation.rs"]
    receipt = client.get(f"/me/consents/{SANDBOX}/receipt", headers=me)
    assert "attachment" in receipt.headers["Content-Disposition"]
    granted = receipt.json_body["granted"][0]
    assert granted["label"]["fr"] == "Lire vos mesures de santé" and granted["purpose"]["id"]

    revoked = client.delete(f"/me/consents/{SANDBOX}", headers=me)
    assert revoked.status_code == 200 and revoked.json_body["status"] == "revoked"
    assert refresh(client, tokens["refresh_token"]).json_body["error"] == "invalid_grant"
    assert form_post(client, "/oauth/introspect", token=tokens["access_token"],
                     client_id=SANDBOX).json_body == {"active": False}
    after = client.get("/me/consents", headers=me).json_body
    assert after["active"] == [] and after["past"][0]["status"] == "revoked"
    assert client.delete(f"/me/consents/{SANDBOX}", headers=me).status_code == 404


def test_the_consent_api_needs_a_signed_in_citizen(client):
    assert client.get("/me/consents").status_code == 401
    assert client.get("/me/consents", headers={"Cookie": "mes_session=forged"}).status_code == 401
    assert client.delete(f"/me/consents/{SANDBOX}").status_code == 401


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def asymmetric_client(client, listing, publisher_token, reviewer_token):
    """A published confidential client that authenticates with private_key_jwt (RS384)."""
    import json
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "app-key-1", "alg": "RS384"}
    listing = dict(listing, client={"type": "confidential_jwks", "jwks": {"keys": [public]}})
    app_id = post(client, "/publisher/apps", listing, publisher_token).json_body["app_id"]
    post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    assert approve(client, app_id, 1, reviewer_token, listing).status_code == 200
    return app_id, key


def assertion(app_id, key, **overrides):
    import time
    import uuid
    now = int(time.time())
    claims = {"iss": app_id, "sub": app_id, "aud": "https://testserver/oauth/token", "jti": str(uuid.uuid4()),
              "iat": now, "exp": now + 120, **overrides}
    return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "app-key-1"})


def code_for(client, app_id):
    verifier, challenge = pkce()
    page = signed_in(client, authorize_url(challenge, client_id=app_id, login_hint="demo-alice"))
    if page.status_code == 302:  # consent already given: straight back with a code
        return redirect_params(page)["code"], verifier
    fields = submitted_fields(page.body.decode()) + [("decision", "allow")]
    answer = client.post("/oauth/authorize", body=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_of(page)})
    return redirect_params(answer)["code"], verifier


def exchange_with_assertion(client, code, verifier, client_assertion):
    return form_post(client, "/oauth/token", grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                     code_verifier=verifier, client_assertion_type=ASSERTION_TYPE, client_assertion=client_assertion)


def test_private_key_jwt_clients_authenticate_with_a_signed_assertion(client, asymmetric_client):
    app_id, key = asymmetric_client
    code, verifier = code_for(client, app_id)
    signed = assertion(app_id, key)
    token = exchange_with_assertion(client, code, verifier, signed)
    assert token.status_code == 200, token.body
    code, verifier = code_for(client, app_id)
    replay = exchange_with_assertion(client, code, verifier, signed)
    # RFC 6749 §5.2: 401 when the client authenticated through the Authorization header, else 400.
    assert replay.status_code == 400 and replay.json_body["error"] == "invalid_client"


@pytest.mark.parametrize("forge", ["other_key", "hs256_with_public_key", "wrong_aud", "long_lived", "no_assertion"])
def test_forged_client_assertions_are_refused(client, asymmetric_client, forge):
    import json
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    app_id, key = asymmetric_client
    code, verifier = code_for(client, app_id)
    if forge == "other_key":
        signed = assertion(app_id, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif forge == "hs256_with_public_key":
        pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        import base64
        import hashlib
        import hmac
        import time
        import uuid
        def b64(d):
            return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
        claims = {"iss": app_id, "sub": app_id, "aud": "https://testserver/oauth/token", "jti": str(uuid.uuid4()),
                  "exp": int(time.time()) + 60}
        head = b64(json.dumps({"alg": "HS256", "kid": "app-key-1"}).encode()) + "." + b64(json.dumps(claims).encode())
        signed = head + "." + b64(hmac.new(pem, head.encode(), hashlib.sha256).digest())
    elif forge == "wrong_aud":
        signed = assertion(app_id, key, aud="https://elsewhere.example/token")
    elif forge == "long_lived":
        import time
        signed = assertion(app_id, key, exp=int(time.time()) + 3600)
    else:
        response = form_post(client, "/oauth/token", grant_type="authorization_code", code=code,
                             redirect_uri=REDIRECT, code_verifier=verifier, client_id=app_id)
        assert response.status_code in (400, 401) and response.json_body["error"] == "invalid_client"
        return
    response = exchange_with_assertion(client, code, verifier, signed)
    assert response.status_code == 400 and response.json_body["error"] == "invalid_client"


def test_openid_fhiruser_gives_an_id_token_naming_the_patient(client):
    verifier, challenge = pkce()
    code = redirect_params(consent(client, challenge, scope="openid fhirUser launch/patient patient/Patient.rs",
                                   nonce="n-0S6_WzA2Mj")[0])["code"]
    body = exchange(client, code, verifier).json_body
    assert set(body["scope"].split()) == {"openid", "fhirUser", "launch/patient", "patient/Patient.rs"}
    config = client.get("/.well-known/openid-configuration").json_body
    key = jwt.PyJWK(client.get("/oauth/jwks").json_body["keys"][0]).key
    claims = jwt.decode(body["id_token"], key, algorithms=config["id_token_signing_alg_values_supported"],
                        audience=SANDBOX, issuer=config["issuer"])
    assert claims["sub"] == body["patient"] and claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["fhirUser"] == f"{FHIR}/Patient/{body['patient']}"
    assert "sso-openid-connect" in client.get("/fhir/.well-known/smart-configuration").json_body["capabilities"]


def test_an_app_may_post_the_authorization_request(client):
    _, challenge = pkce()
    params = dict(parse_qs(urlsplit(authorize_url(challenge)).query))
    response = client.post("/oauth/authorize", body=urlencode({k: v[0] for k, v in params.items()}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and b'name="login_hint"' in response.body


def test_a_forged_cross_site_decision_is_refused(client):
    _, challenge = pkce()
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url(challenge)).query).items()}
    params.update(decision="allow", scope="patient/Observation.rs", login_hint="demo-alice")
    response = client.post("/oauth/authorize", body=urlencode(params),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403 and "Location" not in response.headers
