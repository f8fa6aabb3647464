"""Notifications as an app receives them: the same stream handler and delivery worker as on AWS
(moto's streams and queue read by notify/local.py), a webhook receiver on 127.0.0.1. Signed, named,
numbered; only while the consent stands; never a hidden document; a failing endpoint backs off, then
`error`, visible in `$status`; a hostile endpoint is bounded and never slows another app; a
consent past its end is told as a withdrawal is; an idle subscription gets its heartbeats."""
import time
from datetime import timedelta

import pytest

from chalicelib.notify.models import SubscriptionItem
from tests.helpers.fhir import WRITE_ALL, heart_rate, text_document, weight
from tests.helpers.pages import session_cookie
from tests.helpers.services import FixedClock, fhir_service, store
from tests.helpers.smart import fhir_get, fhir_post, smart_token
from tests.helpers.webhooks import Receiver, closed_port, secret_of, subscription


@pytest.fixture
def token(client, records):
    return smart_token(client, WRITE_ALL)


def subscribe(client, token, topic, endpoint, **options):
    response = fhir_post(client, "/fhir/Subscription", token, subscription(topic, endpoint, **options))
    assert response.status_code == 201, response.body
    return response.json_body


def status_of(client, token, created):
    bundle = fhir_get(client, f"/fhir/Subscription/{created['id']}/$status", token).json_body
    return {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}


def test_a_new_measure_is_notified_signed_then_the_withdrawal_and_nothing_after(client, token, notify_pipeline):
    with Receiver() as hook:
        measures = subscribe(client, token, "observation-created", hook.url())
        consent = subscribe(client, token, "consent-ended", hook.url("/notifications/consent"))
        created = fhir_post(client, "/fhir/Observation", token, weight()).json_body
        notification = hook.next()
        assert notification.signed_by(secret_of(measures)) and not notification.signed_by(secret_of(consent))
        assert notification.bundle["type"] == "history"
        assert notification.status["subscription"]["valueReference"]["reference"] == f"Subscription/{measures['id']}"
        assert notification.status["type"]["valueCode"] == "event-notification"
        assert notification.event["event-number"] == "1"
        assert notification.event["focus"] == f"Observation/{created['id']}"
        assert "resource" not in notification.bundle["entry"][1], "id-only: no health data in the notification"
        assert "72.5" not in notification.body.decode()
        assert notification.headers["webhook-id"] == f"{measures['id']}-1"

        cookie = session_cookie(client, "demo-alice")
        assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
        withdrawal = hook.next()
        assert withdrawal.path == "/notifications/consent" and withdrawal.signed_by(secret_of(consent))
        assert withdrawal.event["event-number"] == "1"
        # The app's token is refused now; a write by another platform (the DMP) is not told.
        assert fhir_post(client, "/fhir/Observation", token, weight(80)).status_code == 401
        store(fhir_service(FixedClock()), "demo-alice", "Observation", "f" * 32, weight(81))
        hook.nothing_within(1.5)


def test_only_the_codes_asked_for_and_never_a_hidden_document(client, token, notify_pipeline):
    with Receiver() as hook:
        weights = subscribe(client, token, "observation-created", hook.url(), codes=["http://loinc.org|29463-7"])
        documents = subscribe(client, token, "document-changed", hook.url("/notifications/documents"))
        fhir_post(client, "/fhir/Observation", token, heart_rate())
        mine = fhir_post(client, "/fhir/Observation", token, weight()).json_body
        first = hook.next()
        assert first.event["focus"] == f"Observation/{mine['id']}" and first.signed_by(secret_of(weights))
        document = fhir_post(client, "/fhir/DocumentReference", token, text_document()).json_body
        told = hook.next()
        assert told.event["focus"] == f"DocumentReference/{document['id']}" and told.signed_by(secret_of(documents))
        cookie = session_cookie(client, "demo-alice")
        hidden = client.put(f"/me/documents/{document['id']}/visibility", headers={
            "Cookie": cookie, "Content-Type": "application/json"}, body='{"hidden": true}')
        assert hidden.status_code in (200, 204), hidden.body
        hook.nothing_within(1.0)
        assert status_of(client, token, weights)["events-since-subscription-start"]["valueString"] == "1"


def test_an_unreachable_endpoint_backs_off_then_errors_and_never_delays_another(client, token, notify_pipeline):
    with Receiver() as hook:
        dead = subscribe(client, token, "observation-created", f"http://127.0.0.1:{closed_port()}/notifications/x")
        alive = subscribe(client, token, "observation-created", hook.url())
        started = time.monotonic()
        fhir_post(client, "/fhir/Observation", token, weight())
        arrived = hook.next()
        assert arrived.signed_by(secret_of(alive)) and arrived.at - started < 3
        status = status_of(client, token, dead)
        assert status["status"]["valueCode"] == "active"
        deadline = time.monotonic() + 15
        while status["status"]["valueCode"] != "error" and time.monotonic() < deadline:
            time.sleep(0.3)
            status = status_of(client, token, dead)
        assert status["status"]["valueCode"] == "error", "after the retries (1 s, 1 s), the subscription errs"
        assert "unreachable" in status["error"]["valueCodeableConcept"]["text"]
        read = fhir_get(client, f"/fhir/Subscription/{dead['id']}", token).json_body
        assert read["status"] == "error" and read["error"]
        # The error stops attempts: a new event is numbered for the healthy subscription only.
        fhir_post(client, "/fhir/Observation", token, weight(71))
        assert hook.next().event["event-number"] == "2"
        assert status_of(client, token, dead)["events-since-subscription-start"]["valueString"] == "1"


def test_a_slow_endpoint_is_cut_at_the_deadline_and_another_apps_notification_goes_first(
        client, token, notify_pipeline, records):
    with Receiver("hang", delay=30) as tarpit, Receiver() as hook:
        other = smart_token(client, WRITE_ALL, patient="demo-karim")
        subscribe(client, token, "observation-created", tarpit.url())
        subscribe(client, other, "observation-created", hook.url())
        fhir_post(client, "/fhir/Observation", token, weight())
        started = time.monotonic()
        fhir_post(client, "/fhir/Observation", other, weight())
        assert hook.next(timeout=5).at - started < 2.5
        waited = time.monotonic() + 5  # the tarpit's attempt runs beside it: it may register a moment later
        while tarpit.attempts < 1 and time.monotonic() < waited:
            time.sleep(0.05)
        assert tarpit.attempts >= 1


def test_a_consent_past_its_end_is_told_by_the_sweep_once_then_nothing(client, token, notify_pipeline):
    import app as application
    with Receiver() as hook:
        measures = subscribe(client, token, "observation-created", hook.url())
        ended = subscribe(client, token, "consent-ended", hook.url("/notifications/consent"))
        expires_at = application.consent_service.find("demo-alice", "demo-sandbox").expires_at
        assert application.consent_service.end_expired(expires_at - timedelta(minutes=1)) == 0
        # The clock moves past the end (the child's 18th birthday, or the consent's own term).
        assert application.consent_service.end_expired(expires_at + timedelta(minutes=15)) == 1
        told = hook.next()
        assert told.path == "/notifications/consent" and told.signed_by(secret_of(ended))
        assert told.status["type"]["valueCode"] == "event-notification" and told.event["event-number"] == "1"
        assert application.consent_service.end_expired(expires_at + timedelta(minutes=30)) == 0, "told once"
        notify_pipeline.settle()
        assert SubscriptionItem.get("demo-alice", f"sub#demo-sandbox#{ended['id']}").status == "off"
        store(fhir_service(FixedClock()), "demo-alice", "Observation", "e" * 32, weight(81))
        notify_pipeline.settle()  # the stream read and the fan-out done: nothing was queued
        hook.nothing_within(0.2)
        assert SubscriptionItem.get("demo-alice", f"sub#demo-sandbox#{measures['id']}").events == 0


def test_an_idle_subscription_with_a_period_gets_a_heartbeat_and_a_busy_one_none(client, token, notify_pipeline):
    import app as application
    with Receiver() as hook:
        idle = subscribe(client, token, "observation-created", hook.url("/notifications/idle"), heartbeat=60,
                         codes=["http://loinc.org|29463-7"])
        busy = subscribe(client, token, "observation-created", hook.url("/notifications/busy"), heartbeat=60)
        fhir_post(client, "/fhir/Observation", token, heart_rate())
        assert hook.next().path == "/notifications/busy"
        notify_pipeline.settle()
        due = SubscriptionItem.get("demo-alice", f"sub#demo-sandbox#{idle['id']}").heartbeat_due
        assert application.heartbeats.sweep(due) == 1, "the busy one was told something within its period"
        beat = hook.next()
        assert beat.path == "/notifications/idle" and beat.signed_by(secret_of(idle))
        assert beat.status["type"]["valueCode"] == "heartbeat" and "notification-event" not in beat.status
        assert beat.status["events-since-subscription-start"]["valueString"] == "0"
        assert beat.headers["webhook-id"].startswith(f"{idle['id']}-heartbeat-")
        assert len(beat.bundle["entry"]) == 1, "a heartbeat has no focus"
        assert application.heartbeats.sweep(due) == 0, "claimed once: an overlapping sweep sends nothing"
        assert status_of(client, token, busy)["events-since-subscription-start"]["valueString"] == "1"
        # The consent withdrawn, no heartbeat goes, and the next is asked for only a day later.
        cookie = session_cookie(client, "demo-alice")
        assert client.delete("/me/consents/demo-sandbox", headers={"Cookie": cookie}).status_code == 200
        assert application.heartbeats.sweep(due + timedelta(minutes=5)) == 2
        notify_pipeline.settle()
        hook.nothing_within(0.3)
        later = SubscriptionItem.get("demo-alice", f"sub#demo-sandbox#{idle['id']}").heartbeat_due
        assert later > due + timedelta(hours=23)
