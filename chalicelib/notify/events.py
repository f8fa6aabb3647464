"""The stream handler: what changed in the Records and Consents tables (DynamoDB Streams records,
as Lambda hands them over) becomes numbered notifications on the queue, one per subscription the
change concerns; accesses in the Audit table become alerts for citizens who asked for one at
each access. On AWS this is the `notify_fanout` Lambda (app.py); locally notify/local.py reads
moto's streams and calls the same `handle` with the same records.

Per citizen and batch: one Query of the citizen's subscriptions, one BatchGetItem of the consents
and app status items concerned, one UpdateItem per notification (its number); one SendMessageBatch
per ten notifications. Nothing here runs on a FHIR call."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from chalicelib.clock import Clock
from chalicelib.notify.models import SubscriptionItem
from chalicelib.notify.store import AlertStore, SubscriptionGone, SubscriptionStore
from chalicelib.notify.topics import Topics
from chalicelib.oauth.scopes import InvalidScope, ScopeRequest, categories_allowed
from chalicelib.records.store import ActivityCounts

RECORD_TYPES = ("DocumentReference", "Observation", "Appointment")
_INTERACTIONS = {"INSERT": "create", "MODIFY": "update", "REMOVE": "delete"}


@dataclass(frozen=True)
class Change:
    """One change an app may be told of: a resource of a citizen's record, or a consent that ended."""

    patient_id: str
    resource_type: str  # DocumentReference | Observation | Appointment | Consent
    interaction: str  # create | update | delete
    resource_id: Optional[str] = None
    code: Optional[str] = None
    category: Optional[str] = None
    app_id: Optional[str] = None  # a consent's app
    at: Optional[datetime] = None


def _text(image: Dict[str, Any], name: str) -> Optional[str]:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


def table_of(record: Dict[str, Any]) -> str:
    """The table a stream record comes from: arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>."""
    return str(record.get("eventSourceARN", "")).split(":table/", 1)[-1].split("/", 1)[0]


def record_change(record: Dict[str, Any]) -> Optional[Change]:
    """The change a Records table stream record tells of, if any app may be told of it: never a
    document the citizen hid, never the Patient or an export job."""
    data = record.get("dynamodb") or {}
    keys, new, old = data.get("Keys") or {}, data.get("NewImage") or {}, data.get("OldImage") or {}
    resource_type, _, resource_id = str(_text(keys, "item_key") or "").partition("#")
    interaction = _INTERACTIONS.get(str(record.get("eventName")))
    if resource_type not in RECORD_TYPES or interaction is None or not resource_id:
        return None
    image = new or old
    if (new.get("hidden") or {}).get("BOOL"):
        return None  # hidden from every app: no notification, whatever happened to it
    if interaction == "delete" and (old.get("hidden") or {}).get("BOOL"):
        return None
    code_key = _text(image, "code_key") or ""
    code = code_key.split("#")[1] if code_key.count("#") >= 3 else None
    at = data.get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(float(at), timezone.utc) if isinstance(at, (int, float)) else None
    return Change(str(_text(keys, "patient_id")), resource_type, interaction, resource_id, code,
                  _text(image, "category"), at=moment)


def consent_change(record: Dict[str, Any]) -> Optional[Change]:
    """A consent that stopped being active: withdrawn, or marked `expired` by the expiry sweep
    (ConsentService.end_expired) once past its end; an app suspended does not write it."""
    data = record.get("dynamodb") or {}
    keys, new, old = data.get("Keys") or {}, data.get("NewImage") or {}, data.get("OldImage") or {}
    item_key = str(_text(keys, "item_key") or "")
    if "#" in item_key or _text(old, "kind") != "consent" or _text(old, "status") != "active":
        return None
    if new and _text(new, "status") == "active":
        return None
    return Change(str(_text(keys, "patient_id")), "Consent", "update", app_id=item_key)


class FanOut:
    def __init__(self, clock: Clock, topics: Topics, queue: Any, records_table: str, consents_table: str,
                 audit_table: str, store: Optional[SubscriptionStore] = None,
                 alerts: Optional[AlertStore] = None) -> None:
        self.clock, self.topics, self.queue = clock, topics, queue
        self.records_table, self.consents_table, self.audit_table = records_table, consents_table, audit_table
        self.store = store or SubscriptionStore()
        self.alerts = alerts or AlertStore()
        self.activity = ActivityCounts()

    def handle(self, event: Dict[str, Any]) -> Dict[str, int]:
        """A batch of stream records (Lambda's event): every notification and alert queued, or an
        exception, and Lambda hands the same batch again (at least once)."""
        changes: Dict[str, List[Change]] = defaultdict(list)
        accesses: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
        counted: Dict[Tuple[str, str], int] = defaultdict(int)  # (app, day): accesses, for the évaluation
        for record in event.get("Records") or []:
            table = table_of(record)
            change = None
            if table == self.records_table:
                change = record_change(record)
            elif table == self.consents_table:
                change = consent_change(record)
            elif table == self.audit_table and record.get("eventName") == "INSERT":
                image = (record.get("dynamodb") or {}).get("NewImage") or {}
                if image.get("patient_id") and image.get("app_id"):  # an access (not an app's daily count)
                    accesses[str(_text(image, "patient_id"))].append(image)
                    counted[(str(_text(image, "app_id")), str(_text(image, "at") or "")[:10])] += 1
            if change is not None:
                changes[change.patient_id].append(change)
        messages: List[Dict[str, Any]] = []
        for patient_id, patient_changes in changes.items():
            messages += self._notifications(patient_id, patient_changes)
        messages += self._alerts(accesses)
        if messages:
            self.queue.send(messages)
        if counted:
            self.activity.add(counted)
        return {"notifications": sum(1 for m in messages if m["kind"] == "event"),
                "alerts": sum(1 for m in messages if m["kind"] == "alert")}

    def _notifications(self, patient_id: str, changes: List[Change]) -> List[Dict[str, Any]]:
        now = self.clock()
        subscriptions = [s for s in self.store.of_patient(patient_id)
                         if s.status == "active" and (s.end is None or s.end > now)]
        wanted = [(s, c) for c in changes for s in subscriptions if self._concerns(s, c)]
        if not wanted:
            return []
        consents, statuses = self.store.consents_and_statuses(patient_id, {s.app_id for s, _ in wanted})
        messages = []
        for subscription, change in wanted:
            consent, status = consents.get(subscription.app_id), statuses.get(subscription.app_id)
            if change.resource_type != "Consent":
                if consent is None or consent.status != "active" or consent.expires_at <= now \
                        or status is None or status.refuses(status.epoch, now) or not _still_allowed(consent, change):
                    continue  # only while the consent stands, and within what it grants now
            try:
                number = self.store.number_event(subscription)
            except SubscriptionGone:
                continue
            messages.append(_message(subscription, change, number, change.at or now))
        return messages

    def _concerns(self, subscription: SubscriptionItem, change: Change) -> bool:
        topic = self.topics.by_id(subscription.topic)
        if topic is None or topic.resource != change.resource_type or change.interaction not in topic.interactions:
            return False
        if change.resource_type == "Consent":
            return change.app_id == subscription.app_id
        if subscription.codes and change.code not in subscription.codes:
            return False
        return subscription.categories is None or change.category in subscription.categories

    def _alerts(self, accesses: Dict[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
        """One alert message per citizen who chose an alert at each access, for this batch's accesses."""
        if not accesses:
            return []
        settings = self.alerts.settings_of(accesses)
        messages = []
        for patient_id, images in accesses.items():
            chosen = settings.get(patient_id)
            if chosen is None or chosen.mode != "each":
                continue
            messages.append({"kind": "alert", "patient_id": patient_id, "entries": [_access(i) for i in images]})
        return messages


def _still_allowed(consent: Any, change: Change) -> bool:
    """Whether the consent as it stands now still lets the app read this resource."""
    try:
        scopes = ScopeRequest.parse(" ".join(consent.scopes["data"]) or "-").data
    except InvalidScope:
        return False
    allowed = categories_allowed(scopes, change.resource_type, "s")
    return allowed is None or (change.category is not None and change.category in allowed)


def _message(subscription: SubscriptionItem, change: Change, number: int, at: datetime) -> Dict[str, Any]:
    focus = f"{change.resource_type}/{change.resource_id}" if change.resource_id else None
    method = {"create": "POST", "update": "PUT", "delete": "DELETE"}[change.interaction]
    return {"kind": "event", "patient_id": subscription.patient_id, "app_id": subscription.app_id,
            "subscription_id": subscription.subscription_id, "number": number, "topic": subscription.topic,
            "focus": focus, "method": method, "at": at.isoformat(),
            "record_key": f"{change.resource_type}#{change.resource_id}" if change.interaction != "delete"
            and change.resource_id else None}


def _access(image: Dict[str, Any]) -> Dict[str, Any]:
    """An access-log entry from its stream image, as the access history shows it."""
    def number(name: str) -> int:
        value = image.get(name) or {}
        return int(value.get("N", 0)) if isinstance(value, dict) else 0
    at = _text(image, "at")
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat() if at else None
    return {"at": moment, "app_id": _text(image, "app_id"), "interaction": _text(image, "interaction"),
            "resource_type": _text(image, "resource_type"), "resource_id": _text(image, "resource_id"),
            "count": number("count"), "outcome": _text(image, "outcome"), "reason": _text(image, "reason")}
