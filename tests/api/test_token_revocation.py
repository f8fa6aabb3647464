"""Revoking a token (RFC 7009) ends its whole family at once: the refresh tokens, and the access
tokens at their very next FHIR call, at no extra DynamoDB round trip; other authorizations of the
same consent live on."""
from chalicelib.consent.models import Consent
from chalicelib.observability import dynamodb_usage
from tests.helpers.oauth import (OFFLINE, SANDBOX, authorize_url, consent, cookie_of, exchange, form_post, pkce,
                                 redirect_params, refresh, signed_in, two_authorizations)
from tests.helpers.pages import session_cookie
from tests.helpers.smart import fhir_get


def reads(client, tokens):
    return fhir_get(client, "/fhir/Observation", tokens, _count=1)


def test_revoking_an_access_token_stops_it_and_its_refresh_token_at_once(client, records):
    revoked, other = two_authorizations(client)
    assert reads(client, revoked).status_code == 200
    answer = form_post(client, "/oauth/revoke", token=revoked["access_token"], client_id=SANDBOX)
    assert answer.status_code == 200
    refused = reads(client, revoked)
    assert refused.status_code == 401 and refused.json_body["resourceType"] == "OperationOutcome"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert refresh(client, revoked["refresh_token"]).json_body["error"] == "invalid_grant"
    assert form_post(client, "/oauth/introspect", token=revoked["access_token"],
                     client_id=SANDBOX).json_body == {"active": False}
    # The other authorization of the same consent is not touched.
    assert reads(client, other).status_code == 200
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_stops_the_access_tokens_of_its_family(client, records):
    tokens, other = two_authorizations(client)
    refreshed = refresh(client, tokens["refresh_token"]).json_body
    assert reads(client, tokens).status_code == 200 and reads(client, refreshed).status_code == 200
    assert form_post(client, "/oauth/revoke", token=refreshed["refresh_token"], client_id=SANDBOX).status_code == 200
    assert reads(client, tokens).status_code == 401  # issued before the refresh: the same family
    assert reads(client, refreshed).status_code == 401
    assert reads(client, other).status_code == 200


def test_the_citizen_sees_the_refusal_of_a_revoked_token(client, records):
    tokens, _ = two_authorizations(client)
    form_post(client, "/oauth/revoke", token=tokens["access_token"], client_id=SANDBOX)
    reads(client, tokens)
    log = client.get("/me/access-log", headers={"Cookie": session_cookie(client, "demo-alice")}).json_body["entries"]
    assert log[0]["outcome"] == "refused" and log[0]["reason"] == "token-revoked"


def test_the_revocation_check_costs_no_round_trip(client, records):
    revoked, other = two_authorizations(client)
    form_post(client, "/oauth/revoke", token=revoked["access_token"], client_id=SANDBOX)
    with dynamodb_usage() as usage:
        assert reads(client, other).status_code == 200
    assert sorted(call.operation for call in usage.calls) == ["BatchGetItem", "PutItem", "Query"]
    with dynamodb_usage() as usage:
        assert reads(client, revoked).status_code == 401
    # The same calls: the search's Query ran alongside the checks, and the PutItem logs the refusal.
    assert sorted(call.operation for call in usage.calls) == ["BatchGetItem", "PutItem", "Query"]


def test_revocations_beyond_the_bound_end_every_token_of_the_consent_and_keep_the_consent_small(client, records):
    verifier, challenge = pkce()
    response, page = consent(client, challenge, scope=OFFLINE)
    families = [exchange(client, redirect_params(response)["code"], verifier).json_body]
    for _ in range(24):
        verifier, challenge = pkce()
        again = signed_in(client, authorize_url(challenge, scope=OFFLINE), headers={"Cookie": cookie_of(page)})
        families.append(exchange(client, redirect_params(again)["code"], verifier).json_body)
    for tokens in families[:-1]:
        assert form_post(client, "/oauth/revoke", token=tokens["access_token"], client_id=SANDBOX).status_code == 200
        held = Consent.get("demo-alice", SANDBOX).revoked_families or {}
        assert len(held) <= 20
    # Past the bound every token of the consent stopped, the last family's too: the app signs in again.
    assert reads(client, families[-1]).status_code == 401
    assert all(reads(client, tokens).status_code == 401 for tokens in families[:3])


def test_after_an_emergency_rotation_tokens_already_used_are_refused_and_refresh_gets_new_ones(client, records):
    from app import token_keys
    tokens, _ = two_authorizations(client)
    assert reads(client, tokens).status_code == 200  # verified, and kept as such by this container
    old_kid = client.get("/oauth/jwks").json_body["keys"][0]["kid"]
    token_keys.ring.replace_all()  # what `python -m chalicelib.oauth.keys rotate-now` does
    refused = reads(client, tokens)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    renewed = refresh(client, tokens["refresh_token"]).json_body
    assert reads(client, renewed).status_code == 200, "refresh tokens are opaque: not signed, still good"
    assert old_kid not in [key["kid"] for key in client.get("/oauth/jwks").json_body["keys"]]
