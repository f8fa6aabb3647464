"""The delivery worker: each queued notification POSTed to its app's endpoint, signed, at least
once; or, for a citizen's alert, written to their alerts (and e-mailed in production). On AWS the
`notify_delivery` Lambda (app.py, SQS event source, partial batch answers); locally notify/local.py
hands it moto's queue messages in the same shape.

Per notification: one BatchGetItem (the subscription, the consent, the app's status and, for a
document or a measure, the record as it is now), the POST, one UpdateItem of the subscription.
What is checked again at delivery, whatever the queue held: the subscription is still active, the
consent still stands (but for the consent-ended notification itself, after which the subscription
is off: nothing follows it), the app is still published, a document is not hidden. A failed POST
puts the subscription in backoff (NOTIFY_RETRY_SECONDS): its messages wait in the queue, never
attempted before then, and after the last delay the subscription is set to `error` and its
messages dropped (the app sees the gap in the event numbers and the error in `$status`).
A heartbeat (notify/heartbeats.py) goes the same way, with the same checks, but takes no event
number, and is dropped rather than kept during a backoff. Messages of a batch are delivered in
parallel, each within the webhook's deadline: a slow endpoint never holds another app's
notification back."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence

from chalicelib.clock import Clock
from chalicelib.notify import webhook
from chalicelib.notify.bundles import instant, notification_bundle
from chalicelib.notify.signing import signed_headers
from chalicelib.notify.store import SubscriptionGone, SubscriptionStore
from chalicelib.notify.topics import Topics
from chalicelib.observability import logger

CONSENT_TOPIC = "consent-ended"
HEARTBEAT_PAUSE = timedelta(days=1)  # a heartbeat's subscription whose consent or app stopped standing
Post = Callable[..., webhook.Outcome]


class DeliveryWorker:
    def __init__(self, clock: Clock, topics: Topics, queue: Any, fhir_base_url: str, retry_seconds: Sequence[int],
                 allow_private: bool, alerts: Any = None, store: Optional[SubscriptionStore] = None,
                 post: Post = webhook.post) -> None:
        self.clock, self.topics, self.queue, self.fhir_base_url = clock, topics, queue, fhir_base_url
        self.retry_seconds, self.allow_private = list(retry_seconds), allow_private
        self.alerts, self.post = alerts, post
        self.store = store or SubscriptionStore()
        self._pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="notify-delivery")

    def handle(self, event: Dict[str, Any]) -> Dict[str, List[Dict[str, str]]]:
        """An SQS batch: delivered in parallel; the messages to see again are answered as
        `batchItemFailures` (Lambda's partial batch response)."""
        records = event.get("Records") or []
        results = list(self._pool.map(self._one, records))
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}
                                      for record, ok in zip(records, results, strict=True) if not ok]}

    def _one(self, record: Dict[str, Any]) -> bool:
        """True when the message is done with (delivered, or rightly dropped)."""
        try:
            message = json.loads(record["body"])
            if message.get("kind") == "alert":
                if self.alerts is not None:
                    self.alerts.send(message["patient_id"], message["entries"])
                return True
            return self._deliver(message, record.get("receiptHandle"))
        except Exception:  # noqa: BLE001 - one message's failure never fails its batch's others
            logger.exception("notification delivery failed; the message comes back")
            return False

    def _deliver(self, message: Dict[str, Any], receipt: Optional[str]) -> bool:
        now = self.clock()
        heartbeat = message.get("kind") == "heartbeat"  # notify/heartbeats.py: no event, no number
        item, consent, status, record = self.store.for_delivery(message["patient_id"], message["app_id"],
                                                                message["subscription_id"], message.get("record_key"))
        if item is None or item.status != "active":
            return True  # deleted, off or in error: nothing more goes out
        if item.end is not None and item.end <= now:
            self.store.turn_off(item, "end reached")
            return True
        topic_id = item.topic if heartbeat else message["topic"]
        if heartbeat or topic_id != CONSENT_TOPIC:
            if consent is None or consent.status != "active" or consent.expires_at <= now or status is None \
                    or status.refuses(status.epoch, now):
                if heartbeat:  # asked again only a day later, not every period (a re-grant resumes them)
                    self.store.delay_heartbeat(item, now + HEARTBEAT_PAUSE)
                return True  # the consent or the app's publication ended since: never after that
            if message.get("record_key") and withheld(consent, record):
                return True  # gone, or hidden since (from every app, or from the representative who consented)
        if item.retry_after is not None and item.retry_after > now:
            if heartbeat:
                return True  # in backoff: a later sweep sends the next heartbeat
            self._defer(receipt, (item.retry_after - now).total_seconds())
            return False
        topic = self.topics.by_id(topic_id)
        number = None if heartbeat else int(message["number"])
        event = {"number": number, "at": instant(datetime.fromisoformat(message["at"])), "focus": message.get("focus"),
                 "method": message.get("method", "PUT")}
        body = json.dumps(notification_bundle(item, topic.url if topic else topic_id, event, self.fhir_base_url,
                                              kind="heartbeat" if heartbeat else "event-notification"),
                          separators=(",", ":")).encode()
        webhook_id = message["id"] if heartbeat else f"{item.subscription_id}-{number}"
        headers = signed_headers(item.secret, webhook_id, body, now.timestamp())
        outcome = self.post(item.endpoint, body, headers, allow_private=self.allow_private)
        try:
            if outcome.ok:
                self.store.delivered(item, number, self.clock(), off=topic_id == CONSENT_TOPIC and not heartbeat)
                logger.info("notification delivered", extra={"subscription": item.subscription_id,
                                                             "event_number": number, "heartbeat": heartbeat,
                                                             "seconds": outcome.seconds})
                return True
            # A failed heartbeat counts towards the backoff, but is never attempted again itself.
            done = self._failed(item, outcome.error or "failed", None if heartbeat else receipt)
            return done or heartbeat
        except SubscriptionGone:
            return True

    def _failed(self, item: Any, error: str, receipt: Optional[str]) -> bool:
        failures = int(item.failures or 0)
        logger.warning("notification not delivered", extra={"subscription": item.subscription_id, "error": error,
                                                             "failures": failures + 1})
        if failures >= len(self.retry_seconds):
            self.store.failed(item, error, None)  # status `error`: this and its other messages are dropped
            return True
        delay = self.retry_seconds[failures]
        self.store.failed(item, error, self.clock() + timedelta(seconds=delay))
        self._defer(receipt, delay)
        return False

    def _defer(self, receipt: Optional[str], seconds: float) -> None:
        if receipt is not None:
            self.queue.defer(receipt, int(seconds + 0.999))


def withheld(consent: Any, record: Any) -> bool:
    """Whether a record's notification must not go out under this consent: the record is gone, or
    hidden from every app, or, under a legal representative's consent, hidden from the patient's
    representatives (docs/decisions/0018)."""
    if record is None or record.hidden:
        return True
    return getattr(consent, "given_as", None) == "representative" and bool(record.hidden_from_representatives)
