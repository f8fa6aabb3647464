"""FHIR subscriptions as an app manages them (Subscriptions R5 Backport on R4): topics, create,
read, search, `$status`, delete; the scope and endpoint rules; every refusal an OperationOutcome."""
import json

import pytest

from tests.helpers.fhir import READ_ALL, WRITE_ALL
from tests.helpers.pages import html, session_cookie
from tests.helpers.smart import auth, fhir_get, fhir_post, outcome, smart_token
from tests.helpers.webhooks import secret_of, subscription

HOOK = "http://127.0.0.1:8765/notifications/hook"


@pytest.fixture
def token(client, records):
    return smart_token(client, WRITE_ALL)


def test_the_topics_are_in_the_capability_statement_and_readable_as_basic_resources(client):
    statement = client.get("/fhir/metadata").json_body
    (resource,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Subscription"]
    canonicals = {e["valueCanonical"] for e in resource["extension"]}
    assert {c.rsplit("/", 1)[1] for c in canonicals} == {"document-changed", "observation-created",
                                                          "appointment-changed", "consent-ended"}
    assert resource["operation"][0]["name"] == "status"
    topics = outcome(client.get("/fhir/Basic"), 200)
    assert {e["resource"]["id"] for e in topics["entry"]} == {c.rsplit("/", 1)[1] for c in canonicals}
    basic = outcome(client.get("/fhir/Basic/observation-created"), 200)
    urls = {e["url"].rsplit(".", 1)[1]: e for e in basic["extension"]}
    assert urls["url"]["valueUri"] in canonicals and "canFilterBy" in urls
    outcome(client.get("/fhir/Basic/nothing"), 404)


def test_an_app_subscribes_reads_searches_and_deletes_its_subscription(client, token):
    response = fhir_post(client, "/fhir/Subscription", token, subscription("observation-created", HOOK,
                                                                          codes=["http://loinc.org|29463-7"]))
    created = outcome(response, 201)
    assert created["status"] == "active" and created["channel"]["endpoint"] == HOOK
    assert secret_of(created).startswith("whsec_")
    assert response.headers["Location"].endswith(f"/fhir/Subscription/{created['id']}")
    read = outcome(fhir_get(client, f"/fhir/Subscription/{created['id']}", token), 200)
    assert "extension" not in read, "the secret is shown once, at creation"
    assert read["_criteria"]["extension"][0]["valueString"] == "Observation?code=29463-7"
    found = outcome(fhir_get(client, "/fhir/Subscription", token), 200)
    assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
    status = outcome(fhir_get(client, f"/fhir/Subscription/{created['id']}/$status", token), 200)
    parameters = {p["name"]: p for p in status["entry"][0]["resource"]["parameter"]}
    assert parameters["status"]["valueCode"] == "active" and parameters["type"]["valueCode"] == "query-status"
    assert parameters["events-since-subscription-start"]["valueString"] == "0"
    everything = outcome(fhir_get(client, "/fhir/Subscription/$status", token), 200)
    assert everything["total"] == 1
    outcome(fhir_get(client, f"/fhir/Subscription/{'0' * 32}/$status", token), 404)
    assert client.delete(f"/fhir/Subscription/{created['id']}", headers=auth(token)).status_code == 204
    outcome(fhir_get(client, f"/fhir/Subscription/{created['id']}", token), 404)
    # The citizen's access history says when the app asked to be told, and when it stopped.
    cookie = session_cookie(client, "demo-alice")
    entries = client.get("/me/access-log", headers={"Cookie": cookie}).json_body["entries"]
    told = [(e["interaction"], e["resource_type"], e["resource_id"]) for e in entries
            if e["interaction"] in ("subscribe", "unsubscribe")]
    assert told == [("unsubscribe", "Observation", f"Subscription/{created['id']}"),
                    ("subscribe", "Observation", f"Subscription/{created['id']}")]
    page = html(client.get("/account/history", headers={"Cookie": cookie}))
    assert "s'est abonnée aux changements de vos mesures de santé" in page
    assert "s'est désabonnée des changements de vos mesures de santé" in page


def test_a_topic_outside_the_granted_scopes_is_403(client, records):
    token = smart_token(client, "launch/patient patient/Observation.rs")
    refused = outcome(fhir_post(client, "/fhir/Subscription", token, subscription("document-changed", HOOK)), 403)
    assert "DocumentReference" in refused["issue"][0]["diagnostics"]
    assert fhir_post(client, "/fhir/Subscription", token,
                     subscription("observation-created", HOOK)).status_code == 201
    assert fhir_post(client, "/fhir/Subscription", token, subscription("consent-ended", HOOK)).status_code == 201


@pytest.mark.parametrize("endpoint", [
    "https://attacker.example.org/notifications",  # not registered by the app
    "http://10.0.0.7/notifications",  # not https, not loopback
    "http://127.0.0.1:8765/elsewhere",  # loopback, but not below a registered path
    "http://user:pw@127.0.0.1/notifications/x",  # credentials
    "ftp://127.0.0.1/notifications",
])
def test_an_endpoint_not_registered_in_the_approved_listing_is_refused(client, token, endpoint):
    refused = outcome(fhir_post(client, "/fhir/Subscription", token, subscription("document-changed", endpoint)), 422)
    assert refused["issue"][0]["code"] == "processing"


@pytest.mark.parametrize("change, pointer", [
    (lambda s: s.update(criteria="https://elsewhere.example/SubscriptionTopic/x"), "Subscription.criteria"),
    (lambda s: s["channel"].update(type="websocket"), "Subscription.channel.type"),
    (lambda s: s["channel"]["_payload"]["extension"][0].update(valueCode="full-resource"),
     "Subscription.channel.payload.extension"),
    (lambda s: s.update(end="2000-01-01T00:00:00Z"), "Subscription.end"),
])
def test_a_malformed_subscription_is_422_naming_the_element(client, token, change, pointer):
    body = subscription("document-changed", HOOK)
    change(body)
    refused = outcome(fhir_post(client, "/fhir/Subscription", token, body), 422)
    assert pointer in {e for issue in refused["issue"] for e in issue.get("expression", [])}


def test_a_filter_on_a_topic_without_filters_and_a_bad_filter_are_refused(client, token):
    body = subscription("document-changed", HOOK, codes=["29463-7"])
    outcome(fhir_post(client, "/fhir/Subscription", token, body), 422)
    body = subscription("observation-created", HOOK, codes=["29463-7"])
    body["_criteria"]["extension"][0]["valueString"] = "Observation?date=ge2020"
    outcome(fhir_post(client, "/fhir/Subscription", token, body), 422)


def test_without_a_token_or_after_withdrawal_subscriptions_are_401(client, token):
    outcome(client.get("/fhir/Subscription"), 401)
    created = fhir_post(client, "/fhir/Subscription", token, subscription("document-changed", HOOK)).json_body
    cookie = session_cookie(client, "demo-alice")
    assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
    outcome(fhir_get(client, f"/fhir/Subscription/{created['id']}", token), 401)
    outcome(fhir_post(client, "/fhir/Subscription", token, subscription("document-changed", HOOK)), 401)


def test_another_apps_or_patients_subscription_is_not_found(client, records, token):
    created = fhir_post(client, "/fhir/Subscription", token, subscription("document-changed", HOOK)).json_body
    other = smart_token(client, READ_ALL, patient="demo-karim")
    outcome(fhir_get(client, f"/fhir/Subscription/{created['id']}", other), 404)
    assert client.delete(f"/fhir/Subscription/{created['id']}", headers=auth(other)).status_code == 404
    assert json.loads(fhir_get(client, "/fhir/Subscription", other).body)["total"] == 0
