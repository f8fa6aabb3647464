"""What OpenID Connect clients rely on at the authorization endpoint (OIDC Core 3.1.2.1, 3.1.2.6):
`prompt=none` shows no page, `prompt=login` and `max_age` ask for a fresh sign-in, `auth_time` is
when the person signed in, and a `login_hint` pre-selects on the demo picker but never signs in."""
from datetime import timedelta
from urllib.parse import urlencode

import jwt

from chalicelib.identity.citizens import session_key
from chalicelib.identity.models import SessionItem
from tests.helpers.oauth import (SANDBOX, authorize_url, consent, cookie_of, exchange, pkce, read_form,
                                 redirect_params, signed_in, submitted_fields)
from tests.helpers.pages import FORM, html

OPENID = "openid fhirUser launch/patient patient/Observation.rs"


def is_picker(response):
    return response.status_code == 200 and b'name="login_hint"' in response.body


def id_token_claims(client, token):
    key = jwt.PyJWK(client.get("/oauth/jwks").json_body["keys"][0]).key
    return jwt.decode(token["id_token"], key, algorithms=["ES256"], audience=SANDBOX,
                      issuer=client.get("/.well-known/openid-configuration").json_body["issuer"])


def sign_in_earlier(cookie, minutes):
    """The session's sign-in, moved `minutes` into the past (as if she had signed in then)."""
    session = SessionItem.get(session_key(cookie.split("=", 1)[1]))
    session.update(actions=[SessionItem.created_at.set(session.created_at - timedelta(minutes=minutes))])
    return int(session.created_at.timestamp())


def alice_with_consent(client):
    """Alice signed in (her session's cookie), having consented to OPENID; and the tokens."""
    verifier, challenge = pkce()
    answer, page = consent(client, challenge, scope=OPENID)
    token = exchange(client, redirect_params(answer)["code"], verifier).json_body
    return cookie_of(page), token


def test_prompt_none_without_a_session_is_login_required(client):
    answer = client.get(authorize_url(pkce()[1], prompt="none", scope=OPENID))
    params = redirect_params(answer)
    assert params["error"] == "login_required" and params["state"] == "st-123" and "code" not in params


def test_prompt_none_without_the_consent_is_consent_required(client):
    cookie, _ = alice_with_consent(client)
    answer = client.get(authorize_url(pkce()[1], prompt="none", scope=OPENID + " patient/Appointment.rs"),
                        headers={"Cookie": cookie})
    assert redirect_params(answer)["error"] == "consent_required"


def test_prompt_none_with_a_session_and_the_consent_gives_a_code_and_no_page(client):
    cookie, _ = alice_with_consent(client)
    verifier, challenge = pkce()
    answer = client.get(authorize_url(challenge, prompt="none", scope=OPENID), headers={"Cookie": cookie})
    token = exchange(client, redirect_params(answer)["code"], verifier)
    assert token.status_code == 200 and token.json_body["id_token"]


def test_prompt_none_goes_with_nothing_else(client):
    answer = client.get(authorize_url(pkce()[1], prompt="none login", scope=OPENID))
    assert redirect_params(answer)["error"] == "invalid_request"
    assert redirect_params(client.get(authorize_url(pkce()[1], prompt="sometimes")))["error"] == "invalid_request"
    assert redirect_params(client.get(authorize_url(pkce()[1], max_age="soon")))["error"] == "invalid_request"


def test_prompt_login_asks_a_signed_in_person_to_sign_in_again(client):
    cookie, first = alice_with_consent(client)
    picker = client.get(authorize_url(pkce()[1], prompt="login", scope=OPENID), headers={"Cookie": cookie})
    assert is_picker(picker)  # not the code, though her session and consent stand
    assert 'name="prompt" value="login"' not in picker.body.decode()  # asked once: "after now" is carried on

    verifier, challenge = pkce()
    picker = client.get(authorize_url(challenge, prompt="login", scope=OPENID), headers={"Cookie": cookie})
    answer = client.post("/oauth/authorize", body=urlencode(submitted_fields(picker.body.decode())),
                         headers={**FORM, "Cookie": cookie})
    token = exchange(client, redirect_params(answer)["code"], verifier).json_body  # consent stood: no page
    assert id_token_claims(client, token)["auth_time"] >= id_token_claims(client, first)["auth_time"]
    assert cookie_of(answer) != cookie  # signing in again is a new session


def test_max_age_asks_again_only_once_the_sign_in_is_older(client):
    cookie, first = alice_with_consent(client)
    fresh = client.get(authorize_url(pkce()[1], max_age="600", scope=OPENID), headers={"Cookie": cookie})
    assert fresh.status_code == 302 and "code=" in fresh.headers["Location"]
    signed_in_at = sign_in_earlier(cookie, 20)
    assert is_picker(client.get(authorize_url(pkce()[1], max_age="600", scope=OPENID), headers={"Cookie": cookie}))
    none = client.get(authorize_url(pkce()[1], max_age="600", prompt="none", scope=OPENID), headers={"Cookie": cookie})
    assert redirect_params(none)["error"] == "login_required"

    # Without max_age, a new code's ID token says when she signed in, 20 minutes ago, not now.
    verifier, challenge = pkce()
    answer = client.get(authorize_url(challenge, scope=OPENID), headers={"Cookie": cookie})
    token = exchange(client, redirect_params(answer)["code"], verifier).json_body
    assert id_token_claims(client, token)["auth_time"] == signed_in_at


def test_a_login_hint_preselects_but_never_signs_in(client):
    picker = client.get(authorize_url(pkce()[1], login_hint="demo-karim"))
    assert is_picker(picker)
    assert 'value="demo-karim" checked' in html(picker)
    assert client.get("/me/consents", headers={"Cookie": cookie_of(picker)}).status_code == 401


def test_a_login_hint_never_switches_a_signed_in_browser(client):
    cookie, _ = alice_with_consent(client)
    hinted = client.get(authorize_url(pkce()[1], login_hint="demo-karim", scope=OPENID), headers={"Cookie": cookie})
    assert is_picker(hinted)  # the person chooses; Alice is still the one signed in
    assert [c["app_id"] for c in client.get("/me/consents", headers={"Cookie": cookie}).json_body["active"]] == \
        [SANDBOX]
    none = client.get(authorize_url(pkce()[1], login_hint="demo-karim", prompt="none", scope=OPENID),
                      headers={"Cookie": cookie})
    assert redirect_params(none)["error"] == "login_required"
    # Choosing Karim on the picker is signing in as Karim: a new session.
    as_karim = signed_in(client, authorize_url(pkce()[1], login_hint="demo-karim", scope=OPENID),
                         headers={"Cookie": cookie})
    assert "Karim Benali" in html(as_karim)
    assert read_form(as_karim.body.decode()).fields
