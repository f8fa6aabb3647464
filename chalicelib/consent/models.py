"""PynamoDB models of the Consents table: one consent per (citizen, app), and its history."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from typing import Optional

from pynamodb.attributes import (DiscriminatorAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.dynamodb import TableMeta


class ActiveByApp(GlobalSecondaryIndex):
    """Active consents of an app (for cascades): only active consents carry active_app_id."""

    class Meta:
        index_name = "active-by-app"
        projection = AllProjection()

    active_app_id = UnicodeAttribute(hash_key=True)
    patient_id = UnicodeAttribute(range_key=True)


class ByPairwiseId(GlobalSecondaryIndex):
    """From the patient id an app sees back to the consent (introspection; not the FHIR hot path)."""

    class Meta:
        index_name = "by-pairwise-id"
        projection = AllProjection()

    pairwise_id = UnicodeAttribute(hash_key=True)


EXPIRY_SHARDS = 8


class Expiring(GlobalSecondaryIndex):
    """Active consents by the day they end (sparse: only a consent still active and not yet marked
    `expired` carries `expiry_day`), on EXPIRY_SHARDS shards a day, so that the expiry sweep
    (ConsentService.end_expired) reads the few consents due without a Scan. The keys and the item's
    kind only (PynamoDB tells consents from their events by it): a change of the consent's other
    attributes (its revoked token families) writes nothing here."""

    class Meta:
        index_name = "expiring"
        projection = IncludeProjection(["kind"])

    expiry_day = UnicodeAttribute(hash_key=True)  # <YYYY-MM-DD of expires_at, UTC>#<shard>
    expires_at = UTCDateTimeAttribute(range_key=True)


def expiry_day(patient_id: str, expires_at: datetime) -> str:
    """The key of a consent's day in the `expiring` index."""
    shard = int(hashlib.sha256(patient_id.encode()).hexdigest(), 16) % EXPIRY_SHARDS
    return f"{day_of(expires_at)}#{shard}"


def day_of(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).date().isoformat()


class ConsentItem(Model):
    """Consents table: one partition per citizen; `app_id` is a consent, `app_id#time` an event."""

    class Meta(TableMeta):
        table_name = settings.consents_table
        stream_view_type = "NEW_AND_OLD_IMAGES"  # a withdrawal is notified (chalicelib/notify/events.py)

    patient_id = UnicodeAttribute(hash_key=True)  # the citizen's internal id, never shown to apps
    item_key = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    active_by_app = ActiveByApp()
    by_pairwise_id = ByPairwiseId()
    expiring = Expiring()


class Consent(ConsentItem, discriminator="consent"):
    """What the FHIR gate reads on every call of the app for this citizen (strongly consistent,
    with the app's status, in one BatchGetItem): small, and never written by a FHIR call. Its
    receipt is in the ConsentEvent of the grant (`receipt_key`); its history in ConsentEvents."""

    app_id = UnicodeAttribute()
    app_name = UnicodeAttribute(null=True)  # as the citizen granted it (the list of consents shows it)
    status = UnicodeAttribute()  # active | revoked | expired (set by the expiry sweep once past expires_at)
    active_app_id = UnicodeAttribute(null=True)
    expiry_day = UnicodeAttribute(null=True)  # while active and not yet swept: the `expiring` index
    scopes = JSONAttribute()  # granted data scopes (SMART v2) and context scopes
    pairwise_id = UnicodeAttribute()  # the patient id this app sees: random, stable, app-specific
    generation = NumberAttribute(default=1)  # a new grant, a revocation or a replayed code moves it on
    granted_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    receipt_key = UnicodeAttribute(null=True)  # the item_key of the grant's ConsentEvent, which holds the receipt
    # Token families revoked one by one (RFC 7009) while their access tokens may still be alive:
    # {family id prefix: unix time after which none of them is}. Pruned at every change, and
    # bounded (consent/service.py MAX_REVOKED_FAMILIES): the item does not grow with revocations.
    revoked_families = JSONAttribute(null=True)
    # Who gave it, when not the patient: the acting person's internal id, in what capacity
    # (`representative` of a minor), their name as the pages show it, and the id apps know them by
    # (fhirUser: RelatedPerson/<ref>). docs/decisions/0018-acting-for-someone-else.md.
    given_by = UnicodeAttribute(null=True)
    given_as = UnicodeAttribute(null=True)
    given_by_name = UnicodeAttribute(null=True)
    given_by_ref = UnicodeAttribute(null=True)

    def family_revoked(self, family_id: Optional[str]) -> bool:
        return family_id is not None and family_id != "" and family_key(family_id) in (self.revoked_families or {})


class ProxyGrant(ConsentItem, discriminator="proxy"):
    """A person the citizen chose to act for them (EHDS article 4), in the citizen's partition under
    `proxy#<link id>`: invited, then active once the invited person accepted, then ended (by either
    side, or declined). The consents the proxy gives carry a condition on it (status `active`).
    docs/decisions/0019-chosen-proxies.md."""

    link_id = UnicodeAttribute()
    status = UnicodeAttribute()  # invited | active | ended
    kinds = JSONAttribute()  # the kinds of data the proxy may act on: documents, measures, agenda
    until = UTCDateTimeAttribute(null=True)  # None: until either side ends it
    grantor_name = JSONAttribute()  # {"given", "family"}, as the pages show them
    invitee = JSONAttribute()  # {"given", "family", "birth_date"}: whom the citizen invited
    invited_at = UTCDateTimeAttribute()
    invitation_expires_at = UTCDateTimeAttribute()
    invitation_key = UnicodeAttribute(null=True)  # the partition of its invitation, until used
    actor_id = UnicodeAttribute(null=True)  # the proxy's internal id, once accepted
    accepted_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    ended_by = UnicodeAttribute(null=True)  # grantor | proxy | declined
    last_used_at = UTCDateTimeAttribute(null=True)  # the last consent the proxy gave through it


class ProxyOf(ConsentItem, discriminator="proxy_of"):
    """The proxy's side of an accepted ProxyGrant, in the proxy's partition under `proxy-of#<link
    id>`: whom they act for (one Query on their own partition lists them)."""

    link_id = UnicodeAttribute()
    grantor_id = UnicodeAttribute()
    grantor_name = JSONAttribute()
    status = UnicodeAttribute()  # active | ended
    kinds = JSONAttribute()
    until = UTCDateTimeAttribute(null=True)


class ProxyInvitation(ConsentItem, discriminator="invitation"):
    """An invitation link's code, by its hash: partition `invitation#sha256(code)`, item_key
    `invitation`. Deleted when used (accepted or declined) or cancelled: a replayed link finds
    nothing."""

    grantor_id = UnicodeAttribute()
    link_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()


class ConsentEvent(ConsentItem, discriminator="event"):
    app_id = UnicodeAttribute()
    action = UnicodeAttribute()  # granted | revoked | expired
    at = UTCDateTimeAttribute()
    detail = JSONAttribute(null=True)
    receipt = JSONAttribute(null=True)  # a grant's: what was granted, to whom, for which purpose, until when


def event_key(app_id: str, at: datetime) -> str:
    """An event's key: after its app and its time (history reads in order), a random part, so that
    two events of the same instant never overwrite each other (a grant's receipt would be lost)."""
    return f"{app_id}#{at.isoformat()}#{secrets.token_hex(4)}"


def family_key(family_id: str) -> str:
    """How a token family is named in `revoked_families`: 64 bits of its random id are plenty to
    tell apart the families of one consent, and keep the item small."""
    return family_id[:16]


ALL_MODELS = (ConsentItem,)
