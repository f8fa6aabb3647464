"""PynamoDB models of the Subscriptions table: one partition per citizen, holding the apps'
subscriptions to what happens in that citizen's record, the citizen's alert settings and the
alerts sent to them.

Per citizen, so that the stream handler finds every subscription an event concerns with one
Query of the citizen's partition, and an app's own list is a Query of `sub#<app_id>#`. No item
here is read or written by an ordinary FHIR call (decision 0010): only the stream handler, the
delivery worker, the Subscription routes and the citizen's pages touch them."""
from __future__ import annotations

from pynamodb.attributes import (DiscriminatorAttribute, JSONAttribute, NumberAttribute, TTLAttribute,
                                 UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta

SETTINGS_KEY = "alerts#settings"


def subscription_key(app_id: str, subscription_id: str) -> str:
    return f"sub#{app_id}#{subscription_id}"


class DigestDue(GlobalSecondaryIndex):
    """Citizens who chose a daily digest (sparse: only their settings carry `digest_shard`), spread
    over a few shards so that no partition takes every citizen."""

    class Meta:
        index_name = "digest-due"
        projection = AllProjection()

    digest_shard = UnicodeAttribute(hash_key=True)
    patient_id = UnicodeAttribute(range_key=True)


class HeartbeatDue(GlobalSecondaryIndex):
    """Active subscriptions with a heartbeat period, by when their next heartbeat is due (sparse:
    only they carry `heartbeat_shard`), over a few shards. Each delivery moves `heartbeat_due`
    on, so a busy subscription is never due; the heartbeat sweep reads only those that are."""

    class Meta:
        index_name = "heartbeat-due"
        projection = IncludeProjection(["kind", "heartbeat_seconds"])

    heartbeat_shard = UnicodeAttribute(hash_key=True)
    heartbeat_due = UTCDateTimeAttribute(range_key=True)


class NotifyItem(Model):
    class Meta(TableMeta):
        table_name = settings.subscriptions_table

    patient_id = UnicodeAttribute(hash_key=True)  # the citizen's internal id, never shown to apps
    item_key = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    digest_due = DigestDue()
    heartbeat_due_index = HeartbeatDue()


class SubscriptionItem(NotifyItem, discriminator="subscription"):
    """An app's subscription (`sub#<app_id>#<id>`): what the app asked for, where to send it, the
    per-subscription secret that signs each notification, and how delivery goes."""

    app_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    pairwise_id = UnicodeAttribute()  # the patient as this app knows them
    topic = UnicodeAttribute()  # the topic's id (notify/topics.py)
    codes = JSONAttribute(null=True)  # Observation codes asked for (the topic's filter); None: every code
    categories = JSONAttribute(null=True)  # the categories the token's scopes allowed; None: every one
    endpoint = UnicodeAttribute()
    secret = UnicodeAttribute()  # HMAC key of the signatures (decision 0017); shown to the app once
    status = UnicodeAttribute()  # active | error | off
    reason = UnicodeAttribute(null=True)
    heartbeat_seconds = NumberAttribute(null=True)
    heartbeat_shard = UnicodeAttribute(null=True)  # while active with a period: the `heartbeat-due` index
    heartbeat_due = UTCDateTimeAttribute(null=True)  # the next heartbeat, unless a notification goes first
    created_at = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute(null=True)
    events = NumberAttribute(default=0)  # events numbered so far (the last event's number)
    delivered = NumberAttribute(default=0)  # notifications the endpoint accepted
    failures = NumberAttribute(default=0)  # attempts failed in a row
    retry_after = UTCDateTimeAttribute(null=True)  # no attempt before then (backoff)
    last_error = UnicodeAttribute(null=True)
    last_delivered_at = UTCDateTimeAttribute(null=True)
    last_event_number = NumberAttribute(null=True)  # the highest event number delivered


class AlertSettings(NotifyItem, discriminator="alert-settings"):
    """The citizen's choice: an alert at each access by an app, a daily digest, or none."""

    mode = UnicodeAttribute()  # each | digest | off
    email = UnicodeAttribute(null=True)
    language = UnicodeAttribute(default="fr")
    digest_shard = UnicodeAttribute(null=True)  # set for `digest` only (the sparse index)
    digest_since = UTCDateTimeAttribute(null=True)  # accesses after this go into the next digest
    updated_at = UTCDateTimeAttribute()


class AlertItem(NotifyItem, discriminator="alert"):
    """An alert sent to the citizen (`alert#<time>#<random>`): kept for their alerts list."""

    at = UTCDateTimeAttribute()
    mode = UnicodeAttribute()  # each | digest
    lines = JSONAttribute()  # [{"fr": ..., "en": ...}], one per access (or per app, in a digest)
    emailed = UnicodeAttribute(null=True)  # the SES message id, when it went by e-mail
    expires_at = TTLAttribute()


ALL_MODELS = (NotifyItem,)
