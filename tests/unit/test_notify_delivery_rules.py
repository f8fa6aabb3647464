"""The delivery's own rules, without the pipeline: a hostile endpoint is bounded (deadline, answer
cap, no redirect, no private address outside local runs), signatures verify as Standard Webhooks
says, endpoints must be registered, and stream records become the right changes."""
import time

import pytest

from chalicelib.notify import webhook
from chalicelib.notify.events import consent_change, record_change
from chalicelib.notify.service import endpoint_refusal
from chalicelib.notify.signing import signed_headers, verify
from tests.helpers.webhooks import Receiver, closed_port

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_2xx_answer_is_a_delivery():
    with Receiver() as hook:
        outcome = webhook.post(hook.url(), b"{}", {"webhook-id": "x"}, allow_private=True)
        assert outcome.ok and outcome.status == 200
        assert hook.next().headers["webhook-id"] == "x"


def test_a_redirect_is_never_followed():
    with Receiver("redirect") as hook:
        outcome = webhook.post(hook.url(), b"{}", {}, allow_private=True)
    assert not outcome.ok and outcome.status == 307 and "not followed" in outcome.error


def test_a_huge_answer_is_read_no_further_than_the_cap():
    with Receiver("huge") as hook:
        started = time.monotonic()
        outcome = webhook.post(hook.url(), b"{}", {}, allow_private=True)
    assert not outcome.ok and outcome.error == "not an HTTP answer"
    assert time.monotonic() - started < 2


def test_a_slow_endpoint_is_cut_at_the_deadline():
    with Receiver("slow", delay=3) as hook:
        outcome = webhook.post(hook.url(), b"{}", {}, allow_private=True, deadline_seconds=0.5)
    assert not outcome.ok and "no answer within 0.5 s" == outcome.error and outcome.seconds < 1


def test_an_unreachable_endpoint_fails_fast():
    outcome = webhook.post(f"http://127.0.0.1:{closed_port()}/x", b"{}", {}, allow_private=True)
    assert not outcome.ok and outcome.error.startswith("unreachable") and outcome.seconds < 1


def test_outside_local_runs_no_private_address_is_called():
    outcome = webhook.post("http://127.0.0.1:9/x", b"{}", {}, allow_private=False)
    assert not outcome.ok and "non-public" in outcome.error


def test_a_signature_verifies_with_its_secret_only_and_not_once_the_body_changed():
    body = b'{"resourceType":"Bundle"}'
    headers = signed_headers(SECRET, "sub-1", body)
    assert verify(SECRET, headers, body)
    assert not verify(SECRET, headers, body + b" ")
    assert not verify("whsec_" + "A" * 32, headers, body)
    assert not verify(SECRET, {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}, body)


@pytest.mark.parametrize("endpoint, refused", [
    ("https://app.example.org/hooks/mes", False),
    ("https://app.example.org/hooks/mes/patient-42", False),
    ("https://app.example.org/hooksmes", True),
    ("https://app.example.org:8443/hooks/mes", True),
    ("http://app.example.org/hooks/mes", True),
    ("https://evil.example.org/hooks/mes", True),
    ("http://127.0.0.1:5000/notifications/a", False),
])
def test_endpoints_must_be_below_a_registered_one(endpoint, refused):
    registered = ["https://app.example.org/hooks/mes", "http://127.0.0.1/notifications"]
    assert (endpoint_refusal(endpoint, registered, allow_loopback=True) is not None) == refused


def test_loopback_is_refused_outside_local_runs():
    assert endpoint_refusal("http://127.0.0.1:5000/notifications/a", ["http://127.0.0.1/notifications"],
                            allow_loopback=False) is not None


def _record(event, new=None, old=None, key="Observation#abc"):
    images = {**({"NewImage": new} if new else {}), **({"OldImage": old} if old else {})}
    return {"eventName": event, "dynamodb": {"Keys": {"patient_id": {"S": "p"}, "item_key": {"S": key}}, **images}}


def test_stream_records_become_changes_but_never_for_a_hidden_document():
    change = record_change(_record("INSERT", {"code_key": {"S": "Observation#29463-7#2026-11-20#abc"},
                                              "category": {"S": "vital-signs"}}))
    assert (change.resource_type, change.interaction, change.code, change.category) == \
        ("Observation", "create", "29463-7", "vital-signs")
    assert record_change(_record("MODIFY", {"hidden": {"BOOL": True}}, {}, key="DocumentReference#d")) is None
    assert record_change(_record("INSERT", {}, key="Export#latest")) is None
    assert record_change(_record("REMOVE", old={}, key="Appointment#a")).interaction == "delete"


def test_only_a_consent_that_stopped_being_active_is_a_change():
    active = {"kind": {"S": "consent"}, "status": {"S": "active"}}
    revoked = {"kind": {"S": "consent"}, "status": {"S": "revoked"}}
    assert consent_change(_record("MODIFY", revoked, active, key="demo-sandbox")).app_id == "demo-sandbox"
    assert consent_change(_record("MODIFY", active, active, key="demo-sandbox")) is None
    assert consent_change(_record("INSERT", active, key="demo-sandbox#2026#x")) is None


def test_under_a_representatives_consent_a_document_hidden_from_representatives_is_never_notified():
    from types import SimpleNamespace

    from chalicelib.notify.delivery import withheld
    shown = SimpleNamespace(hidden=None, hidden_from_representatives=None)
    secret = SimpleNamespace(hidden=None, hidden_from_representatives=True)
    parent, own = SimpleNamespace(given_as="representative"), SimpleNamespace(given_as=None)
    assert not withheld(parent, shown) and not withheld(own, secret)  # the patient's own apps see it
    assert withheld(parent, secret) and withheld(own, None)
    assert withheld(own, SimpleNamespace(hidden=True, hidden_from_representatives=None))
