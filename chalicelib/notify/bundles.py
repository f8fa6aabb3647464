"""How subscriptions speak FHIR R4 (Subscriptions R5 Backport): the Subscription resource an app
reads back, the SubscriptionStatus-shaped Parameters, the notification Bundle (`history`, the status
first) and the `$status` searchset. No health data ever goes into a notification: `id-only`, the
focus is a reference the app reads with its own token, under its consent."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Dict, List, Optional

from chalicelib.notify.models import SubscriptionItem
from chalicelib.notify.topics import Topic

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
SUBSCRIPTION_PROFILE = BACKPORT + "backport-subscription"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
NOTIFICATION_PROFILE = BACKPORT + "backport-subscription-notification-r4"
STATUS_OPERATION = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"
# The per-subscription secret, shown once, in the answer to the creation (decision 0017).
SECRET_EXTENSION = "https://monespacesante.example/fhir/StructureDefinition/notification-signing-secret"  # noqa: S105 - a URL
ERROR_SYSTEM = "http://hl7.org/fhir/uv/subscriptions-backport/CodeSystem/backport-subscription-error-code-cs"


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def subscription_resource(item: SubscriptionItem, topic: Topic) -> Dict[str, Any]:
    """The Subscription as the app reads it back (never with its secret)."""
    criteria: Dict[str, Any] = {}
    if item.codes:
        criteria = {"_criteria": {"extension": [
            {"url": BACKPORT + "backport-filter-criteria", "valueString": "Observation?code=" + ",".join(item.codes)}]}}
    channel: Dict[str, Any] = {"type": "rest-hook", "endpoint": item.endpoint, "payload": "application/fhir+json",
                               "_payload": {"extension": [{"url": BACKPORT + "backport-payload-content",
                                                           "valueCode": "id-only"}]}}
    if item.heartbeat_seconds:
        channel["extension"] = [{"url": BACKPORT + "backport-heartbeat-period",
                                 "valueUnsignedInt": int(item.heartbeat_seconds)}]
    resource: Dict[str, Any] = {
        "resourceType": "Subscription", "id": item.subscription_id,
        "meta": {"profile": [SUBSCRIPTION_PROFILE]},
        "status": item.status, "reason": f"{topic.title['en']} / {topic.title['fr']}",
        "criteria": topic.url, **criteria, "channel": channel}
    if item.status == "error" and item.reason:
        resource["error"] = item.reason
    if item.end is not None:
        resource["end"] = instant(item.end)
    return resource


def status_parameters(item: SubscriptionItem, topic_url: str, kind: str,
                      event: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A SubscriptionStatus (R4 backport: Parameters) of `kind` (event-notification, heartbeat,
    query-status), with one notification-event when given."""
    parameters: List[Dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"Subscription/{item.subscription_id}"}},
        {"name": "topic", "valueCanonical": topic_url},
        {"name": "status", "valueCode": item.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(int(item.events or 0))}]
    if event is not None:
        parts: List[Dict[str, Any]] = [{"name": "event-number", "valueString": str(event["number"])},
                                       {"name": "timestamp", "valueInstant": event["at"]}]
        if event.get("focus"):
            parts.append({"name": "focus", "valueReference": {"reference": event["focus"]}})
        parameters.append({"name": "notification-event", "part": parts})
    if item.status == "error" and item.last_error:
        parameters.append({"name": "error", "valueCodeableConcept": {
            "coding": [{"system": ERROR_SYSTEM, "code": "no-response"}], "text": item.last_error}})
    return {"resourceType": "Parameters", "id": secrets.token_hex(8), "meta": {"profile": [STATUS_PROFILE]},
            "parameter": parameters}


def notification_bundle(item: SubscriptionItem, topic_url: str, event: Dict[str, Any], fhir_base_url: str,
                        kind: str = "event-notification") -> Dict[str, Any]:
    """What is POSTed to the endpoint: a history Bundle, the status first, then (id-only) the focus
    as a full URL with no resource."""
    status = status_parameters(item, topic_url, kind, event if kind == "event-notification" else None)
    status_entry = {"fullUrl": f"urn:uuid:{status['id']}", "resource": status,
                    "request": {"method": "GET",
                                "url": f"{fhir_base_url}/Subscription/{item.subscription_id}/$status"},
                    "response": {"status": "200"}}
    entries: List[Dict[str, Any]] = [status_entry]
    if kind == "event-notification" and event.get("focus"):
        entries.append({"fullUrl": f"{fhir_base_url}/{event['focus']}",
                        "request": {"method": event.get("method", "PUT"), "url": event["focus"]},
                        "response": {"status": "200"}})
    return {"resourceType": "Bundle", "id": secrets.token_hex(8), "meta": {"profile": [NOTIFICATION_PROFILE]},
            "type": "history", "timestamp": event["at"], "entry": entries}
