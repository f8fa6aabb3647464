"""Per-app quotas over HTTP: an app over its quota is refused with 429 and Retry-After, in the
dialect of the API it called, while other apps go on; every answer tells the app where it stands;
the commission decides an app's quota (docs/decisions/0013-per-app-quotas.md)."""
import itertools
import time

import pytest

import app as application
from chalicelib.catalog.models import HEAD_VERSION, STATUS_VERSION, AppHead, AppStatus
from chalicelib.oauth.quotas import Quota
from tests.helpers.load import token_for
from tests.helpers.oauth import SANDBOX, consent, exchange, pkce, redirect_params, refresh
from tests.helpers.referencing import all_scopes, post, results_for


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


_HOURS = itertools.count(1)


@pytest.fixture
def clocks(monkeypatch):
    """The quotas' clocks, hours ahead of what earlier tests left in this container (even with
    these clocks): every bucket full, a new window."""
    hours = 3600 * next(_HOURS)
    monotonic, wall = Clock(time.monotonic() + hours), Clock(time.time() + hours)
    monkeypatch.setattr(application.quotas, "monotonic", monotonic)
    monkeypatch.setattr(application.quotas, "wall", wall)
    return monotonic, wall


def quota(monkeypatch, app_id, rate, burst):
    monkeypatch.setitem(application.quotas.configured, app_id, Quota(rate, burst))


def search(client, token):
    return client.get("/fhir/Observation?_count=1", headers={"Authorization": f"Bearer {token}"})


def test_an_app_over_its_quota_gets_429_while_another_goes_on(client, records, clocks, monkeypatch):
    monotonic, _ = clocks
    quota(monkeypatch, "gluco-suivi", rate=1, burst=3)
    greedy = token_for("demo-alice", AppHead.get("gluco-suivi", HEAD_VERSION))
    modest = token_for("demo-alice", AppHead.get("neuf-lunes", HEAD_VERSION))
    assert [search(client, greedy).status_code for _ in range(3)] == [200, 200, 200]
    refused = search(client, greedy)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    outcome = refused.json_body
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "throttled"
    assert "quota" in outcome["issue"][0]["diagnostics"]
    assert refused.headers["RateLimit"].startswith('"fhir";r=0;')
    assert [search(client, modest).status_code for _ in range(5)] == [200] * 5  # the other app goes on
    monotonic.now += 1.0  # one call a second
    assert search(client, greedy).status_code == 200


def test_every_fhir_answer_says_the_policy_and_what_is_left(client, records, clocks, monkeypatch):
    quota(monkeypatch, "gluco-suivi", rate=2, burst=5)
    token = token_for("demo-alice", AppHead.get("gluco-suivi", HEAD_VERSION))
    answers = [search(client, token) for _ in range(2)]
    assert [a.headers["RateLimit-Policy"] for a in answers] == ['"fhir";q=25;w=10'] * 2  # 2/s x 10 s + 5
    assert [a.headers["RateLimit"].split(";")[1] for a in answers] == ["r=4", "r=3"]


def test_a_refresh_over_the_quota_is_an_oauth_429_and_the_refresh_token_stays_usable(client, clocks,
                                                                                     monkeypatch):
    monotonic, _ = clocks
    verifier, challenge = pkce()
    response, _ = consent(client, challenge, scope="launch/patient patient/Observation.rs offline_access")
    tokens = exchange(client, redirect_params(response)["code"], verifier).json_body
    quota(monkeypatch, SANDBOX, rate=1, burst=1)
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200
    refused = refresh(client, first.json_body["refresh_token"])
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json_body["error"] == "temporarily_unavailable"
    assert "quota" in refused.json_body["error_description"]
    monotonic.now += 1.0
    again = refresh(client, first.json_body["refresh_token"])  # the refused request consumed nothing
    assert again.status_code == 200, again.body


def test_a_failed_token_request_does_not_use_up_the_apps_quota(client, clocks, monkeypatch):
    """Anyone may send a token request naming a public client: only requests that would be served
    count, so that a stranger cannot spend an app's quota."""
    quota(monkeypatch, SANDBOX, rate=1, burst=1)
    for _ in range(5):
        assert refresh(client, "not-a-refresh-token").json_body["error"] == "invalid_grant"
    verifier, challenge = pkce()
    response, _ = consent(client, challenge, scope="launch/patient patient/Observation.rs")
    assert exchange(client, redirect_params(response)["code"], verifier).status_code == 200


def test_the_commission_decides_an_apps_quota(client, records, listing, publisher_token, reviewer_token, clocks):
    created = post(client, "/publisher/apps", listing, publisher_token)
    app_id = created.json_body["app_id"]
    post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    decision = {"opinion": "favourable", "results": results_for(client, app_id, 1, reviewer_token),
                "approved_scopes": all_scopes(listing), "quota": {"rate": 800, "burst": 2000}}
    decided = post(client, f"/review/apps/{app_id}/versions/1/decision", decision, reviewer_token)
    assert decided.status_code == 200, decided.body
    assert decided.json_body["decision"]["quota"] == {"rate": 800, "burst": 2000}
    assert AppStatus.get(app_id, STATUS_VERSION).quota == {"rate": 800, "burst": 2000}
    token = token_for("demo-alice", AppHead.get(app_id, HEAD_VERSION))  # issuing it read the app's quota
    assert search(client, token).headers["RateLimit-Policy"] == '"fhir";q=10000;w=10'  # 800/s x 10 s + 2000
    # A later change reaches warm containers through the status item that the FHIR gate reads
    # anyway: the call after that read is counted against it.
    status = AppStatus.get(app_id, STATUS_VERSION)
    status.quota = {"rate": 100, "burst": 200}
    status.save()
    policies = [search(client, token).headers["RateLimit-Policy"] for _ in range(2)]
    assert policies == ['"fhir";q=10000;w=10', '"fhir";q=1200;w=10']


@pytest.mark.parametrize("bad", [{"rate": 0, "burst": 10}, {"rate": 10}, {"rate": 10, "burst": 10, "per": "day"},
                                 {"rate": 10_001, "burst": 10}, {"rate": "10", "burst": 10}])
def test_a_malformed_quota_in_a_decision_is_422_and_decides_nothing(client, listing, publisher_token,
                                                                   reviewer_token, bad):
    created = post(client, "/publisher/apps", listing, publisher_token)
    app_id = created.json_body["app_id"]
    post(client, f"/publisher/apps/{app_id}/versions/1/submit", {}, publisher_token)
    decision = {"opinion": "favourable", "results": results_for(client, app_id, 1, reviewer_token),
                "approved_scopes": all_scopes(listing), "quota": bad}
    response = post(client, f"/review/apps/{app_id}/versions/1/decision", decision, reviewer_token)
    assert response.status_code == 422
    assert any(d["pointer"].startswith("/quota") for d in response.json_body["error"]["details"])
    assert client.get(f"/catalog/apps/{app_id}").status_code == 404
