"""Publishers submit, reviewers decide, the catalogue follows: over HTTP, with every bad input."""
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.identity import OTHER_SIRET, SANDBOX_SIRET, bearer, mint
from tests.helpers.referencing import approve, post, put, results_for


@pytest.fixture
def submitted(client, listing, publisher_token):
    created = post(client, "/publisher/apps", listing, publisher_token)
    assert created.status_code == 201, created.body
    app_id = created.json_body["app_id"]
    response = post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    assert response.status_code == 200, response.body
    return app_id


def test_the_whole_referencing_journey(client, listing, publisher_token, reviewer_token):
    # The publisher saves an incomplete draft, then completes it.
    draft = {k: v for k, v in listing.items() if k not in ("evidence", "ecoscore")}
    created = post(client, "/publisher/apps", draft, publisher_token)
    assert created.status_code == 201
    app_id, etag = created.json_body["app_id"], created.headers["ETag"]
    assert created.headers["Location"] == f"/publisher/apps/{app_id}/versions/1"

    precheck = post(client, f"/publisher/apps/{app_id}/versions/1/precheck", {}, publisher_token).json_body
    assert precheck["passed"] is False
    assert {"/evidence", "/ecoscore"} <= {f["pointer"] for f in precheck["failures"]}

    refused = post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    assert refused.status_code == 422
    assert client.get(f"/publisher/apps/{app_id}", headers=bearer(publisher_token)).json_body["latest_state"] == "draft"

    updated = put(client, f"/publisher/apps/{app_id}/versions/1", listing, publisher_token, **{"If-Match": etag})
    assert updated.status_code == 200 and updated.headers["ETag"] != etag
    assert post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token).status_code == 200

    queue = client.get("/review/queue", headers=bearer(reviewer_token)).json_body["items"]
    assert (app_id, 1) in [(item["app_id"], item["version"]) for item in queue]

    decided = approve(client, app_id, 1, reviewer_token, listing)
    assert decided.status_code == 200, decided.body
    assert decided.json_body["state"] == "published"
    assert decided.json_body["decision"]["period_years"] == 1

    page = client.get(f"/catalog/apps/{app_id}").json_body
    assert page["name"] == "Carnet de tension" and page["ecoscore"]["letter"]
    assert app_id in [a["app_id"] for a in client.get("/catalog/apps?limit=100").json_body["items"]]
    queue = client.get("/review/queue", headers=bearer(reviewer_token)).json_body["items"]
    assert app_id not in [i["app_id"] for i in queue]

    suspended = post(client, f"/review/apps/{app_id}/suspend", {"reason": "Faille de sécurité signalée"},
                     reviewer_token)
    assert suspended.status_code == 200 and suspended.json_body["status"] == "suspended"
    assert client.get(f"/catalog/apps/{app_id}").status_code == 404
    assert app_id not in [a["app_id"] for a in client.get("/catalog/apps?limit=100").json_body["items"]]

    reinstated = post(client, f"/review/apps/{app_id}/reinstate", {"reason": "Faille corrigée"}, reviewer_token)
    assert reinstated.json_body["status"] == "published"
    assert client.get(f"/catalog/apps/{app_id}").status_code == 200

    mine = client.get(f"/publisher/apps/{app_id}", headers=bearer(publisher_token)).json_body
    actions = [entry["action"] for entry in mine["history"]]
    assert actions == ["created", "updated", "submitted", "decision", "suspend", "reinstate"]
    suspension = mine["history"][4]
    assert suspension["reason"] == "Faille de sécurité signalée" and suspension["actor"]["role"] == "reviewer"
    assert mine["versions"][0]["decision"]["comment"] == "Dossier complet."


def test_a_new_version_is_reviewed_while_the_published_one_stays_live(client, listing, submitted,
                                                                      publisher_token, reviewer_token):
    approve(client, submitted, 1, reviewer_token, listing)
    started = client.post(f"/publisher/apps/{submitted}/versions", headers=bearer(publisher_token))
    assert started.status_code == 201 and started.json_body["version"] == 2
    renamed = dict(listing, name="Carnet de tension 2")
    put(client, f"/publisher/apps/{submitted}/versions/2", renamed, publisher_token,
        **{"If-Match": started.headers["ETag"]})
    post(client, f"/publisher/apps/{submitted}/versions/2/submit", {}, publisher_token)
    assert client.get(f"/catalog/apps/{submitted}").json_body["name"] == "Carnet de tension"
    approve(client, submitted, 2, reviewer_token, renamed)
    page = client.get(f"/catalog/apps/{submitted}").json_body
    assert page["name"] == "Carnet de tension 2" and page["referencing"]["period_years"] == 2
    versions = client.get(f"/publisher/apps/{submitted}", headers=bearer(publisher_token)).json_body["versions"]
    assert [(v["version"], v["state"]) for v in versions] == [(2, "published"), (1, "superseded")]


def test_suspensive_reservations_request_changes_and_unfavourable_rejects(client, listing, submitted,
                                                                          publisher_token, reviewer_token):
    changes = approve(client, submitted, 1, reviewer_token, listing,
                      opinion="favourable_with_suspensive_reservations")
    assert changes.json_body["state"] == "changes_requested"
    assert client.get(f"/catalog/apps/{submitted}").status_code == 404
    again = post(client, f"/publisher/apps/{submitted}/versions/1/submit", {}, publisher_token)
    assert again.status_code == 200
    rejected = approve(client, submitted, 1, reviewer_token, listing, opinion="unfavourable")
    assert rejected.json_body["state"] == "rejected"
    assert client.get(f"/catalog/apps/{submitted}").status_code == 404


def test_only_approved_scopes_reach_the_catalogue(client, listing, submitted, reviewer_token):
    approve(client, submitted, 1, reviewer_token, listing, scopes=["patient/Observation.rs"])
    page = client.get(f"/catalog/apps/{submitted}").json_body
    assert [d["scope"] for d in page["data_access"]] == ["patient/Observation.rs"]
    assert page["offline_access"] is False


def test_a_confidential_client_gets_its_secret_once(client, listing, publisher_token, reviewer_token):
    listing = dict(listing, client={"type": "confidential_secret"})
    app_id = post(client, "/publisher/apps", listing, publisher_token).json_body["app_id"]
    early = post(client, f"/publisher/apps/{app_id}/client-secret", {}, publisher_token)
    assert early.status_code == 409
    post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    approve(client, app_id, 1, reviewer_token, listing)
    issued = post(client, f"/publisher/apps/{app_id}/client-secret", {}, publisher_token)
    assert issued.status_code == 201 and len(issued.json_body["client_secret"]) >= 40
    detail = client.get(f"/publisher/apps/{app_id}", headers=bearer(publisher_token)).body.decode()
    assert issued.json_body["client_secret"] not in detail


# -- bad input: each case is refused clearly and changes nothing ------------------------------

def test_malformed_json_is_400(client, publisher_token):
    response = client.post("/publisher/apps", body="{not json", headers={
        "Content-Type": "application/json", **bearer(publisher_token)})
    assert response.status_code == 400 and response.json_body["error"]["code"] == "bad_request"


@pytest.mark.parametrize("depth", [65, 100_000])
def test_json_nested_too_deep_is_400_not_a_crash(client, publisher_token, depth):
    body = "[" * depth + "]" * depth
    response = client.post("/publisher/apps", body='{"a": ' + body + "}", headers={
        "Content-Type": "application/json", **bearer(publisher_token)})
    assert response.status_code == 400 and "deep" in response.json_body["error"]["message"]


def test_schema_violations_are_422_with_every_pointer(client, listing, publisher_token):
    bad = copy.deepcopy(listing)
    bad["redirect_uris"] = ["http://evil.example.com/cb"]
    bad["platforms"] = ["windows"]
    bad["publisher"]["siret"] = "123"
    before = client.get("/publisher/apps", headers=bearer(publisher_token)).json_body["items"]
    response = post(client, "/publisher/apps", bad, publisher_token)
    assert response.status_code == 422
    pointers = {d["pointer"] for d in response.json_body["error"]["details"]}
    assert {"/redirect_uris/0", "/platforms/0", "/publisher/siret"} <= pointers
    assert client.get("/publisher/apps", headers=bearer(publisher_token)).json_body["items"] == before


def test_a_body_over_256_kb_is_413(client, listing, publisher_token):
    huge = dict(listing, long_description={"fr": "x" * 300_000})
    response = post(client, "/publisher/apps", huge, publisher_token)
    assert response.status_code == 413 and response.json_body["error"]["code"] == "payload_too_large"


def test_a_body_that_is_not_json_is_415(client, publisher_token):
    response = client.post("/publisher/apps", body="name=x", headers={
        "Content-Type": "application/x-www-form-urlencoded", **bearer(publisher_token)})
    assert response.status_code == 415 and response.json_body["error"]["code"] == "unsupported_media_type"


def test_unknown_app_is_404(client, publisher_token, reviewer_token):
    assert client.get("/publisher/apps/nope", headers=bearer(publisher_token)).status_code == 404
    assert post(client, "/review/apps/nope/suspend", {"reason": "test"}, reviewer_token).status_code == 404
    assert client.get("/publisher/apps/demo-sandbox/versions/9", headers=bearer(publisher_token)).status_code == 404


@pytest.mark.parametrize("app_id", ["Not An Id", "x" * 3000, "%20", "-leading-dash"])
def test_ids_that_cannot_exist_are_404_not_500(client, app_id, publisher_token, reviewer_token):
    assert client.get(f"/publisher/apps/{app_id}", headers=bearer(publisher_token)).status_code == 404
    assert client.get(f"/catalog/apps/{app_id}").status_code == 404
    assert post(client, f"/review/apps/{app_id}/suspend", {"reason": "test"}, reviewer_token).status_code == 404
    assert post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token).status_code == 404


def test_wrong_role_and_other_organisation_are_403(client, listing, submitted, publisher_token,
                                                   other_publisher_token, reviewer_token):
    assert client.get("/review/queue", headers=bearer(publisher_token)).status_code == 403
    assert post(client, "/publisher/apps", listing, reviewer_token).status_code == 403
    theirs = client.get(f"/publisher/apps/{submitted}", headers=bearer(other_publisher_token))
    assert theirs.status_code == 403 and theirs.json_body["error"]["code"] == "forbidden"
    assert post(client, f"/publisher/apps/{submitted}/versions/1/withdraw", {},
                other_publisher_token).status_code == 403
    foreign = dict(listing, publisher=dict(listing["publisher"], siret=OTHER_SIRET))
    assert post(client, "/publisher/apps", foreign, publisher_token).status_code == 422


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer not.a.jwt"},
    bearer(mint("publisher", SANDBOX_SIRET, lifetime=-3600)),                       # expired
    bearer(mint("publisher", SANDBOX_SIRET, audience="https://another-api")),       # wrong audience
    bearer(mint("publisher", SANDBOX_SIRET, issuer="https://evil.example")),        # untrusted issuer
    bearer(mint("publisher", SANDBOX_SIRET, key=ec.generate_private_key(ec.SECP256R1()))),  # forged
    bearer(mint("publisher", SANDBOX_SIRET, key="a-shared-secret-that-is-long-enough-for-hs256",
                algorithm="HS256")),                                                  # alg confusion
    bearer(mint("publisher")),                                                        # no SIRET
    bearer(mint("admin")),                                                            # unknown role
])
def test_missing_or_invalid_tokens_are_401_with_a_challenge(client, headers):
    response = client.get("/publisher/apps", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json_body["error"]["code"] == "unauthenticated"


def test_an_unsigned_token_is_refused(client):
    import base64
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'iss': 'https://proconnect.test', 'role': 'reviewer'})}."
    assert client.get("/review/queue", headers=bearer(unsigned)).status_code == 401


def test_a_stale_update_is_412_and_a_missing_if_match_too(client, listing, publisher_token):
    created = post(client, "/publisher/apps", listing, publisher_token)
    app_id, etag = created.json_body["app_id"], created.headers["ETag"]
    assert put(client, f"/publisher/apps/{app_id}/versions/1", listing, publisher_token,
               **{"If-Match": etag}).status_code == 200
    stale = put(client, f"/publisher/apps/{app_id}/versions/1", dict(listing, name="Autre"), publisher_token,
                **{"If-Match": etag})
    assert stale.status_code == 412
    assert put(client, f"/publisher/apps/{app_id}/versions/1", listing, publisher_token).status_code == 412
    assert client.get(f"/publisher/apps/{app_id}/versions/1",
                      headers=bearer(publisher_token)).json_body["document"]["name"] == listing["name"]


def test_forbidden_transitions_are_409(client, listing, submitted, publisher_token, reviewer_token):
    draft_app = post(client, "/publisher/apps", listing, publisher_token).json_body["app_id"]
    approve_draft = approve(client, draft_app, 1, reviewer_token, listing)
    assert approve_draft.status_code == 409 and approve_draft.json_body["error"]["code"] == "conflict"
    approve(client, submitted, 1, reviewer_token, listing)
    resubmit = post(client, f"/publisher/apps/{submitted}/versions/1/submit", {}, publisher_token)
    assert resubmit.status_code == 409
    edit_published = put(client, f"/publisher/apps/{submitted}/versions/1", listing, publisher_token,
                         **{"If-Match": "*"})
    assert edit_published.status_code == 409
    assert post(client, f"/review/apps/{submitted}/reinstate", {"reason": "nothing to do"},
                reviewer_token).status_code == 409
    post(client, f"/review/apps/{submitted}/withdraw", {"reason": "fin"}, reviewer_token)
    assert post(client, f"/review/apps/{submitted}/suspend", {"reason": "trop tard"},
                reviewer_token).status_code == 409


def test_an_inconsistent_decision_is_422_and_changes_nothing(client, listing, submitted, reviewer_token):
    results = results_for(client, submitted, 1, reviewer_token)
    results["SEC-01"] = {"result": "fail", "note": "certificat absent"}
    results.pop("ETH-32")
    response = post(client, f"/review/apps/{submitted}/versions/1/decision", {
        "opinion": "favourable", "results": results,
        "approved_scopes": ["patient/Immunization.rs"]}, reviewer_token)
    assert response.status_code == 422
    pointers = {d["pointer"] for d in response.json_body["error"]["details"]}
    assert {"/results/ETH-32", "/results/SEC-01", "/approved_scopes"} <= pointers
    queue = client.get("/review/queue", headers=bearer(reviewer_token)).json_body["items"]
    assert submitted in [item["app_id"] for item in queue]
    assert client.get(f"/catalog/apps/{submitted}").status_code == 404


def test_the_queue_is_oldest_first_and_pages(client, listing, publisher_token, reviewer_token):
    ids = []
    for number in range(3):
        created = post(client, "/publisher/apps", dict(listing, name=f"App {number}"), publisher_token)
        app_id = created.json_body["app_id"]
        post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
        ids.append(app_id)
    first = client.get("/review/queue?limit=2", headers=bearer(reviewer_token)).json_body
    second = client.get(f"/review/queue?limit=2&cursor={first['next_cursor']}",
                        headers=bearer(reviewer_token)).json_body
    assert [i["app_id"] for i in first["items"] + second["items"]] == ids
    assert client.get("/review/queue?limit=0", headers=bearer(reviewer_token)).status_code == 400
    assert client.get("/review/queue?cursor=zzz", headers=bearer(reviewer_token)).status_code == 400
