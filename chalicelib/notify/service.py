"""Subscriptions as an app manages them: create (topic within the token's scopes, endpoint
registered in the app's approved listing), read, search, delete and `$status`. Each call checks,
as the FHIR gate does, that the consent behind the token and the app's publication still stand
(one strongly consistent BatchGetItem); none of it runs on an ordinary FHIR call."""
from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

from chalicelib.bearer import challenge
from chalicelib.clock import Clock
from chalicelib.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from chalicelib.notify.bundles import (BACKPORT, SECRET_EXTENSION, instant, status_parameters,
                                       subscription_resource)
from chalicelib.notify.heartbeats import heartbeat_shard
from chalicelib.notify.models import SubscriptionItem, subscription_key
from chalicelib.notify.store import SubscriptionGone, SubscriptionStore
from chalicelib.notify.topics import Topic, Topics
from chalicelib.oauth.scopes import DataScope, categories_allowed
from chalicelib.records.audit import new_entry
from chalicelib.records.models import AuditItem

MAX_PER_APP = 10  # subscriptions of one app for one citizen: the items stay few
MIN_HEARTBEAT, MAX_HEARTBEAT = 60, 86_400
_CODE = re.compile(r"[A-Za-z0-9.\-]{1,40}")
_ID = re.compile(r"[0-9a-f]{32}")
_LOOPBACK_NAMES = {"localhost"}


class Subscriber(Protocol):
    """What a verified access token says (fhir/access.py AccessGrant has these)."""

    app_id: str
    pairwise_id: str
    patient_id: str
    generation: int
    app_epoch: int
    scopes: Tuple[DataScope, ...]
    actor_id: Optional[str]
    acting_as: Optional[str]


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def endpoint_refusal(endpoint: Any, registered: Sequence[str], allow_loopback: bool) -> Optional[str]:
    """Why `endpoint` may not receive notifications (None: it may). It must be https (http only on
    a loopback host, in local runs), carry no credentials or fragment, and be a registered endpoint
    of the app or a path below one: same scheme, host and port (any port on loopback, as RFC 8252
    allows for redirect URIs)."""
    if not isinstance(endpoint, str) or not 8 <= len(endpoint) <= 500:
        return "channel.endpoint must be a URL of at most 500 characters."
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        return "channel.endpoint is not a URL."
    host = url.hostname or ""
    if url.username or url.password or url.fragment or not host:
        return "channel.endpoint may carry no credentials and no fragment."
    if url.scheme != "https" and not (url.scheme == "http" and is_loopback(host) and allow_loopback):
        return "channel.endpoint must be https."
    for text in registered:
        known = urlsplit(text)
        if known.scheme != url.scheme or (known.hostname or "") != host.lower():
            continue
        if known.port != port and not is_loopback(host):
            continue
        base = known.path.rstrip("/")
        if url.path == known.path or url.path.startswith(base + "/"):
            return None
    return "channel.endpoint is not among the notification endpoints of the app's approved listing."


def signing_secret() -> str:
    """A per-subscription HMAC key, in the Standard Webhooks format (`whsec_` + base64 of 32 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class SubscriptionService:
    def __init__(self, clock: Clock, topics: Topics, fhir_base_url: str, allow_loopback: bool,
                 store: Optional[SubscriptionStore] = None) -> None:
        self.clock, self.topics, self.fhir_base_url = clock, topics, fhir_base_url
        self.allow_loopback = allow_loopback
        self.store = store or SubscriptionStore()

    # -- topics (public) ---------------------------------------------------------------------------

    def topic_list(self) -> Dict[str, Any]:
        entries = [{"fullUrl": f"{self.fhir_base_url}/Basic/{topic.id}", "resource": self._basic(topic),
                    "search": {"mode": "match"}} for topic in self.topics.all]
        return {"resourceType": "Bundle", "id": secrets.token_hex(8), "type": "searchset",
                "total": len(entries), "link": [{"relation": "self", "url": f"{self.fhir_base_url}/Basic"}],
                "entry": entries}

    def topic(self, topic_id: str) -> Dict[str, Any]:
        topic = self.topics.by_id(topic_id)
        if topic is None:
            raise NotFound(f"Basic/{topic_id[:64]} is not known (topics are the Basic resources of /fhir/Basic).")
        return self._basic(topic)

    def _basic(self, topic: Topic) -> Dict[str, Any]:
        return topic.basic(self.topics.version, self.topics.date)

    # -- the app's subscriptions -------------------------------------------------------------------

    def create(self, subscriber: Subscriber, body: Any) -> Dict[str, Any]:
        """A new active subscription; the answer carries its signing secret, shown this once."""
        topic, codes, endpoint, heartbeat, end = self._parse(body)
        categories = self._allowed(subscriber, topic)
        self._admit(subscriber)
        registered = self.store.notification_endpoints(subscriber.app_id)
        refusal = endpoint_refusal(endpoint, registered, self.allow_loopback)
        if refusal is not None:
            raise ValidationFailed(refusal, [{"pointer": "Subscription.channel.endpoint", "message": refusal}])
        if len(self.store.of_app(subscriber.patient_id, subscriber.app_id)) >= MAX_PER_APP:
            raise ValidationFailed(f"At most {MAX_PER_APP} subscriptions per app and patient: delete one first.")
        subscription_id = secrets.token_hex(16)
        now = self.clock()
        item = SubscriptionItem(subscriber.patient_id, subscription_key(subscriber.app_id, subscription_id),
                                app_id=subscriber.app_id, subscription_id=subscription_id,
                                pairwise_id=subscriber.pairwise_id, topic=topic.id, codes=codes,
                                categories=sorted(categories) if categories is not None else None,
                                endpoint=endpoint, secret=signing_secret(), status="active",
                                heartbeat_seconds=heartbeat, created_at=now, end=end,
                                heartbeat_shard=heartbeat_shard(subscription_id) if heartbeat else None,
                                heartbeat_due=now + timedelta(seconds=heartbeat) if heartbeat else None)
        self.store.create(item, self._entry(subscriber, "subscribe", topic, subscription_id))
        resource = subscription_resource(item, topic)
        resource["extension"] = [{"url": SECRET_EXTENSION, "valueString": item.secret}]
        return resource

    def read(self, subscriber: Subscriber, subscription_id: str) -> Dict[str, Any]:
        item = self._own(subscriber, subscription_id)
        return subscription_resource(item, self._topic_of(item))

    def search(self, subscriber: Subscriber) -> Dict[str, Any]:
        self._admit(subscriber)
        items = self.store.of_app(subscriber.patient_id, subscriber.app_id)
        entries = [{"fullUrl": f"{self.fhir_base_url}/Subscription/{item.subscription_id}",
                    "resource": subscription_resource(item, self._topic_of(item)), "search": {"mode": "match"}}
                   for item in items]
        return self._searchset("Subscription", entries)

    def delete(self, subscriber: Subscriber, subscription_id: str) -> None:
        item = self._own(subscriber, subscription_id)
        try:
            self.store.delete(item, self._entry(subscriber, "unsubscribe", self._topic_of(item), subscription_id))
        except SubscriptionGone:
            pass  # deleted meanwhile: the same outcome

    def _entry(self, subscriber: Subscriber, interaction: str, topic: Topic, subscription_id: str) -> AuditItem:
        """The citizen's access history says which app asked to be told of what, and when it stopped."""
        return new_entry(subscriber.patient_id, subscriber.app_id, self.clock(), interaction, topic.resource,
                         f"Subscription/{subscription_id}", actor_id=subscriber.actor_id,
                         acting_as=subscriber.acting_as)

    def status(self, subscriber: Subscriber, subscription_ids: Sequence[str] = (),
               statuses: Sequence[str] = (), instance: bool = False) -> Dict[str, Any]:
        """`$status`: a searchset of SubscriptionStatus Parameters, one per subscription of the app
        for this patient (those named, when ids are given; of those statuses, when given). On an
        instance (`Subscription/{id}/$status`), an unknown id is a 404."""
        self._admit(subscriber)
        items = self.store.of_app(subscriber.patient_id, subscriber.app_id)
        if subscription_ids:
            items = [item for item in items if item.subscription_id in subscription_ids]
        if instance and not items:
            raise NotFound(f"Subscription/{subscription_ids[0][:64]} is not known.")
        if statuses:
            items = [item for item in items if item.status in statuses]
        entries = [{"fullUrl": f"urn:uuid:{secrets.token_hex(16)}",
                    "resource": status_parameters(item, self._topic_of(item).url, "query-status"),
                    "search": {"mode": "match"}} for item in items]
        return self._searchset("Subscription/$status", entries)

    # -- rules -------------------------------------------------------------------------------------

    def _admit(self, subscriber: Subscriber) -> None:
        consent, status = self.store.consent_and_status(subscriber.patient_id, subscriber.app_id)
        now = self.clock()
        if (consent is None or consent.status != "active" or consent.generation != subscriber.generation
                or consent.expires_at <= now or status is None or status.refuses(subscriber.app_epoch, now)):
            description = "The consent behind this token was withdrawn, has expired or was replaced, or the app " \
                          "is no longer referenced."
            raise Unauthenticated(description, headers=challenge("fhir", "invalid_token", description))

    def _own(self, subscriber: Subscriber, subscription_id: str) -> SubscriptionItem:
        self._admit(subscriber)
        item = self.store.get(subscriber.patient_id, subscriber.app_id, subscription_id) \
            if _ID.fullmatch(subscription_id) else None
        if item is None:
            raise NotFound(f"Subscription/{subscription_id[:64]} is not known.")
        return item

    def _allowed(self, subscriber: Subscriber, topic: Topic) -> Optional[frozenset]:
        """The categories the token lets this topic notify (None: every one); 403 when none."""
        if topic.needs is None:
            return None
        categories = categories_allowed(subscriber.scopes, topic.resource, topic.needs)
        if categories is not None and not categories:
            needed = f"patient/{topic.resource}.{topic.needs}"
            raise Forbidden(f"The access token does not allow subscribing to {topic.id} (needs {needed}).",
                            headers=challenge("fhir", "insufficient_scope", scope=needed))
        return categories

    def _topic_of(self, item: SubscriptionItem) -> Topic:
        topic = self.topics.by_id(item.topic)
        if topic is None:  # a topic removed from catalog/: the subscription still reads back
            raise NotFound(f"The topic of Subscription/{item.subscription_id} is no longer offered.")
        return topic

    def _parse(self, body: Any) -> Tuple[Topic, Optional[List[str]], str, Optional[int], Optional[datetime]]:
        problems: List[Dict[str, str]] = []

        def problem(pointer: str, message: str) -> None:
            problems.append({"pointer": f"Subscription.{pointer}", "message": message})
        if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
            raise ValidationFailed("A Subscription is expected.", [{"pointer": "Subscription.resourceType",
                                                                    "message": "must be Subscription"}])
        topic = self.topics.by_url(body.get("criteria"))
        if topic is None:
            problem("criteria", "must be the canonical URL of a topic of this server (GET /fhir/Basic).")
        if body.get("status") not in (None, "requested", "active"):
            problem("status", "must be requested (the server makes it active)")
        channel: Dict[str, Any] = body["channel"] if isinstance(body.get("channel"), dict) else {}
        if channel.get("type") != "rest-hook":
            problem("channel.type", "must be rest-hook")
        if channel.get("payload", "application/fhir+json") not in ("application/fhir+json", "application/json"):
            problem("channel.payload", "must be application/fhir+json")
        content = _extension(channel.get("_payload"), "backport-payload-content", "valueCode")
        if content not in (None, "id-only"):
            problem("channel.payload.extension", "only id-only: no health data goes into a notification")
        heartbeat = _extension(channel, "backport-heartbeat-period", "valueUnsignedInt")
        if heartbeat is not None and (not isinstance(heartbeat, int)
                                      or not MIN_HEARTBEAT <= heartbeat <= MAX_HEARTBEAT):
            problem("channel.extension", f"the heartbeat period is between {MIN_HEARTBEAT} and {MAX_HEARTBEAT} s")
        end = None
        if body.get("end") is not None:
            try:
                end = datetime.fromisoformat(str(body["end"]).replace("Z", "+00:00"))
                if end.tzinfo is None or end <= self.clock():
                    raise ValueError
            except ValueError:
                problem("end", "must be an instant in the future, with its time zone")
        codes = self._codes(body, topic, problem)
        if problems or topic is None:
            raise ValidationFailed(f"The Subscription was not created: {len(problems)} problem(s).", problems)
        return topic, codes, str(channel.get("endpoint")), heartbeat, end

    @staticmethod
    def _codes(body: Dict[str, Any], topic: Optional[Topic], problem: Any) -> Optional[List[str]]:
        criteria = _extension(body.get("_criteria"), "backport-filter-criteria", "valueString")
        if criteria is None:
            return None
        if topic is None or "code" not in topic.filters:
            problem("criteria.extension", "this topic takes no filter")
            return None
        query = str(criteria).split("?", 1)[-1]
        parsed = parse_qs(query)
        values = [v for value in parsed.get("code", []) for v in value.split(",")]
        codes = [value.rpartition("|")[2] for value in values]
        if set(parsed) != {"code"} or not codes or len(codes) > 20 or not all(_CODE.fullmatch(c) for c in codes):
            problem("criteria.extension", "the filter is Observation?code=<system>|<code>,... (at most 20 codes)")
            return None
        return sorted(set(codes))

    def _searchset(self, path: str, entries: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"resourceType": "Bundle", "id": secrets.token_hex(8), "type": "searchset",
                "meta": {"lastUpdated": instant(self.clock())}, "total": len(entries),
                "link": [{"relation": "self", "url": f"{self.fhir_base_url}/{path}"}], "entry": entries}


def _extension(element: Any, name: str, value_key: str) -> Any:
    if not isinstance(element, dict) or not isinstance(element.get("extension"), list):
        return None
    for extension in element["extension"]:
        if isinstance(extension, dict) and extension.get("url") == BACKPORT + name:
            return extension.get(value_key)
    return None
